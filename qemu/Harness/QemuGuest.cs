using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Berth.Qemu;

/// <summary>How to boot a guest.</summary>
public sealed class GuestOptions
{
    public string Firmware { get; init; } = "bios";
    public int MemoryMb { get; init; } = 512;
    /// <summary>Extra kernel arguments (reach the command line through SMBIOS and GRUB).</summary>
    public List<string> KernelArguments { get; init; } = new();
    /// <summary>Boot this image file as is (tests usually boot a private copy).</summary>
    public string? ImagePath { get; init; }
    /// <summary>Discard disk writes (QEMU -snapshot) instead of copying the image.</summary>
    public bool Snapshot { get; init; }
    /// <summary>Called on the private image copy before boot (e.g. to break a partition on purpose).</summary>
    public Action<string>? PrepareImage { get; init; }
    public int TimeoutSeconds { get; init; } = 600;
    public List<string> ExtraBootArgs { get; init; } = new();
    /// <summary>User-data for a NoCloud seed disk (boot.sh --cloud-config); null attaches none.</summary>
    public string? CloudConfig { get; init; }
    /// <summary>The seed's instance-id (boot.sh's default: a hash of the user-data).</summary>
    public string? InstanceId { get; init; }
    /// <summary>Forward a free 127.0.0.1 port to the guest's sshd (see <see cref="QemuGuest.SshPort"/>).</summary>
    public bool ForwardSsh { get; init; }
    /// <summary>Make the serial line a socket too, so a test can type on the console (<see cref="QemuGuest.TypeOnSerial"/>).</summary>
    public bool SerialInput { get; init; }
}

/// <summary>The guest's `berth ready` line.</summary>
public sealed record ReadyLine(double UptimeSeconds, int Services, string Line);

/// <summary>What a command run through the agent printed and how it exited.</summary>
public sealed record CommandResult(int ExitCode, string Output)
{
    public CommandResult EnsureSuccess(string command) =>
        ExitCode == 0 ? this : throw new GuestCommandException($"`{command}` exited {ExitCode}: {Output}");
}

public sealed class GuestCommandException(string message) : Exception(message);

/// <summary>
/// A Berth guest under QEMU, booted through qemu/boot.sh from a private copy of the image. The
/// harness reads the serial console from a file (for the ready line and boot messages) and runs
/// commands through the virtio-serial agent port, where each command's end is marked by a nonce
/// and its exit status: no sleeping and hoping.
/// </summary>
public sealed class QemuGuest : IDisposable
{
    private static readonly Regex ReadyRegex = new(@"^berth ready uptime=(\d+\.\d{3}) services=(\d+)\r?$", RegexOptions.Multiline);

    private readonly GuestOptions _options;
    private readonly string _dir;
    private Process? _qemu;
    private Socket? _agent;
    private readonly StringBuilder _agentBuffer = new();
    private long _serialConsumed;
    private int _nonce;

    public string WorkDir => _dir;
    public string ImagePath { get; }
    public string SerialLogPath => Path.Combine(_dir, "serial.log");
    public string AgentSocketPath => Path.Combine(_dir, "agent.sock");
    public string MonitorSocketPath => Path.Combine(_dir, "qmp.sock");
    public string SerialSocketPath => Path.Combine(_dir, "serial.sock");
    /// <summary>The host port (127.0.0.1) forwarded to the guest's port 22, with <see cref="GuestOptions.ForwardSsh"/>.</summary>
    public int? SshPort { get; private set; }
    private Socket? _serial;

    public QemuGuest(GuestOptions? options = null)
    {
        _options = options ?? new GuestOptions();
        _dir = Directory.CreateTempSubdirectory("berth-guest-").FullName;
        string source = _options.ImagePath ?? RepoPaths.Image;
        if (!File.Exists(source))
            throw new FileNotFoundException($"the Berth image {source} is missing: run `make image` first", source);
        if (_options.Snapshot) ImagePath = source;
        else
        {
            ImagePath = Path.Combine(_dir, "disk.img");
            HostTools.Run("cp", "--sparse=always", source, ImagePath);
            _options.PrepareImage?.Invoke(ImagePath);
        }
    }

    /// <summary>Boots the guest (returns once QEMU runs; use <see cref="WaitForReady"/>).</summary>
    public QemuGuest Start()
    {
        var args = new List<string>
        {
            RepoPaths.BootScript, "--image", ImagePath, "--firmware", _options.Firmware,
            "--memory", _options.MemoryMb.ToString(CultureInfo.InvariantCulture),
            "--serial-file", SerialLogPath, "--agent-socket", AgentSocketPath, "--monitor-socket", MonitorSocketPath,
            "--timeout", _options.TimeoutSeconds.ToString(CultureInfo.InvariantCulture),
        };
        if (_options.Snapshot) args.Add("--snapshot");
        foreach (var a in _options.KernelArguments) { args.Add("--append"); args.Add(a); }
        if (_options.CloudConfig is not null)
        {
            string userData = Path.Combine(_dir, "user-data");
            File.WriteAllText(userData, _options.CloudConfig);
            args.AddRange(["--cloud-config", userData, "--seed-image", Path.Combine(_dir, "seed.img")]);
            if (_options.InstanceId is not null) args.AddRange(["--instance-id", _options.InstanceId]);
        }
        if (_options.SerialInput) args.AddRange(["--serial-socket", SerialSocketPath]);
        if (_options.ForwardSsh)
        {
            SshPort ??= FreeLoopbackPort();
            args.AddRange(["--ssh-port", SshPort.Value.ToString(CultureInfo.InvariantCulture)]);
        }
        args.AddRange(_options.ExtraBootArgs);
        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        _qemu = Process.Start(psi) ?? throw new InvalidOperationException("cannot start qemu/boot.sh");
        _qemu.StandardInput.Close();
        var stderr = new StringBuilder();
        _qemu.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        _qemu.OutputDataReceived += (_, e) => { };
        _qemu.BeginErrorReadLine();
        _qemu.BeginOutputReadLine();
        QemuStderr = stderr;
        return this;
    }

    public StringBuilder QemuStderr { get; private set; } = new();

    /// <summary>
    /// Boots the same disk again in a new QEMU (after <see cref="PowerCut"/> or a poweroff): the
    /// serial log starts afresh and the agent is reconnected.
    /// </summary>
    public QemuGuest Restart()
    {
        PowerCut();
        _agent?.Dispose();
        _agent = null;
        _agentBuffer.Clear();
        _serial?.Dispose();
        _serial = null;
        if (File.Exists(SerialLogPath))
            File.Move(SerialLogPath, Path.Combine(_dir, $"serial-{DateTime.UtcNow:HHmmssfff}.log"));
        _serialConsumed = 0;
        return Start();
    }

    public bool HasExited => _qemu?.HasExited ?? true;

    public int? ExitCode => _qemu is { HasExited: true } p ? p.ExitCode : null;

    public string SerialLog => File.Exists(SerialLogPath) ? ReadShared(SerialLogPath) : "";

    private static string ReadShared(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var r = new StreamReader(fs, Encoding.UTF8);
        return r.ReadToEnd();
    }

    /// <summary>
    /// Waits until the serial console shows text matching <paramref name="pattern"/> after what
    /// earlier waits consumed; fails early if QEMU exits.
    /// </summary>
    public Match WaitForSerial(Regex pattern, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            string log = SerialLog;
            if (log.Length > _serialConsumed)
            {
                var m = pattern.Match(log, (int)_serialConsumed);
                if (m.Success)
                {
                    _serialConsumed = m.Index + m.Length;
                    return m;
                }
            }
            if (HasExited)
                throw new TimeoutException($"QEMU exited (code {ExitCode}) before {what}.\n{Tail(log)}\n{QemuStderr}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no {what} within {timeout.TotalSeconds:F0}s.\n{Tail(log)}");
            Thread.Sleep(50);
        }
    }

    public ReadyLine WaitForReady(TimeSpan? timeout = null)
    {
        var m = WaitForSerial(ReadyRegex, timeout ?? TimeSpan.FromSeconds(180), "`berth ready` line");
        return new ReadyLine(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), m.Value.TrimEnd('\r'));
    }

    public bool WaitForExit(TimeSpan timeout) => _qemu?.WaitForExit(timeout) ?? true;

    /// <summary>Pulls the plug: SIGKILL to QEMU, like a power cut.</summary>
    public void PowerCut()
    {
        if (_qemu is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
        }
    }

    /// <summary>Runs a shell command in the guest through the agent port.</summary>
    public CommandResult Run(string command, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        EnsureAgent(deadline);
        string marker = $"@@BERTH-{Environment.ProcessId}-{++_nonce}@@";
        string wrapped = $"( {command}\n) </dev/null 2>&1; echo \"{marker} $?\"\n";
        _agent!.Send(Encoding.UTF8.GetBytes(wrapped));
        var regex = new Regex(Regex.Escape(marker) + @" (\d+)\r?\n");
        var buf = new byte[65536];
        while (true)
        {
            var text = _agentBuffer.ToString();
            var m = regex.Match(text);
            if (m.Success)
            {
                _agentBuffer.Remove(0, m.Index + m.Length);
                return new CommandResult(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), text[..m.Index]);
            }
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
                throw new TimeoutException($"guest command timed out: {command}\noutput so far: {text}\n{Tail(SerialLog)}");
            if (HasExited) throw new GuestCommandException($"QEMU exited while running: {command}\n{Tail(SerialLog)}");
            if (_agent.Poll((int)Math.Min(remaining.TotalMicroseconds, 500_000), SelectMode.SelectRead))
            {
                int n = _agent.Receive(buf);
                if (n == 0) throw new GuestCommandException("agent socket closed by QEMU");
                _agentBuffer.Append(Encoding.UTF8.GetString(buf, 0, n));
            }
        }
    }

    /// <summary>Runs a command and returns its output, failing on a non-zero exit.</summary>
    public string Check(string command, TimeSpan? timeout = null) => Run(command, timeout).EnsureSuccess(command).Output;

    /// <summary>Sends a command whose reply will never come (reboot, poweroff, kill -TERM 1).</summary>
    public void Fire(string command)
    {
        EnsureAgent(DateTime.UtcNow + TimeSpan.FromSeconds(30));
        _agent!.Send(Encoding.UTF8.GetBytes(command + "\n"));
        _agentBuffer.Clear();
    }

    private void EnsureAgent(DateTime deadline)
    {
        if (_agent is not null) return;
        while (true)
        {
            if (File.Exists(AgentSocketPath))
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    s.Connect(new UnixDomainSocketEndPoint(AgentSocketPath));
                    _agent = s;
                    return;
                }
                catch (SocketException) { s.Dispose(); }
            }
            if (DateTime.UtcNow > deadline || HasExited) throw new TimeoutException("agent socket never appeared");
            Thread.Sleep(50);
        }
    }

    /// <summary>Sends one QMP command (e.g. system_powerdown) on the monitor socket.</summary>
    public string Qmp(string command)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Connect(new UnixDomainSocketEndPoint(MonitorSocketPath));
        s.ReceiveTimeout = 10_000;
        var buf = new byte[65536];
        s.Receive(buf); // greeting
        s.Send(Encoding.UTF8.GetBytes("{\"execute\":\"qmp_capabilities\"}\n"));
        s.Receive(buf);
        s.Send(Encoding.UTF8.GetBytes(command.StartsWith('{') ? command + "\n" : $"{{\"execute\":\"{command}\"}}\n"));
        // Events (DEVICE_DELETED, ...) may arrive before the answer: read up to the return or error line.
        var pending = new StringBuilder();
        while (true)
        {
            int n = s.Receive(buf);
            if (n == 0) return pending.ToString();
            pending.Append(Encoding.UTF8.GetString(buf, 0, n));
            foreach (var line in pending.ToString().Split('\n'))
                if (line.StartsWith("{\"return\"", StringComparison.Ordinal) || line.StartsWith("{\"error\"", StringComparison.Ordinal))
                    return line;
        }
    }

    /// <summary>
    /// Types <paramref name="text"/> on the guest's PS/2 keyboard through QMP send-key, which the
    /// kernel hands to the foreground virtual terminal (tty1): what a person at the VM's screen does.
    /// Letters, digits, space, '-', '.', '/' and "\r" for Enter.
    /// </summary>
    public void TypeOnKeyboard(string text)
    {
        foreach (char c in text)
        {
            string key = c switch
            {
                '\r' or '\n' => "ret",
                ' ' => "spc",
                '-' => "minus",
                '.' => "dot",
                '/' => "slash",
                >= 'a' and <= 'z' or >= '0' and <= '9' => c.ToString(),
                _ => throw new ArgumentException($"no key for '{c}' in TypeOnKeyboard", nameof(text)),
            };
            string reply = Qmp($"{{\"execute\":\"send-key\",\"arguments\":{{\"keys\":[{{\"type\":\"qcode\",\"data\":\"{key}\"}}]}}}}");
            if (!reply.Contains("\"return\"", StringComparison.Ordinal)) throw new InvalidOperationException($"QMP send-key {key}: {reply}");
        }
    }

    private static string Tail(string log, int lines = 40)
    {
        var all = log.Split('\n');
        return "--- serial console (last lines) ---\n" + string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    /// <summary>Types <paramref name="text"/> on the serial console as a person would (send "\r" for Enter).</summary>
    public void TypeOnSerial(string text)
    {
        if (!_options.SerialInput) throw new InvalidOperationException("the guest was started without GuestOptions.SerialInput");
        if (_serial is not { Connected: true })
        {
            _serial?.Dispose();
            _serial = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _serial.Connect(new UnixDomainSocketEndPoint(SerialSocketPath));
            // QEMU sends the guest's output to this socket too; unread, it fills and stalls the
            // guest's UART. The log file already has every byte, so this copy is thrown away.
            var socket = _serial;
            new Thread(() =>
            {
                var sink = new byte[4096];
                try { while (socket.Receive(sink) > 0) { } } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            }) { IsBackground = true, Name = "serial drain" }.Start();
        }
        // One byte at a time: a 16550 without flow control drops what its FIFO cannot hold.
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            _serial.Send([b]);
            Thread.Sleep(20);
        }
    }

    private static int FreeLoopbackPort()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try { PowerCut(); } catch { }
        _serial?.Dispose();
        _agent?.Dispose();
        if (Environment.GetEnvironmentVariable("BERTH_KEEP_GUEST") is null)
            try { Directory.Delete(_dir, recursive: true); } catch { }
    }
}
