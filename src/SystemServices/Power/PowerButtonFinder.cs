namespace Berth.SystemServices.Power;

/// <summary>
/// Finds the event devices of the input devices named "Power Button" (the ACPI button driver
/// registers one for the fixed power button, LNXPWRBN, and one for a PNP0C0C device; QEMU's
/// system_powerdown presses the first). Through sysfs (<c>/sys/class/input/inputN/name</c> with an
/// <c>eventM</c> child), else /proc/bus/input/devices (<c>N: Name="..."</c>, <c>H: Handlers=... eventM</c>).
/// </summary>
public sealed class PowerButtonFinder(string sysfsInput, string procDevices, string devInput)
{
    public const string DeviceName = "Power Button";

    public IReadOnlyList<string> Find()
    {
        var events = FromSysfs();
        if (events.Count == 0) events = FromProc();
        return events.Distinct().Order(StringComparer.Ordinal).Select(e => Path.Combine(devInput, e)).ToList();
    }

    private List<string> FromSysfs()
    {
        var found = new List<string>();
        if (!Directory.Exists(sysfsInput)) return found;
        foreach (var input in Directory.EnumerateDirectories(sysfsInput, "input*"))
        {
            string? name = ReadTrimmed(Path.Combine(input, "name"));
            if (name != DeviceName) continue;
            found.AddRange(Directory.EnumerateFileSystemEntries(input, "event*").Select(Path.GetFileName).OfType<string>());
        }
        // /sys/class/input also lists the eventN nodes themselves, whose device/name is the parent's.
        foreach (var ev in Directory.EnumerateFileSystemEntries(sysfsInput, "event*"))
            if (ReadTrimmed(Path.Combine(ev, "device", "name")) == DeviceName) found.Add(Path.GetFileName(ev));
        return found;
    }

    private List<string> FromProc()
    {
        var found = new List<string>();
        string text;
        try { text = File.ReadAllText(procDevices); }
        catch (IOException) { return found; }
        catch (UnauthorizedAccessException) { return found; }
        foreach (var block in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            if (!lines.Any(l => l.Trim() == $"N: Name=\"{DeviceName}\"")) continue;
            var handlers = lines.FirstOrDefault(l => l.StartsWith("H: Handlers=", StringComparison.Ordinal));
            if (handlers is null) continue;
            found.AddRange(handlers["H: Handlers=".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Where(h => h.StartsWith("event", StringComparison.Ordinal)));
        }
        return found;
    }

    private static string? ReadTrimmed(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
