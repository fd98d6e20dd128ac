namespace Berth.Qemu;

/// <summary>Finds the repository (the directory holding Berth.slnx) from wherever tests run.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Image => Environment.GetEnvironmentVariable("BERTH_IMAGE") ?? Path.Combine(Root, "build", "berth.img");
    public static string BootScript => Path.Combine(Root, "qemu", "boot.sh");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Berth.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (Berth.slnx)");
    }
}
