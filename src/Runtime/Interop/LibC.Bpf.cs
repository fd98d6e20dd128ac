using System.Runtime.InteropServices;

namespace Berth.Runtime.Interop;

// ==== cgroup device filters (Berth.Runtime.Containers.CgroupDeviceFilter): bpf(2) ====
internal static unsafe partial class LibC
{
    internal const long SYS_bpf = 321;
    internal const int BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8;
    internal const uint BPF_PROG_TYPE_CGROUP_DEVICE = 15, BPF_CGROUP_DEVICE = 6, BPF_F_ALLOW_MULTI = 2;

    /// <summary>The BPF_PROG_LOAD part of union bpf_attr, up to expected_attach_type.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BpfProgLoadAttr
    {
        public uint ProgType;
        public uint InsnCount;
        public ulong Insns;
        public ulong License;
        public uint LogLevel;
        public uint LogSize;
        public ulong LogBuf;
        public uint KernVersion;
        public uint ProgFlags;
        public fixed byte ProgName[16];
        public uint ProgIfindex;
        public uint ExpectedAttachType;
    }

    /// <summary>The BPF_PROG_ATTACH part of union bpf_attr.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BpfProgAttachAttr
    {
        public uint TargetFd;
        public uint AttachBpfFd;
        public uint AttachType;
        public uint AttachFlags;
        public uint ReplaceBpfFd;
    }

    internal static long Bpf(int cmd, void* attr, uint size) => Syscall3(SYS_bpf, cmd, (nint)attr, (nint)size);
}
