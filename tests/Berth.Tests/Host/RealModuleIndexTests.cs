using Berth.Runtime.Kernel;
using Xunit;

namespace Berth.Tests.Host;

/// <summary>ModuleIndex against the Debian kernel's real index, cross-checked with kmod's modprobe.</summary>
public class RealModuleIndexTests
{
    private static readonly Lazy<ModuleIndex> Real = new(() => ModuleIndex.Load(RealModules.Root()));

    private static List<string> Names(IEnumerable<ModuleIndex.ModuleEntry> e) => e.Select(m => m.Name).ToList();

    [Fact]
    public void Ext4_needs_jbd2_mbcache_and_crc16_first()
    {
        var order = Names(Real.Value.LoadOrder("ext4"));
        Assert.Equal("ext4", order[^1]);
        foreach (var dep in new[] { "jbd2", "mbcache", "crc16" })
            Assert.InRange(order.IndexOf(dep), 0, order.Count - 2);
        Assert.Equal(order.Count, order.Distinct().Count());
        string path = Real.Value.Find("ext4")!.RelativePath;
        Assert.StartsWith("kernel/fs/ext4/ext4.ko", path);
        Assert.True(File.Exists(Path.Combine(Real.Value.Root, path)));
    }

    [Fact]
    public void Virtio_console_modalias_resolves_to_virtio_console()
    {
        Assert.Equal(["virtio_console"], Real.Value.ResolveAlias("virtio:d00000003v00001AF4"));
        Assert.Equal(["virtio_blk"], Real.Value.ResolveAlias("virtio:d00000002v00001AF4"));
        Assert.Contains("virtio_pci", Real.Value.ResolveAlias("pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc00i00"));
    }

    [Fact]
    public void Every_module_of_the_real_index_has_a_topological_load_order()
    {
        var index = Real.Value;
        var all = File.ReadAllLines(Path.Combine(index.Root, "modules.dep"))
            .Where(l => l.Contains(':')).Select(l => ModuleIndex.NameFromPath(l[..l.IndexOf(':')])).ToList();
        Assert.True(all.Count > 1000, $"only {all.Count} modules in {index.Root}");
        foreach (var name in all)
        {
            var order = index.LoadOrder(name);
            Assert.Equal(name, order[^1].Name);
            var seen = new HashSet<string>();
            foreach (var m in order)
            {
                foreach (var dep in m.Dependencies)
                    Assert.True(seen.Contains(dep) || index.IsBuiltin(dep), $"{name}: {dep} must come before {m.Name}");
                Assert.True(seen.Add(m.Name), $"{name}: {m.Name} twice");
            }
        }
    }

    /// <summary>The set of modules to load is the one `modprobe --show-depends` prints (config files ignored).</summary>
    [Theory]
    [InlineData("virtio_blk")]
    [InlineData("virtio_console")]
    [InlineData("virtio_net")]
    [InlineData("squashfs")]
    [InlineData("overlay")]
    [InlineData("e1000e")]
    [InlineData("ext4")]   // softdep pre: crypto-crc32c, an alias
    [InlineData("xfs")]    // libcrc32c, softdep pre: crc32c, an alias
    public void Load_order_matches_modprobe(string module)
    {
        var index = Real.Value;
        string version = Path.GetFileName(index.Root);
        var (exit, stdout, stderr) = HostRun.Tool(HostRun.Which("/usr/sbin/modprobe", "/sbin/modprobe"),
            "-C", "/dev/null", "-S", version, "--show-depends", module);
        Assert.True(exit == 0, $"modprobe failed: {stderr}");
        var expected = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith("insmod ", StringComparison.Ordinal))
            .Select(l => ModuleIndex.NameFromPath(l.Split(' ')[1]))
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, Names(index.LoadOrder(module)).Order(StringComparer.Ordinal));
    }

    /// <summary>Glob agrees with glibc's fnmatch on every pattern of the real modules.alias.</summary>
    [Fact]
    public void Glob_agrees_with_fnmatch_on_every_real_alias_pattern()
    {
        var patterns = File.ReadLines(Path.Combine(RealModules.Root(), "modules.alias"))
            .Where(l => l.StartsWith("alias ", StringComparison.Ordinal))
            .Select(l => l.Split(' ')[1]).Distinct().ToList();
        Assert.True(patterns.Count > 1000);
        string[] modaliases =
        [
            "virtio:d00000003v00001AF4",
            "pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc00i00",
            "pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00",
            "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01",
            "usb:v13FDp3940d0100dc00dsc00dp00ic08isc06ip50in00",
            "acpi:PNP0C0C:",
            "cpu:type:x86,ven0000fam0006mod003F:feature:,0000,0001,0094,00E5",
            "input:b0019v0000p0001e0000-e0,1,k74,ramlsfw",
            "platform:i8042",
            "crypto-crc32c",
        ];
        var rng = new Random(7);
        var mismatches = new List<string>();
        foreach (var p in patterns)
        {
            // a text derived from the pattern itself, so that most patterns get a matching candidate too
            var derived = new System.Text.StringBuilder();
            foreach (char c in p)
                derived.Append(c switch { '*' => rng.Next(3) switch { 0 => "", 1 => "0", _ => "v00001AF4" }, '?' => "Q", _ => c.ToString() });
            foreach (var text in modaliases.Append(derived.ToString()))
                if (Glob.Match(p, text) != (Unit.GlobTests.FnMatch(p, text) == 0) && mismatches.Count < 10)
                    mismatches.Add($"{p} vs {text}");
        }
        Assert.Empty(mismatches);
    }
}
