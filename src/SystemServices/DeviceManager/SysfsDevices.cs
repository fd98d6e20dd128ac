using Berth.Runtime.Linux;

namespace Berth.SystemServices.DeviceManager;

/// <summary>
/// The devices under /sys/devices, each a directory with a uevent file. A walk of /sys/devices
/// never follows symlinks: sysfs is full of them (subsystem, driver, device) and they make cycles.
/// </summary>
public sealed class SysfsDevices(string sysRoot)
{
    public string SysRoot => sysRoot;

    /// <summary>
    /// Device directories (absolute), parents before children, so a bus comes before what hangs
    /// on it. As udevadm trigger, from the links in /sys/bus/*/devices and /sys/class/*: two
    /// levels of directories read instead of every attribute directory under /sys/devices.
    /// </summary>
    public IEnumerable<string> Enumerate()
    {
        string bus = Path.Combine(sysRoot, "bus"), @class = Path.Combine(sysRoot, "class");
        if (!Directory.Exists(bus) && !Directory.Exists(@class)) return Walk();
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var b in Children(bus)) AddLinked(Path.Combine(b, "devices"), found);
        foreach (var c in Children(@class)) AddLinked(c, found);
        return found;
    }

    private static void AddLinked(string dir, SortedSet<string> found)
    {
        foreach (var entry in Children(dir))
        {
            string? target;
            try { target = new FileInfo(entry).LinkTarget; }
            catch (IOException) { continue; }
            if (target is null) continue;
            string real = Path.GetFullPath(Path.Combine(dir, target));
            if (File.Exists(Path.Combine(real, "uevent"))) found.Add(real);
        }
    }

    private static string[] Children(string dir)
    {
        try { return Directory.GetFileSystemEntries(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    /// <summary>Every directory with a uevent file under /sys/devices, for a sysfs without bus and class links.</summary>
    private IEnumerable<string> Walk()
    {
        var root = new DirectoryInfo(Path.Combine(sysRoot, "devices"));
        if (!root.Exists) yield break;
        var pending = new Stack<DirectoryInfo>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            if (File.Exists(Path.Combine(dir.FullName, "uevent"))) yield return dir.FullName;
            DirectoryInfo[] children;
            try { children = dir.GetDirectories(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; } // went away meanwhile
            foreach (var child in children.OrderByDescending(c => c.Name, StringComparer.Ordinal))
                if ((child.Attributes & FileAttributes.ReparsePoint) == 0) pending.Push(child);
        }
    }

    /// <summary>
    /// Whether devmgr has anything to do for the device: a node (a dev attribute) or a driver to
    /// load (modalias). The rest (bdi, net, memory blocks...) are left out of coldplug: each
    /// replayed event costs the kernel as much as reading the uevent file, on the boot's critical path.
    /// </summary>
    public static bool HasNodeOrDriver(string dir) =>
        File.Exists(Path.Combine(dir, "dev")) || File.Exists(Path.Combine(dir, "modalias"));

    /// <summary>"add" into the uevent files: the kernel sends each device's add event again (udevadm trigger). Returns how many.</summary>
    public int Trigger(string action, Action<string> warn, Func<string, bool>? filter = null)
    {
        int count = 0;
        foreach (var dir in Enumerate())
        {
            if (filter is not null && !filter(dir)) continue;
            if (PseudoFile.TryWrite(Path.Combine(dir, "uevent"), action, out var error)) count++;
            else if (!error!.Contains("No such file", StringComparison.Ordinal)) warn(error); // ENOENT: gone meanwhile
        }
        return count;
    }

    /// <summary>What a device's uevent file says, as the event coldplug would have brought (for a lost event).</summary>
    public Uevent? Read(string dir, string action = "add")
    {
        var text = PseudoFile.TryRead(Path.Combine(dir, "uevent"));
        if (text is null) return null;
        string devPath = "/" + Path.GetRelativePath(sysRoot, dir).Replace('\\', '/');
        string? subsystem = null;
        try
        {
            if (new FileInfo(Path.Combine(dir, "subsystem")).LinkTarget is { } target) subsystem = Path.GetFileName(target);
        }
        catch (IOException) { }
        return UeventParser.ParseSysfs(text, action, devPath, subsystem);
    }

    /// <summary>The kernel's last uevent sequence number: coldplug is processed once events reach it.</summary>
    public ulong? SequenceNumber() =>
        ulong.TryParse(PseudoFile.TryRead(Path.Combine(sysRoot, "kernel/uevent_seqnum"))?.Trim(),
            System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : null;
}
