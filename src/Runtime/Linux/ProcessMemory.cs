using System.Globalization;
using System.Runtime.InteropServices;
using Berth.Runtime.Interop;

namespace Berth.Runtime.Linux;

/// <summary>The calling process's own mappings, as /proc/self/maps lists them.</summary>
public static class ProcessMemory
{
    public readonly record struct Mapping(ulong Start, ulong End, string Permissions, string Path)
    {
        public ulong Length => End - Start;
    }

    /// <summary>Parses maps text ("start-end perms offset dev inode path"); lines that do not parse are skipped.</summary>
    public static List<Mapping> Parse(string maps)
    {
        var result = new List<Mapping>();
        foreach (var line in maps.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 5) continue;
            int dash = fields[0].IndexOf('-');
            if (dash <= 0
                || !ulong.TryParse(fields[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start)
                || !ulong.TryParse(fields[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end)
                || end <= start)
                continue;
            result.Add(new Mapping(start, end, fields[1], fields.Length == 6 ? fields[5].Trim() : ""));
        }
        return result;
    }

    /// <summary>
    /// Mappings of files (code and data of the binary and its libraries). Page-out drops only their clean
    /// file pages: a page of a private writable mapping that was written is anonymous by then and stays.
    /// </summary>
    public static IEnumerable<Mapping> FileMappings(IEnumerable<Mapping> mappings) =>
        mappings.Where(m => m.Path.StartsWith('/') && !m.Path.EndsWith(" (deleted)", StringComparison.Ordinal));

    /// <summary>
    /// MADV_PAGEOUT: reclaims the range's clean file pages now. The kernel skips pages that another
    /// process maps too, so only pages this process alone kept resident are given back.
    /// </summary>
    public static void PageOut(Mapping mapping)
    {
        if (LibC.MAdvise((nint)mapping.Start, (nuint)mapping.Length, Consts.MADV_PAGEOUT) < 0)
            throw new SyscallException("madvise(MADV_PAGEOUT)", $"{mapping.Path} {mapping.Start:x}-{mapping.End:x}",
                Marshal.GetLastPInvokeError());
    }
}
