namespace Berth.Runtime.Linux;

/// <summary>One process as /proc/PID/stat describes it.</summary>
public readonly record struct ProcessEntry(int Pid, string Name, char State, int ParentPid, bool IsKernelThread);

/// <summary>Reads the process table from /proc.</summary>
public static class ProcessTable
{
    private const uint PF_KTHREAD = 0x00200000;

    public static ProcessEntry? Read(int pid)
    {
        var stat = PseudoFile.TryRead($"/proc/{pid}/stat", 2048);
        return stat is null ? null : Parse(pid, stat);
    }

    /// <summary>Parses /proc/PID/stat; the name may contain spaces and parentheses.</summary>
    public static ProcessEntry? Parse(int pid, string stat)
    {
        int open = stat.IndexOf('(');
        int close = stat.LastIndexOf(')');
        if (open < 0 || close < open || close + 2 >= stat.Length) return null;
        var fields = stat[(close + 2)..].Split(' ');
        if (fields.Length < 7) return null;
        uint flags = uint.TryParse(fields[6], out var f) ? f : 0;
        return new ProcessEntry(pid, stat[(open + 1)..close], fields[0][0], int.Parse(fields[1]),
            (flags & PF_KTHREAD) != 0);
    }

    /// <summary>Every process except this one and kernel threads.</summary>
    public static List<ProcessEntry> UserProcesses()
    {
        int self = SystemControl.ProcessId;
        var list = new List<ProcessEntry>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == self) continue;
            if (Read(pid) is { IsKernelThread: false } p) list.Add(p);
        }
        return list;
    }
}
