using System.Runtime.InteropServices;

namespace Berth.Runtime.Containers;

/// <summary>What one step of the container child does. See <see cref="ContainerChild"/> for each.</summary>
internal enum ChildOpCode
{
    ResetSignals,
    WaitForParent,
    BecomeRoot,
    JoinNamespace,
    Mount,
    OpenRoot,
    MountInRoot,
    MakeDeviceInRoot,
    BindDeviceInRoot,
    SymlinkInRoot,
    RunHook,
    PivotRoot,
    WriteFile,
    MaskPath,
    ReadonlyPath,
    RemountRootReadonly,
    SetHostname,
    SetDomainname,
    SetupConsole,
    NewSession,
    ResolveExecutable,
    ReportReady,
    WaitForStartFifo,
    WaitForStartPipe,
    SetRlimit,
    SetUmask,
    KeepCapabilities,
    DropBounding,
    SetGroups,
    SetGid,
    SetUid,
    SetCapabilities,
    RaiseAmbient,
    NoNewPrivileges,
    InstallSeccomp,
    ChangeDirectory,
    CloseExtraFds,
    Exec,
    SetStdio,
}

/// <summary>Modifiers of a step.</summary>
[Flags]
internal enum ChildOpFlags
{
    None = 0,
    /// <summary>The path may not exist (masked and read-only paths): skip the step then.</summary>
    IgnoreMissing = 1,
    /// <summary>MountInRoot: the target is a file (bind of a file), not a directory.</summary>
    FileTarget = 2,
    /// <summary>MountInRoot: after the bind, remount with <see cref="ChildOp.Value1"/> (ro, nosuid, ...).</summary>
    Remount = 4,
    /// <summary>MountInRoot: sysfs cannot be mounted (no own network namespace in a user namespace): rbind the host's /sys instead.</summary>
    SysfsFallback = 8,
}

/// <summary>
/// One precompiled step of the container child. Every string is a NUL-terminated UTF-8 buffer in
/// the plan's <see cref="NativeArena"/>, so the child reads them without marshalling or allocating.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ChildOp
{
    public ChildOpCode Code;
    public ChildOpFlags Flags;
    /// <summary>An inherited descriptor the step works on (namespace, socket, state directory, memfd).</summary>
    public int Fd;
    /// <summary>A small integer: namespace type, mode, resource, id, timeout in seconds.</summary>
    public int Int;
    /// <summary>Mount flags.</summary>
    public ulong MountFlags;
    public ulong Value1;
    public ulong Value2;
    public ulong Value3;
    public byte* A;
    public byte* B;
    public byte* C;
    public byte* D;
    public byte** List1;
    public byte** List2;
    public byte** List3;
    public void* Ptr;
    public nint Length;
    /// <summary>What the step does, for the child's own message on stderr when its parent is gone.</summary>
    public byte* Description;
}

/// <summary>What the child writes to the report pipe.</summary>
internal enum ChildMessageKind
{
    /// <summary>Everything before the user's program is in place; the child now waits for start.</summary>
    Ready = 1,
    /// <summary>Step <see cref="ChildMessage.Step"/> failed with <see cref="ChildMessage.Errno"/>.</summary>
    Failed = 2,
    /// <summary>The hook of step <see cref="ChildMessage.Step"/> failed: Errno 0 and the wait status in Extra, or ETIMEDOUT.</summary>
    HookFailed = 3,
    /// <summary>The child is running its plan: it got past the runtime's first GC poll after clone3 (see <see cref="ChildStartWatch"/>).</summary>
    Started = 4,
}

[StructLayout(LayoutKind.Sequential)]
internal struct ChildMessage
{
    public ChildMessageKind Kind;
    public int Step;
    public int Errno;
    public int Extra;
}

/// <summary>struct sock_fprog: a 16-bit length, padding, then the pointer.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SockFprogRaw
{
    public ushort Length;
    public void* Filter;
}
