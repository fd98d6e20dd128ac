namespace Berth.Init.CloudConfig;

/// <summary>Where a layer of configuration comes from, lowest first: this is the merge order.</summary>
public enum SourceKind { Defaults, OsConfig, NoCloudSeed, ConfigDirectory, UserConfig, KernelCommandLine }

/// <summary>
/// One layer: its tree when it is valid (an invalid source is skipped whole: <see cref="Tree"/> is
/// null) and what was found in it.
/// </summary>
public sealed record ConfigSource(string Name, SourceKind Kind, ConfigMapping? Tree, IReadOnlyList<ConfigDiagnostic> Diagnostics)
{
    public bool Valid => Diagnostics.All(d => d.Severity != Severity.Error);
    public int ErrorCount => Diagnostics.Count(d => d.Severity == Severity.Error);
}

/// <summary>What a user-data file is, by its first line (as cloud-init decides).</summary>
public enum UserDataKind { Empty, CloudConfig, Script, Unsupported }

public static class ConfigSourceReader
{
    public const string Header = "#cloud-config";

    public static UserDataKind Classify(ReadOnlySpan<byte> bytes)
    {
        var text = bytes.StartsWith("\xEF\xBB\xBF"u8) ? bytes[3..] : bytes;
        int nl = text.IndexOf((byte)'\n');
        var first = (nl < 0 ? text : text[..nl]).TrimEnd("\r \t"u8);
        if (text.Trim(" \t\r\n"u8).IsEmpty) return UserDataKind.Empty;
        if (first.SequenceEqual("#cloud-config"u8)) return UserDataKind.CloudConfig;
        if (first.StartsWith("#!"u8)) return UserDataKind.Script;
        return UserDataKind.Unsupported;
    }

    /// <summary>Reads and validates a file; a missing file is no source at all (null).</summary>
    public static ConfigSource? FromFile(string path, SourceKind kind, ConfigLimits? limits = null)
    {
        limits ??= ConfigLimits.Default;
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
            // Read one byte past the limit: enough to know it is too big, never the whole of a huge file.
            bytes = new byte[Math.Min(stream.Length, limits.MaxBytes + 1L)];
            stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            if (stream.Length > limits.MaxBytes)
                return Invalid(path, kind, new(Severity.Error, new(path, 1, 1),
                    $"file is {stream.Length} bytes, more than the limit of {limits.MaxBytes}"));
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Invalid(path, kind, new(Severity.Error, new(path, 1, 1), $"cannot read: {e.Message}"));
        }
        return FromBytes(bytes, path, kind, limits);
    }

    /// <summary>At most one byte past the limit, so the size check still fires without reading a huge file.</summary>
    public static byte[] ReadBounded(string path, ConfigLimits? limits = null)
    {
        limits ??= ConfigLimits.Default;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        var bytes = new byte[Math.Min(stream.Length, limits.MaxBytes + 1L)];
        int n = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        return n == bytes.Length ? bytes : bytes[..n];
    }

    public static ConfigSource FromBytes(ReadOnlySpan<byte> bytes, string name, SourceKind kind, ConfigLimits? limits = null)
    {
        if (kind == SourceKind.NoCloudSeed)
        {
            switch (Classify(bytes))
            {
                case UserDataKind.Empty or UserDataKind.Script:
                    return new ConfigSource(name, kind, null, []);
                case UserDataKind.Unsupported:
                    return new ConfigSource(name, kind, null, [new(Severity.Warning, new(name, 1, 1),
                        "user-data starts with neither \"#cloud-config\" nor \"#!\"; ignored")]);
            }
        }
        try
        {
            var root = YamlTreeReader.Read(bytes, name, limits);
            return FromTree(root, name, kind);
        }
        catch (ConfigSyntaxException e)
        {
            return Invalid(name, kind, e.ToDiagnostic());
        }
    }

    public static ConfigSource FromTree(ConfigNode? root, string name, SourceKind kind)
    {
        if (root is null or ConfigScalar { IsNull: true }) return new ConfigSource(name, kind, ConfigMapping.Empty(new(name, 1, 1)), []);
        var found = SchemaValidator.Validate(root, CloudConfigSchema.Root);
        if (found.All(d => d.Severity != Severity.Error))
            found.AddRange(ModelBinder.Bind((ConfigMapping)root, standalone: true).Diagnostics);
        var valid = found.All(d => d.Severity != Severity.Error);
        return new ConfigSource(name, kind, valid ? (ConfigMapping)root : null, found);
    }

    private static ConfigSource Invalid(string name, SourceKind kind, ConfigDiagnostic d) => new(name, kind, null, [d]);
}
