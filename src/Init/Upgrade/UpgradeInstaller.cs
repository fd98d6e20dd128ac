using System.Diagnostics;
using System.Globalization;

namespace Berth.Init.Upgrade;

public sealed class UpgradeOptions
{
    public bool Force { get; init; }
    public bool Reboot { get; init; } = true;
    public bool? Progress { get; init; }
    /// <summary>The power-cut tests' pause after each chunk of the slot write (<see cref="SlotWriter.PauseVariable"/>).</summary>
    public TimeSpan PauseAfterChunk { get; init; }
    /// <summary>Started when the command began: the times line then shows what came before Install as "setup".</summary>
    public Stopwatch? CommandClock { get; init; }
}

/// <summary>
/// Installs a bundle into the slot that did not boot. Order of work, each step only after the one
/// before succeeded: (1) check the signature, compatible string, version and size, then hash the
/// whole image without writing anything, keeping it in memory when it fits; (2) mark the target
/// slot bad in grubenv; (3) write the image into the slot (from memory, or streamed from the
/// bundle again), fsync, read it back from the device and compare (with the held bytes, or by
/// hash with the signed manifest); (4) one grubenv write that makes the slot the next boot, on
/// trial. A failure at any step leaves the booted slot first in ORDER and committed, so the
/// machine keeps booting what it runs now.
/// </summary>
public sealed class UpgradeInstaller
{
    private readonly SlotLayout _slots;
    private readonly GrubEnvStore _env;
    private readonly BundleVerifier _verifier;
    private readonly TextWriter _out;
    private readonly Func<string> _runningVersion;

    public UpgradeInstaller(SlotLayout slots, GrubEnvStore env, BundleVerifier verifier, TextWriter output, Func<string> runningVersion)
    {
        _slots = slots;
        _env = env;
        _verifier = verifier;
        _out = output;
        _runningVersion = runningVersion;
    }

    public sealed record Result(char Slot, string Version, TimeSpan Elapsed);

    /// <summary>True once grubenv or the slot was written: a failure before that was a refusal.</summary>
    public bool TouchedDisk { get; private set; }

    public Result Install(BundleSource source, UpgradeOptions options)
    {
        var clock = Stopwatch.StartNew();
        var setup = options.CommandClock?.Elapsed;
        char booted = _slots.Booted, target = AbState.Other(booted);
        var device = _slots.Device(target);
        string running = _runningVersion();

        var state = _env.Load().State;
        if (!state[booted].Ok)
            throw new BundleException($"the booted slot {booted} is on trial (not committed yet): upgrade once it is marked good");

        // (1) everything that can refuse the bundle, before the disk is touched
        BundleManifest manifest;
        byte[] manifestBytes;
        using var held = new HeldImage();
        var phases = new List<(string Name, TimeSpan At)>();
        using (var reader = new BundleReader(source.Open(), source.Location))
        {
            string key = _verifier.CheckSignature(reader.ManifestBytes, reader.Signature, source.Location);
            manifest = BundleManifest.Parse(reader.ManifestBytes, source.Location);
            manifestBytes = reader.ManifestBytes;
            _verifier.CheckManifest(manifest, running, device.SizeBytes, options.Force, source.Location);
            var (image, size) = reader.OpenImage();
            if (size != manifest.ImageSize)
                throw new BundleException($"{source.Location}: {BundleReader.ImageName} is {size} bytes, the manifest says {manifest.ImageSize}");
            _out.WriteLine($"bundle {manifest.Version} ({manifest.Compatible}), signed by {key}; checking the image");
            phases.Add(("signature", clock.Elapsed));
            var verifyProgress = new ProgressBar("verify", size, options.Progress);
            string sha;
            if (ImageBuffer.Fits(size))
            {
                var loaded = (source.LocalPath is { } path ? ImageBuffer.LoadDirect(path, reader.ImageOffset, size, verifyProgress) : null)
                             ?? ImageBuffer.Load(image, size, verifyProgress);
                (held.Image, sha) = loaded;
            }
            else sha = SlotWriter.Hash(image, size, verifyProgress);
            if (sha != manifest.ImageSha256)
                throw new BundleException($"{source.Location}: the image's sha256 is {sha}, the signed manifest says {manifest.ImageSha256} (corrupt or tampered)");
        }
        phases.Add(("hash", clock.Elapsed));

        var record = new UpgradeRecord
        {
            Version = manifest.Version, FromVersion = running, Slot = target.ToString(), Source = source.Location,
            Result = "writing", Detail = $"writing slot {target} ({device.DevicePath})",
        };
        UpgradeHistory.TrySave(record, _out.WriteLine);

        // (2) the target stops being a fallback before its content changes
        TouchedDisk = true;
        _env.Update(e => AbState.Apply(e, target, new SlotFlags(false, 0)));

        try
        {
            var writer = new SlotWriter(device.DevicePath) { PauseAfterChunk = options.PauseAfterChunk };
            if (held.Image is { } image)
            {
                // (3) the bytes hashed in (1), straight from memory
                _out.WriteLine($"writing {image.Size} bytes to slot {target} ({device.DevicePath})");
                writer.Write(image, new ProgressBar("write", image.Size, options.Progress));
                phases.Add(("write", clock.Elapsed));
                writer.CompareReadBack(image, new ProgressBar("read back", image.Size, options.Progress));
                phases.Add(("read back", clock.Elapsed));
            }
            else WriteStreamed(source, manifestBytes, manifest, writer, target, device.DevicePath, options, phases, clock);
        }
        catch (Exception e)
        {
            record.Result = "failed";
            record.Detail = e.Message;
            UpgradeHistory.TrySave(record, _out.WriteLine);
            throw;
        }
        held.Dispose(); // the image is on the disk: its memory is not needed for the activation

        // (4) one write: the new slot first in ORDER, on trial
        var next = _env.Update(e =>
        {
            AbState.Apply(e, target, new SlotFlags(false, AbState.MaxTries));
            AbState.ApplyOrder(e, target);
        });
        phases.Add(("activate", clock.Elapsed));
        var previous = TimeSpan.Zero;
        _out.WriteLine("times: " + (setup is { } before ? string.Create(CultureInfo.InvariantCulture, $"setup {before.TotalSeconds:F2}s, ") : "")
            + string.Join(", ", phases.Select(p =>
            {
                var d = p.At - previous;
                previous = p.At;
                return string.Create(CultureInfo.InvariantCulture, $"{p.Name} {d.TotalSeconds:F2}s");
            })));
        record.Result = "installed";
        record.Detail = string.Create(CultureInfo.InvariantCulture,
            $"slot {target} on trial ({AbState.MaxTries} tries) in {clock.Elapsed.TotalSeconds:F1}s; {next.Describe()}");
        UpgradeHistory.TrySave(record, _out.WriteLine);
        _out.WriteLine($"installed {manifest.Version} in slot {target}: {next.Describe()}");
        return new Result(target, manifest.Version, clock.Elapsed);
    }

    /// <summary>(3) for an image too big to hold: stream it from the bundle again and hash the read-back.</summary>
    private void WriteStreamed(BundleSource source, byte[] manifestBytes, BundleManifest manifest, SlotWriter writer, char target,
        string devicePath, UpgradeOptions options, List<(string Name, TimeSpan At)> phases, Stopwatch clock)
    {
        // (3) the second pass must carry the very manifest checked in (1)
        using var reader = new BundleReader(source.Open(), source.Location);
        if (!reader.ManifestBytes.AsSpan().SequenceEqual(manifestBytes))
            throw new BundleException($"{source.Location}: the bundle changed between the check and the write");
        var (image, size) = reader.OpenImage();
        _out.WriteLine($"writing {size} bytes to slot {target} ({devicePath})");
        writer.Write(image, size, new ProgressBar("write", size, options.Progress));
        phases.Add(("write", clock.Elapsed));
        string back = writer.ReadBack(size, new ProgressBar("read back", size, options.Progress));
        phases.Add(("read back", clock.Elapsed));
        if (back != manifest.ImageSha256)
            throw new BundleException($"slot {target} ({devicePath}) reads back as {back}, not the signed {manifest.ImageSha256}: the bundle changed while it was written, or the disk did not keep it");
    }

    /// <summary>Frees the held image on every way out of Install.</summary>
    private sealed class HeldImage : IDisposable
    {
        public ImageBuffer? Image { get; set; }
        public void Dispose() { Image?.Dispose(); Image = null; }
    }
}
