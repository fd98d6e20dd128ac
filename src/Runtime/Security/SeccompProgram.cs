using Berth.Runtime.Oci;

namespace Berth.Runtime.Security;

/// <summary>A compiled seccomp filter: the BPF program and the flags to install it with.</summary>
public sealed class SeccompProgram
{
    public required IReadOnlyList<SockFilter> Instructions { get; init; }
    /// <summary>SECCOMP_FILTER_FLAG_* bits for seccomp(2), NEW_LISTENER included when a rule notifies.</summary>
    public uint Flags { get; init; }
    /// <summary>The ABIs the filter has rules for; calls of any other ABI are killed.</summary>
    public required IReadOnlyList<SyscallAbi> Abis { get; init; }
    public IReadOnlyList<SpecWarning> Warnings { get; init; } = [];

    /// <summary>Installing returns a notification fd that must go to linux.seccomp.listenerPath.</summary>
    public bool NeedsListener => (Flags & SeccompNames.FlagNewListener) != 0;
}
