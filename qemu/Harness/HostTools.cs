using System.Diagnostics;
using System.Text.Json;

namespace Berth.Qemu;

/// <summary>Host programs the harness uses on disk images (sfdisk, dd, e2fsck).</summary>
public static class HostTools
{
    public sealed record Result(int ExitCode, string Output);

    public static Result Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {program}");
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return new Result(p.ExitCode, stdout + stderr.Result);
    }

    public static Result Checked(string program, params string[] args)
    {
        var r = Run(program, args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {r.ExitCode}: {r.Output}");
        return r;
    }

    public sealed record Partition(int Number, string Name, long StartSector, long Sectors);

    /// <summary>The image's GPT partitions, from sfdisk --json.</summary>
    public static List<Partition> Partitions(string image)
    {
        var json = Checked("sfdisk", "--json", image).Output;
        using var doc = JsonDocument.Parse(json);
        var list = new List<Partition>();
        foreach (var p in doc.RootElement.GetProperty("partitiontable").GetProperty("partitions").EnumerateArray())
        {
            string node = p.GetProperty("node").GetString()!;
            int number = int.Parse(new string(node.Reverse().TakeWhile(char.IsDigit).Reverse().ToArray()));
            list.Add(new Partition(number, p.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "",
                p.GetProperty("start").GetInt64(), p.GetProperty("size").GetInt64()));
        }
        return list;
    }

    public static Partition Find(string image, string label) =>
        Partitions(image).FirstOrDefault(p => p.Name == label)
        ?? throw new InvalidOperationException($"no partition labelled {label} in {image}");

    /// <summary>Copies one partition out of an image into its own file.</summary>
    public static string Extract(string image, string label, string outFile)
    {
        var p = Find(image, label);
        Checked("dd", $"if={image}", $"of={outFile}", "bs=512", $"skip={p.StartSector}", $"count={p.Sectors}",
            "conv=sparse", "status=none");
        return outFile;
    }

    /// <summary>Overwrites bytes at the start of a partition (to corrupt or blank it on purpose).</summary>
    public static void WriteAt(string image, string label, byte[] data)
    {
        var p = Find(image, label);
        using var fs = new FileStream(image, FileMode.Open, FileAccess.Write);
        fs.Seek(p.StartSector * 512, SeekOrigin.Begin);
        fs.Write(data);
    }

    /// <summary>e2fsck -fn on the image's STATE partition: exit 0 means clean.</summary>
    public static Result FsckState(string image, string workDir)
    {
        var copy = Extract(image, "berth-state", Path.Combine(workDir, "state.ext4"));
        try { return Run("e2fsck", "-f", "-n", copy); }
        finally { File.Delete(copy); }
    }
}
