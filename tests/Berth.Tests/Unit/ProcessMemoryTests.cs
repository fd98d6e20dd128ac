using Berth.Runtime.Linux;
using Xunit;

namespace Berth.Tests.Unit;

public class ProcessMemoryTests
{
    private const string Maps = """
        00400000-00405000 r--p 00000000 fe:03 480                                /usr/bin/berth
        00405000-00c1d000 r-xp 00005000 fe:03 480                                /usr/bin/berth
        0111b000-01410000 rw-p 00d1a000 fe:03 480                                /usr/bin/berth
        01410000-01437000 rw-p 00000000 00:00 0
        1afb6000-1aff6000 rw-p 00000000 00:00 0                                  [heap]
        7ff375534000-7ff37568a000 r-xp 00026000 fe:03 380                        /lib/x86_64-linux-gnu/libc.so.6
        7ff375700000-7ff375774000 r-xp 00010000 fe:03 387                        /tmp/old lib.so (deleted)
        7ffd2a3f1000-7ffd2a3f3000 r-xp 00000000 00:00 0                          [vdso]
        not a mapping line
        0000f000-0000e000 r--p 00000000 fe:03 1                                  /backwards
        """;

    [Fact]
    public void Parse_reads_ranges_permissions_and_paths_and_skips_what_does_not_parse()
    {
        var maps = ProcessMemory.Parse(Maps);
        Assert.Equal(8, maps.Count);
        Assert.Equal(new ProcessMemory.Mapping(0x405000, 0xc1d000, "r-xp", "/usr/bin/berth"), maps[1]);
        Assert.Equal(0x818000UL, maps[1].Length);
        Assert.Equal("", maps[3].Path);
        Assert.Equal("[heap]", maps[4].Path);
        Assert.Equal("/tmp/old lib.so (deleted)", maps[6].Path);
    }

    [Fact]
    public void File_mappings_are_the_binary_and_libraries_not_anonymous_memory_nor_deleted_files()
    {
        var files = ProcessMemory.FileMappings(ProcessMemory.Parse(Maps)).Select(m => (m.Start, m.Path)).ToList();
        Assert.Equal([(0x400000UL, "/usr/bin/berth"), (0x405000UL, "/usr/bin/berth"), (0x111b000UL, "/usr/bin/berth"),
            (0x7ff375534000UL, "/lib/x86_64-linux-gnu/libc.so.6")], files);
    }
}
