using System.Runtime.InteropServices;
using System.Text;
using Berth.Runtime.Interop;
using Berth.Runtime.Linux;

namespace Berth.Runtime.Containers;

/// <summary>Loads a <see cref="DeviceFilterProgram"/> and attaches it to a cgroup, as runc and crun do on cgroup v2.</summary>
public static unsafe class CgroupDeviceFilter
{
    /// <summary>
    /// The attachment holds the program: its fd is closed here. BPF_F_ALLOW_MULTI, so the filters of
    /// the ancestors still apply (the kernel runs them all; any deny wins).
    /// </summary>
    public static void Attach(FileDescriptor cgroupDirectory, DeviceFilterProgram program)
    {
        var insns = program.Instructions.ToArray();
        byte* license = stackalloc byte[] { (byte)'G', (byte)'P', (byte)'L', 0 };
        const int logSize = 64 * 1024;
        var log = new byte[logSize];
        int progFd;
        fixed (ulong* code = insns)
        fixed (byte* logBuf = log)
        {
            var load = new LibC.BpfProgLoadAttr
            {
                ProgType = LibC.BPF_PROG_TYPE_CGROUP_DEVICE,
                InsnCount = (uint)insns.Length,
                Insns = (ulong)code,
                License = (ulong)license,
                LogLevel = 1,
                LogSize = logSize,
                LogBuf = (ulong)logBuf,
                ExpectedAttachType = LibC.BPF_CGROUP_DEVICE,
            };
            var name = "berth_devices"u8;
            for (int i = 0; i < name.Length; i++) load.ProgName[i] = name[i];
            long fd = LibC.Bpf(LibC.BPF_PROG_LOAD, &load, (uint)sizeof(LibC.BpfProgLoadAttr));
            if (fd < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                string verifier = Encoding.UTF8.GetString(log, 0, Math.Max(0, Array.IndexOf(log, (byte)0))).Trim();
                throw new SyscallException("bpf(BPF_PROG_LOAD)", "device filter" + (verifier.Length > 0 ? $" (verifier: {verifier})" : ""), errno);
            }
            progFd = (int)fd;
        }
        using var prog = new FileDescriptor(progFd, "device filter program");
        var attach = new LibC.BpfProgAttachAttr
        {
            TargetFd = (uint)cgroupDirectory.Fd,
            AttachBpfFd = (uint)prog.Fd,
            AttachType = LibC.BPF_CGROUP_DEVICE,
            AttachFlags = LibC.BPF_F_ALLOW_MULTI,
        };
        if (LibC.Bpf(LibC.BPF_PROG_ATTACH, &attach, (uint)sizeof(LibC.BpfProgAttachAttr)) < 0)
            throw SyscallException.Last("bpf(BPF_PROG_ATTACH)", cgroupDirectory.Path);
    }
}
