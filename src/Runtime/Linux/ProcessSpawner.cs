using System.Runtime.InteropServices;
using System.Text;
using Berth.Runtime.Interop;
using static Berth.Runtime.Interop.Consts;

namespace Berth.Runtime.Linux;

/// <summary>What to start: an executable, its arguments and environment, and where its stdio goes.</summary>
public sealed class SpawnSpec
{
    public required string Executable { get; init; }
    public IReadOnlyList<string> Arguments { get; init; } = [];
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
    /// <summary>Path opened for stdin/stdout/stderr (e.g. a tty); null keeps the parent's descriptors.</summary>
    public string? StdioPath { get; init; }
    /// <summary>Separate stdout/stderr file (appended), used for service logs.</summary>
    public string? OutputPath { get; init; }
    public string? WorkingDirectory { get; init; }
    /// <summary>Start a new session; with <see cref="StdioPath"/> a tty, it becomes the controlling terminal.</summary>
    public bool NewSession { get; init; }
    /// <summary>argv[0] when it is not the executable's file name (OCI hooks give their own).</summary>
    public string? Argv0 { get; init; }
    /// <summary>A descriptor of the parent's that becomes the child's stdin.</summary>
    public int StdinFd { get; init; } = -1;
}

/// <summary>
/// Starts processes with posix_spawn. PID 1 never forks a managed runtime: glibc's posix_spawn
/// uses CLONE_VFORK and runs only its own code in the child before exec.
/// </summary>
public static class ProcessSpawner
{
    public static readonly IReadOnlyDictionary<string, string> DefaultEnvironment = new Dictionary<string, string>
    {
        ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ["HOME"] = "/root",
        ["TERM"] = "vt100",
    };

    public static unsafe int Spawn(SpawnSpec spec)
    {
        var env = spec.Environment ?? DefaultEnvironment;
        var strings = new List<IntPtr>();
        IntPtr Utf8(string s)
        {
            var p = Marshal.StringToCoTaskMemUTF8(s);
            strings.Add(p);
            return p;
        }

        byte** argv = (byte**)NativeMemory.AllocZeroed((nuint)(spec.Arguments.Count + 2), (nuint)sizeof(nint));
        byte** envp = (byte**)NativeMemory.AllocZeroed((nuint)(env.Count + 1), (nuint)sizeof(nint));
        // glibc's posix_spawn_file_actions_t is 80 bytes and posix_spawnattr_t 336; sigset_t 128.
        void* fa = NativeMemory.AllocZeroed(256);
        void* attr = NativeMemory.AllocZeroed(512);
        void* emptyMask = NativeMemory.AllocZeroed(128);
        void* defaults = NativeMemory.AllocZeroed(128);
        try
        {
            argv[0] = (byte*)Utf8(spec.Argv0 ?? Path.GetFileName(spec.Executable));
            for (int i = 0; i < spec.Arguments.Count; i++) argv[i + 1] = (byte*)Utf8(spec.Arguments[i]);
            int e = 0;
            foreach (var kv in env) envp[e++] = (byte*)Utf8(kv.Key + "=" + kv.Value);

            LibC.PosixSpawnFileActionsInit(fa);
            LibC.PosixSpawnAttrInit(attr);
            if (spec.StdioPath is not null)
            {
                byte* tty = (byte*)Utf8(spec.StdioPath);
                LibC.PosixSpawnFileActionsAddOpen(fa, 0, tty, O_RDWR, 0);
                LibC.PosixSpawnFileActionsAddDup2(fa, 0, 1);
                LibC.PosixSpawnFileActionsAddDup2(fa, 0, 2);
            }
            if (spec.OutputPath is not null)
            {
                byte* log = (byte*)Utf8(spec.OutputPath);
                if (spec.StdioPath is null)
                    LibC.PosixSpawnFileActionsAddOpen(fa, 0, (byte*)Utf8("/dev/null"), O_RDONLY, 0);
                LibC.PosixSpawnFileActionsAddOpen(fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0x1a4);
                LibC.PosixSpawnFileActionsAddDup2(fa, 1, 2);
            }
            if (spec.StdinFd >= 0) LibC.PosixSpawnFileActionsAddDup2(fa, spec.StdinFd, 0);
            if (spec.WorkingDirectory is not null)
                LibC.PosixSpawnFileActionsAddChdir(fa, (byte*)Utf8(spec.WorkingDirectory));

            // The .NET runtime blocks and ignores signals (SIGPIPE) that a child must not inherit.
            LibC.SigEmptySet(emptyMask);
            LibC.SigFillSet(defaults);
            LibC.SigDelSet(defaults, SIGKILL);
            LibC.SigDelSet(defaults, SIGSTOP);
            // sigfillset leaves out glibc's internal signals 32 and 33, and posix_spawn then sets
            // them to SIG_IGN in the child, where exec keeps them ignored: add them by hand.
            ((ulong*)defaults)[0] |= 3UL << 31;
            LibC.PosixSpawnAttrSetSigMask(attr, emptyMask);
            LibC.PosixSpawnAttrSetSigDefault(attr, defaults);
            short flags = (short)(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
            if (spec.NewSession) flags |= POSIX_SPAWN_SETSID;
            LibC.PosixSpawnAttrSetFlags(attr, flags);

            byte* path = (byte*)Utf8(spec.Executable);
            int rc = LibC.PosixSpawn(out int pid, path, fa, attr, argv, envp);
            if (rc != 0) throw new SyscallException("posix_spawn", spec.Executable, rc);
            return pid;
        }
        finally
        {
            LibC.PosixSpawnFileActionsDestroy(fa);
            LibC.PosixSpawnAttrDestroy(attr);
            NativeMemory.Free(fa);
            NativeMemory.Free(attr);
            NativeMemory.Free(emptyMask);
            NativeMemory.Free(defaults);
            NativeMemory.Free(argv);
            NativeMemory.Free(envp);
            foreach (var p in strings) Marshal.FreeCoTaskMem(p);
        }
    }

    /// <summary>Replaces this process (used by switch_root to become stage 2).</summary>
    public static unsafe void Exec(string path, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env)
    {
        var all = new List<IntPtr>();
        byte** argv = (byte**)NativeMemory.AllocZeroed((nuint)(args.Count + 1), (nuint)sizeof(nint));
        byte** envp = (byte**)NativeMemory.AllocZeroed((nuint)(env.Count + 1), (nuint)sizeof(nint));
        for (int i = 0; i < args.Count; i++) { var p = Marshal.StringToCoTaskMemUTF8(args[i]); all.Add(p); argv[i] = (byte*)p; }
        int j = 0;
        foreach (var kv in env) { var p = Marshal.StringToCoTaskMemUTF8(kv.Key + "=" + kv.Value); all.Add(p); envp[j++] = (byte*)p; }
        var pathPtr = Marshal.StringToCoTaskMemUTF8(path);
        LibC.Execve((byte*)pathPtr, argv, envp);
        var error = SyscallException.Last("execve", path);
        Marshal.FreeCoTaskMem(pathPtr);
        foreach (var p in all) Marshal.FreeCoTaskMem(p);
        NativeMemory.Free(argv);
        NativeMemory.Free(envp);
        throw error;
    }

    public static string Describe(SpawnSpec spec)
    {
        var sb = new StringBuilder(spec.Executable);
        foreach (var a in spec.Arguments) sb.Append(' ').Append(a);
        return sb.ToString();
    }
}
