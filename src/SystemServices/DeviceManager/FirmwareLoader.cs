using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.SystemServices.DeviceManager;

/// <summary>
/// Firmware for drivers. The kernel reads firmware files itself, from /lib/firmware and from the
/// one extra directory in firmware_class.path, so devmgr points that directory at the operator's
/// firmware on STATE (the read-only root cannot take new files). For drivers that ask user space
/// instead (the sysfs fallback: an add event of SUBSYSTEM=firmware naming FIRMWARE), it answers
/// as udev's firmware helper did: loading=1, the file's bytes into data, loading=0; loading=-1
/// when no directory has the file, so the driver hears "no" at once instead of after the
/// kernel's 60 s timeout.
/// </summary>
public sealed class FirmwareLoader(string sysRoot, IReadOnlyList<string> searchPath)
{
    /// <summary>Where an operator puts firmware (on STATE, kept across upgrades).</summary>
    public const string ExtraDirectory = "/var/lib/berth/firmware";

    /// <summary>The kernel's own order (fw_path[] in firmware_loader/main.c), with the extra directory first, as firmware_class.path is.</summary>
    public static IReadOnlyList<string> DefaultSearchPath(string extraDirectory, string kernelRelease) =>
        [extraDirectory, $"/lib/firmware/updates/{kernelRelease}", "/lib/firmware/updates", $"/lib/firmware/{kernelRelease}", "/lib/firmware"];

    /// <summary>Sets firmware_class.path so the kernel's direct loading looks in <paramref name="directory"/> first; an error message, or null.</summary>
    public string? PointKernelAt(string directory)
    {
        string parameter = Path.Combine(sysRoot, "module/firmware_class/parameters/path");
        if (!File.Exists(parameter)) return $"{parameter} is missing: the kernel has no firmware loader";
        return PseudoFile.TryWrite(parameter, directory, out var error) ? null : error;
    }

    /// <summary>Answers a fallback request; what was done, for the log, or null for any other event.</summary>
    public string? Handle(Uevent e)
    {
        if (e.Subsystem != "firmware" || e.Action != "add" || !e.Environment.TryGetValue("FIRMWARE", out var name)) return null;
        string request = sysRoot + e.DevPath;
        string loading = Path.Combine(request, "loading");
        if (!IsRelativeName(name))
        {
            PseudoFile.TryWrite(loading, "-1", out _);
            return $"firmware '{name}' for {e.DevPath}: refused (not a relative file name)";
        }
        string? file = Find(name);
        if (file is null)
        {
            PseudoFile.TryWrite(loading, "-1", out _);
            return $"firmware {name} for {e.DevPath}: not found in {string.Join(", ", searchPath)}";
        }
        long bytes;
        PseudoFile.Write(loading, "1");
        try { bytes = CopyInto(file, Path.Combine(request, "data")); }
        catch
        {
            PseudoFile.TryWrite(loading, "-1", out _);
            throw;
        }
        PseudoFile.Write(loading, "0");
        return $"firmware {name} for {e.DevPath}: {file} ({bytes} bytes)";
    }

    /// <summary>The first file named <paramref name="name"/> along the search path.</summary>
    public string? Find(string name) =>
        IsRelativeName(name) ? searchPath.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists) : null;

    /// <summary>Firmware names are relative paths ("iwlwifi-7260-17.ucode", "amdgpu/navi10_sos.bin"), never out of the directory.</summary>
    public static bool IsRelativeName(string name) =>
        name.Length > 0 && !name.StartsWith('/') && !name.Split('/').Any(part => part is "" or "." or "..");

    private static long CopyInto(string file, string data)
    {
        using var source = File.OpenRead(file);
        using var target = FileDescriptor.Open(data, O_WRONLY);
        var buffer = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = source.Read(buffer)) > 0)
        {
            target.WriteAll(buffer.AsSpan(0, n));
            total += n;
        }
        return total;
    }
}
