using Berth.Runtime.Kernel;
using Xunit;

namespace Berth.Tests.Unit;

public class ModuleIndexTests
{
    private const string Root = "/lib/modules/6.1.0-test";

    // Shaped like a real modules.dep: a module's dependencies are listed with their own
    // dependencies after them (load from the end), every module has its own line.
    private const string Dep = """
        kernel/fs/mbcache.ko.xz:
        kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz kernel/fs/jbd2/jbd2.ko.xz
        kernel/fs/jbd2/jbd2.ko.xz:
        kernel/lib/crc16.ko.xz:
        kernel/drivers/virtio/virtio.ko.xz:
        kernel/drivers/virtio/virtio_ring.ko.xz:
        kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio_ring.ko.xz kernel/drivers/virtio/virtio.ko.xz
        kernel/drivers/char/virtio_console.ko.xz: kernel/drivers/virtio/virtio_ring.ko.xz kernel/drivers/virtio/virtio.ko.xz
        kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz kernel/drivers/virtio/virtio_ring.ko.xz kernel/drivers/virtio/virtio.ko.xz
        kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz
        kernel/net/core/failover.ko.xz:
        kernel/arch/x86/crypto/crc32c-intel.ko.xz:
        kernel/crypto/crc32c_generic.ko.xz:
        kernel/fs/fat/vfat.ko.xz: kernel/fs/fat/fat.ko.xz
        kernel/fs/fat/fat.ko.xz:
        kernel/fs/nls/nls_utf8.ko.xz:

        # not a module line
        """;

    private static ModuleIndex Index(string dep = Dep, string builtin = "", string softdep = "", string alias = "") =>
        ModuleIndex.FromText(Root, dep, builtin, softdep, alias);

    private static List<string> Names(IEnumerable<ModuleIndex.ModuleEntry> entries) => entries.Select(e => e.Name).ToList();

    private static void AssertTopological(ModuleIndex index, IReadOnlyList<ModuleIndex.ModuleEntry> order)
    {
        var seen = new HashSet<string>();
        foreach (var m in order)
        {
            foreach (var dep in m.Dependencies)
                if (!index.IsBuiltin(dep))
                    Assert.True(seen.Contains(dep), $"{dep} must be loaded before {m.Name}: {string.Join(" ", Names(order))}");
            Assert.True(seen.Add(m.Name), $"{m.Name} appears twice");
        }
    }

    [Fact]
    public void LoadOrder_puts_dependencies_first_and_the_module_last()
    {
        var index = Index();
        var order = index.LoadOrder("ext4");
        Assert.Equal(["crc16", "mbcache", "jbd2", "ext4"], Names(order));
        Assert.Equal("kernel/fs/ext4/ext4.ko.xz", order[^1].RelativePath);
        Assert.Equal(["crc16", "mbcache", "jbd2"], order[^1].Dependencies);
        AssertTopological(index, order);
    }

    [Fact]
    public void Transitive_dependencies_are_loaded_once_before_every_dependent()
    {
        var index = Index();
        var order = index.LoadOrder("virtio_net");
        Assert.Equal(4 + 1, order.Count);
        Assert.Equal("virtio_net", order[^1].Name);
        Assert.Equal(["failover", "net_failover", "virtio", "virtio_net", "virtio_ring"], Names(order).Order(StringComparer.Ordinal));
        AssertTopological(index, order);
    }

    [Fact]
    public void Module_without_dependencies_is_alone()
    {
        Assert.Equal(["nls_utf8"], Names(Index().LoadOrder("nls_utf8")));
    }

    [Fact]
    public void Diamond_dependency_is_loaded_once()
    {
        var index = Index("""
            a.ko: b.ko c.ko d.ko
            b.ko: d.ko
            c.ko: d.ko
            d.ko:
            """);
        var order = index.LoadOrder("a");
        Assert.Equal(["d", "b", "c", "a"], Names(order));
    }

    [Fact]
    public void Builtin_modules_are_skipped()
    {
        var index = Index(
            dep: "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/jbd2/jbd2.ko\nkernel/fs/jbd2/jbd2.ko:\n",
            builtin: "kernel/lib/crc16.ko\nkernel/fs/mbcache.ko\n");
        Assert.Equal(["jbd2", "ext4"], Names(index.LoadOrder("ext4")));
        Assert.Empty(index.LoadOrder("crc16"));
        Assert.True(index.IsBuiltin("crc16"));
        Assert.True(index.IsBuiltin("mbcache"));
        Assert.False(index.IsBuiltin("jbd2"));
    }

    [Fact]
    public void Softdep_pre_modules_come_first_and_missing_ones_are_optional()
    {
        var index = Index(softdep: """
            # Soft dependencies extracted from modules themselves.
            softdep ext4 pre: crc32c_generic no_such_module post: nls_utf8
            softdep vfat pre: nls-utf8
            """);
        Assert.Equal(["crc32c_generic", "crc16", "mbcache", "jbd2", "ext4"], Names(index.LoadOrder("ext4")));
        Assert.Equal(["nls_utf8", "fat", "vfat"], Names(index.LoadOrder("vfat")));
    }

    [Fact]
    public void Softdep_without_pre_keyword_loads_nothing_extra()
    {
        var index = Index(softdep: "softdep vfat nls_utf8\nsoftdep ext4 post: crc32c_generic\n");
        Assert.Equal(["fat", "vfat"], Names(index.LoadOrder("vfat")));
        Assert.Equal(["crc16", "mbcache", "jbd2", "ext4"], Names(index.LoadOrder("ext4")));
    }

    /// <summary>
    /// Debian's modules.softdep says "softdep ext4 pre: crypto-crc32c": an alias, which modprobe resolves
    /// through modules.alias (to crc32c_intel and crc32c_generic). Without it an ext4 with metadata_csum
    /// cannot be mounted when there is no modprobe for the kernel to call.
    /// </summary>
    [Fact]
    public void Softdep_naming_an_alias_loads_the_modules_behind_it()
    {
        var index = Index(
            softdep: "softdep ext4 pre: crypto-crc32c\n",
            alias: "alias crypto-crc32c-intel crc32c_intel\nalias crypto-crc32c crc32c_intel\nalias crypto-crc32c crc32c_generic\n");
        var order = Names(index.LoadOrder("ext4"));
        Assert.Equal("ext4", order[^1]);
        Assert.Contains("crc32c_intel", order);
        Assert.Contains("crc32c_generic", order);
        Assert.Equal(6, order.Count);
        Assert.Equal(order.Count, order.Distinct().Count());
    }

    [Fact]
    public void Missing_module_throws_naming_it()
    {
        var e = Assert.Throws<ModuleNotFoundException>(() => Index().LoadOrder("zfs"));
        Assert.Equal("zfs", e.Module);
        Assert.Equal($"kernel module 'zfs' not found in {Root} (neither in modules.dep nor built in)", e.Message);
    }

    [Fact]
    public void Missing_dependency_throws_naming_it_and_who_needed_it()
    {
        var index = Index("kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/jbd2/jbd2.ko\nkernel/lib/crc16.ko:\n");
        var e = Assert.Throws<ModuleNotFoundException>(() => index.LoadOrder("ext4"));
        Assert.Equal("jbd2", e.Module);
        Assert.Equal($"kernel module 'jbd2' (needed by 'ext4') not found in {Root}", e.Message);
    }

    [Fact]
    public void Cycle_in_a_corrupt_index_terminates_with_each_module_once()
    {
        var index = Index("a.ko: b.ko\nb.ko: c.ko\nc.ko: a.ko\n");
        var task = Task.Run(() => index.LoadOrder("a"));
        Assert.True(task.Wait(TimeSpan.FromSeconds(5)), "LoadOrder did not return on a dependency cycle");
        Assert.Equal(["c", "b", "a"], Names(task.Result));
    }

    [Fact]
    public void Softdep_cycle_terminates()
    {
        var index = Index("a.ko:\nb.ko:\n", softdep: "softdep a pre: b\nsoftdep b pre: a\n");
        var task = Task.Run(() => index.LoadOrder("a"));
        Assert.True(task.Wait(TimeSpan.FromSeconds(5)), "LoadOrder did not return on a softdep cycle");
        Assert.Equal(["b", "a"], Names(task.Result));
    }

    [Fact]
    public void Dashes_and_underscores_are_the_same_module()
    {
        var index = Index();
        Assert.Equal(["crc32c_intel"], Names(index.LoadOrder("crc32c-intel")));
        Assert.Equal(["crc32c_intel"], Names(index.LoadOrder("crc32c_intel")));
        var entry = index.Find("crc32c-intel");
        Assert.NotNull(entry);
        Assert.Equal("crc32c_intel", entry.Name);
        Assert.Equal("kernel/arch/x86/crypto/crc32c-intel.ko.xz", entry.RelativePath);
        Assert.Equal(["virtio_ring", "virtio", "virtio_blk"], Names(index.LoadOrder("virtio-blk")));
        Assert.Null(index.Find("crc32c"));
    }

    [Theory]
    [InlineData("kernel/fs/ext4/ext4.ko", "ext4")]
    [InlineData("kernel/fs/ext4/ext4.ko.xz", "ext4")]
    [InlineData("kernel/fs/ext4/ext4.ko.zst", "ext4")]
    [InlineData("kernel/arch/x86/crypto/crc32c-intel.ko", "crc32c_intel")]
    [InlineData("snd-hda-intel", "snd_hda_intel")]
    public void NameFromPath_strips_directory_and_extension_and_normalises(string path, string expected)
    {
        Assert.Equal(expected, ModuleIndex.NameFromPath(path));
    }

    [Fact]
    public void ResolveAlias_returns_each_matching_module_once_in_file_order()
    {
        var index = Index(alias: """
            # Aliases extracted from modules themselves.
            alias virtio:d00000003v* virtio_console
            alias virtio:d00000002v* virtio_blk
            alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci
            alias pci:v*d*sv*sd*bc01sc06i01* ahci
            alias pci:v00001AF4d00001042sv*sd*bc*sc*i* virtio_pci
            alias crc32c-intel crc32c-intel
            not an alias line
            """);
        Assert.Equal(["virtio_console"], index.ResolveAlias("virtio:d00000003v00001AF4"));
        Assert.Equal(["virtio_blk"], index.ResolveAlias("virtio:d00000002v00001AF4"));
        Assert.Equal(["virtio_pci"], index.ResolveAlias("pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc00i00"));
        Assert.Equal(["virtio_pci", "ahci"], index.ResolveAlias("pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc06i01"));
        Assert.Equal(["crc32c_intel"], index.ResolveAlias("crc32c-intel"));
        Assert.Empty(index.ResolveAlias("virtio:d00000005v00001AF4"));
        Assert.Empty(index.ResolveAlias(""));
    }
}
