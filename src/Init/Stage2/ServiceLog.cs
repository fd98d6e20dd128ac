using System.Text;
using Berth.Runtime.Linux;

namespace Berth.Init.Stage2;

/// <summary>
/// A service's stdout and stderr: a pipe whose far end the service writes, and a thread in PID 1
/// that appends each line, time-stamped, to /var/log/berth/NAME.log (on STATE), rotating it by
/// size (NAME.log.1 … .Keep) so a chatty service can neither fill STATE nor block on a full pipe.
/// </summary>
public sealed class ServiceLog
{
    public const string Directory = "/var/log/berth";
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly int _keep;
    private readonly object _gate = new();
    private FileStream? _file;

    private static readonly List<ServiceLog> Open = [];
    private static bool _closed;

    /// <summary>
    /// At shutdown, before STATE is unmounted: every log file closed, and no more opened. An open
    /// file for writing would keep /var/log busy and leave the journal to be replayed at next boot.
    /// </summary>
    public static void CloseAll()
    {
        List<ServiceLog> logs;
        lock (Open)
        {
            _closed = true;
            logs = [.. Open];
        }
        foreach (var log in logs)
            lock (log._gate)
            {
                log._file?.Dispose();
                log._file = null;
            }
    }

    public ServiceLog(string name, long maxBytes = 1 << 20, int keep = 2, string directory = Directory)
    {
        Name = name;
        _path = System.IO.Path.Combine(directory, name + ".log");
        _maxBytes = maxBytes;
        _keep = keep;
    }

    public string Name { get; }
    public string Path => _path;

    /// <summary>A new pipe for one run of the service: the write end goes to the service, the read end is pumped here.</summary>
    public FileDescriptor OpenPipe()
    {
        var (read, write) = Pipes.Create($"log pipe of {Name}");
        new Thread(() => Pump(read)) { IsBackground = true, Name = "log " + Name }.Start();
        return write;
    }

    /// <summary>A line from the supervisor itself (started, exited, restarting).</summary>
    public void Note(string line) => Append(Encoding.UTF8.GetBytes($"[berth] {line}"));

    private void Pump(FileDescriptor read)
    {
        using (read)
        {
            var buffer = BlockingReadBuffer.Allocate(4096);
            var line = new List<byte>(256);
            while (true)
            {
                int n;
                try { n = read.Read(buffer); }
                catch (SyscallException) { break; }
                if (n <= 0) break;
                for (int i = 0; i < n; i++)
                {
                    if (buffer[i] == '\n' || line.Count >= 8192)
                    {
                        Append(line.ToArray());
                        line.Clear();
                        if (buffer[i] == '\n') continue;
                    }
                    line.Add(buffer[i]);
                }
            }
            if (line.Count > 0) Append(line.ToArray());
        }
    }

    private void Append(byte[] text)
    {
        lock (_gate)
        {
            try
            {
                if (_file is null)
                {
                    lock (Open)
                    {
                        if (_closed) return;
                        if (!Open.Contains(this)) Open.Add(this);
                    }
                    System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(_path)!);
                    _file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
                }
                var stamp = Encoding.ASCII.GetBytes(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ ", System.Globalization.CultureInfo.InvariantCulture));
                _file.Write(stamp);
                _file.Write(text);
                _file.WriteByte((byte)'\n');
                _file.Flush();
                if (_file.Length >= _maxBytes) Rotate();
            }
            catch (IOException) { _file?.Dispose(); _file = null; }
            catch (UnauthorizedAccessException) { }
        }
    }

    private void Rotate()
    {
        _file?.Dispose();
        _file = null;
        for (int i = _keep; i >= 1; i--)
        {
            string from = i == 1 ? _path : $"{_path}.{i - 1}";
            if (File.Exists(from)) File.Move(from, $"{_path}.{i}", overwrite: true);
        }
    }
}
