using System.Globalization;
using System.Text;
using Berth.Runtime.Linux;
using static Berth.Runtime.Interop.Consts;

namespace Berth.SystemServices.Syslog;

/// <summary>
/// The last kernel record written to the log, as <c>BOOT_ID SEQ</c>, so that a restarted syslogd does
/// not log the whole ring buffer again. Tied to the boot id: after a reboot the numbers start over.
/// Kept on /run (tmpfs) by default, where rewriting it costs no disk writes.
/// </summary>
public sealed class KernelLogPosition
{
    private readonly string _path;
    private readonly string _bootId;
    private ulong? _saved;

    public KernelLogPosition(string path, string? bootId = null)
    {
        _path = path;
        _bootId = bootId ?? ReadBootId();
    }

    public ulong? Load()
    {
        try
        {
            var words = File.ReadAllText(_path).Split(' ', StringSplitOptions.TrimEntries);
            if (words.Length == 2 && words[0] == _bootId
                && ulong.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong seq))
                return _saved = seq;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    public void Save(ulong sequence)
    {
        if (_saved == sequence) return;
        try
        {
            string? dir = Path.GetDirectoryName(Path.GetFullPath(_path));
            if (dir is not null) Files.MakeDirectories(dir);
            using var fd = FileDescriptor.Open(_path, O_WRONLY | O_CREAT | O_TRUNC, 0x1a4);
            fd.WriteAll(Encoding.ASCII.GetBytes($"{_bootId} {sequence.ToString(CultureInfo.InvariantCulture)}\n"));
            _saved = sequence;
        }
        catch (IOException e) { ServiceLog.Warn($"cannot record the kernel log position in {_path}: {e.Message}"); }
    }

    private static string ReadBootId()
    {
        try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); }
        catch (IOException) { return "unknown"; }
    }
}
