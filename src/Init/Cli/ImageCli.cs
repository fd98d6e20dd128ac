using System.Globalization;
using Berth.Runtime.Images;
using Berth.Runtime.Linux;

namespace Berth.Init.Cli;

/// <summary>
/// `berth image ls|load|rm`: the image store user services start from (/var/lib/berth/images).
/// Exit codes: 0 done, 1 the image or the file was refused, 2 usage.
/// </summary>
public sealed class ImageCli(TextWriter output, TextWriter error)
{
    public const string Usage = """
          image ls                     images in the store: name, digest, size
          image load PATH[:TAG] [--name NAME]
                                       an OCI layout directory or a `docker save` tar
          image rm NAME
        """;

    public static int Run(string[] args) => new ImageCli(Console.Out, Console.Error).Execute(args);

    public int Execute(string[] args)
    {
        string root = ImageStore.DefaultRoot;
        var rest = new List<string>();
        string? name = null;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--store" && i + 1 < args.Length) root = args[++i];
            else if (args[i] == "--name" && i + 1 < args.Length) name = args[++i];
            else rest.Add(args[i]);
        }
        try
        {
            return rest switch
            {
                ["ls" or "list"] => List(new ImageStore(root)),
                ["load", var path] => Load(new ImageStore(root), path, name),
                ["rm", var image] => Remove(new ImageStore(root), image),
                _ => UsageError(),
            };
        }
        catch (Exception e) when (e is ImageException or IOException or SyscallException or UnauthorizedAccessException)
        {
            error.WriteLine($"berth image: {e.Message}");
            return 1;
        }
    }

    private int List(ImageStore store)
    {
        output.WriteLine($"{"NAME",-32} {"DIGEST",-19} {"SIZE",10}");
        foreach (var (name, manifest) in store.List().OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            var image = store.Resolve(name);
            long size = image.Layers.Sum(l => l.Size);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-32} {manifest.Digest.Hex[..12],-19} {size / 1024.0 / 1024.0,8:F1}MB"));
        }
        return 0;
    }

    private int Load(ImageStore store, string path, string? name)
    {
        if (File.Exists(path))
        {
            foreach (var image in store.ImportDockerArchive(path, name))
                output.WriteLine($"loaded {image.ManifestDescriptor.RefName ?? name} ({image.ManifestDescriptor.Digest})");
            return 0;
        }
        // An OCI layout, optionally with the tag of the image to take: DIR:TAG.
        string dir = path, tag = "";
        int colon = path.LastIndexOf(':');
        if (!Directory.Exists(path) && colon > path.LastIndexOf('/')) (dir, tag) = (path[..colon], path[(colon + 1)..]);
        if (!Directory.Exists(dir)) throw new ImageException($"{path}: no such file or directory");
        var layout = OciLayout.Open(dir);
        var loaded = store.Import(layout, tag.Length > 0 ? tag : null, name ?? (tag.Length > 0 ? $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(dir))}:{tag}" : Path.GetFileName(Path.TrimEndingDirectorySeparator(dir))));
        output.WriteLine($"loaded {loaded.ManifestDescriptor.RefName} ({loaded.ManifestDescriptor.Digest})");
        return 0;
    }

    private int Remove(ImageStore store, string name)
    {
        if (store.Untag(name)) return 0;
        error.WriteLine($"berth image: no image named \"{name}\" in {store.Root}");
        return 1;
    }

    private int UsageError()
    {
        error.WriteLine("usage: berth\n" + Usage);
        return 2;
    }
}
