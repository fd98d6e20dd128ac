using System.IO.Compression;
using Berth.Runtime.Linux;

namespace Berth.Init.CloudConfig;

/// <summary>
/// write_files, every boot (/etc is a fresh overlay each boot). Appends happen once per instance,
/// or a persistent file would grow at every boot. The read-only root is refused by name.
/// </summary>
public sealed class WriteFilesApplier(ApplyReport report, string root = "", Func<string, bool>? isReadOnly = null)
{
    private readonly Func<string, bool> _isReadOnly = isReadOnly ?? Mounts.IsReadOnly;

    public int Apply(IReadOnlyList<WriteFileEntry> files, bool firstBootOfInstance, AccountDatabase accounts)
    {
        int written = 0;
        for (int i = 0; i < files.Count; i++)
        {
            var f = files[i];
            string where = $"write_files[{i}] ({f.Path.Value})";
            if (f.Append && !firstBootOfInstance) continue;
            try
            {
                var content = Decode(f);
                string path = root + f.Path.Value;
                string dir = Path.GetDirectoryName(path)!;
                if (_isReadOnly(ExistingAncestor(dir)))
                {
                    report.Error(f.Position, $"{where}: {f.Path.Value} is on the read-only root; write under /etc, /var/lib/berth, /var, /run or /tmp");
                    continue;
                }
                if (!accounts.TryOwner(f.Owner, out uint uid, out uint gid))
                {
                    report.Error(f.Position, $"{where}: owner \"{f.Owner}\": no such user or group");
                    continue;
                }
                Files.MakeDirectories(dir);
                if (f.Append)
                {
                    using var stream = new FileStream(path, FileMode.Append, FileAccess.Write);
                    stream.Write(content);
                }
                else Files.WriteAtomically(path, content, f.Permissions);
                Files.ChangeMode(path, f.Permissions);
                Files.ChangeOwner(path, uid, gid);
                written++;
            }
            catch (FormatException) { report.Error(f.Position, $"{where}: content is not valid base64"); }
            catch (InvalidDataException) { report.Error(f.Position, $"{where}: content is not valid gzip"); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                report.Error(f.Position, $"{where}: {e.Message}");
            }
        }
        return written;
    }

    public static byte[] Decode(WriteFileEntry f)
    {
        // "gzip" content reaches YAML as !!binary, which is base64 text too.
        byte[] raw = f.Encoding is not FileEncoding.Text
            ? Convert.FromBase64String(f.Content)
            : System.Text.Encoding.UTF8.GetBytes(f.Content);
        if (f.Encoding is not (FileEncoding.Gzip or FileEncoding.GzipBase64)) return raw;
        using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
        using var output = new MemoryStream();
        // A gzip bomb stops at 16 MiB; write_files is for config files.
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = gz.Read(buffer)) > 0)
        {
            output.Write(buffer, 0, n);
            if (output.Length > 16 << 20) throw new InvalidDataException("expands to more than 16 MiB");
        }
        return output.ToArray();
    }

    private static string ExistingAncestor(string dir)
    {
        while (!Directory.Exists(dir) && Path.GetDirectoryName(dir) is { } parent && parent != dir) dir = parent;
        return dir;
    }
}
