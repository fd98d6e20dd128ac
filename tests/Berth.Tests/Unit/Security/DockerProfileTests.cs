using Berth.Runtime.Security;
using Xunit;
using static Berth.Tests.Unit.Security.BpfInterpreter;

namespace Berth.Tests.Unit.Security;

/// <summary>Docker's default profile, compiled and run in <see cref="BpfInterpreter"/>.</summary>
public class DockerProfileTests
{
    private const ulong CLONE_NEWNS = 0x00020000, CLONE_NEWUSER = 0x10000000, CLONE_NEWNET = 0x40000000,
        CLONE_VM = 0x100, CLONE_VFORK = 0x4000, SIGCHLD = 17, AF_INET = 2, AF_VSOCK = 40;

    private static readonly SeccompProgram Default =
        SeccompCompiler.Compile(DockerSeccompProfile.For(Capabilities.DockerDefault, kernel: (6, 1)));

    private static readonly SeccompProgram Privileged =
        SeccompCompiler.Compile(DockerSeccompProfile.For(Capabilities.All, kernel: (6, 1)));

    private static IReadOnlyList<SockFilter> P => Default.Instructions;

    [Fact]
    public void Compiles_without_warnings_for_all_three_x86_abis_and_fits_the_kernel_limit()
    {
        Assert.Empty(Default.Warnings);
        Assert.Equal([SyscallAbi.X86_64, SyscallAbi.I386, SyscallAbi.X32], Default.Abis);
        Assert.InRange(Default.Instructions.Count, 100, Bpf.MaxInstructions);
        Assert.Equal(0u, Default.Flags);
    }

    [Theory]
    [InlineData("read")]
    [InlineData("write")]
    [InlineData("execve")]
    [InlineData("openat")]
    [InlineData("exit_group")]
    [InlineData("futex")]
    [InlineData("rt_sigreturn")]
    [InlineData("arch_prctl")]
    [InlineData("ptrace")]
    [InlineData("io_uring_setup")]
    [InlineData("chown")]
    public void Allows_ordinary_calls(string name) => Assert.Equal("ALLOW", X86_64(P, name));

    [Theory]
    [InlineData("mount")]
    [InlineData("umount2")]
    [InlineData("reboot")]
    [InlineData("kexec_load")]
    [InlineData("init_module")]
    [InlineData("setns")]
    [InlineData("unshare")]
    [InlineData("bpf")]
    [InlineData("perf_event_open")]
    [InlineData("open_by_handle_at")]
    [InlineData("keyctl")]
    [InlineData("add_key")]
    [InlineData("swapon")]
    [InlineData("pivot_root")]
    [InlineData("clock_settime")]
    public void Refuses_privileged_calls_with_EPERM(string name) => Assert.Equal("ERRNO(1)", X86_64(P, name));

    [Fact]
    public void Unshare_of_a_user_namespace_is_refused() => Assert.Equal("ERRNO(1)", X86_64(P, "unshare", CLONE_NEWUSER));

    [Fact]
    public void Clone_is_allowed_without_namespace_flags_only()
    {
        Assert.Equal("ALLOW", X86_64(P, "clone", SIGCHLD));
        Assert.Equal("ALLOW", X86_64(P, "clone", CLONE_VM | CLONE_VFORK | SIGCHLD));
        Assert.Equal("ERRNO(1)", X86_64(P, "clone", CLONE_NEWUSER | SIGCHLD));
        Assert.Equal("ERRNO(1)", X86_64(P, "clone", CLONE_NEWNS));
        Assert.Equal("ERRNO(1)", X86_64(P, "clone", CLONE_NEWNET | CLONE_VM));
        // The mask covers the low word only: bits above 32 do not matter (MASKED_EQ of the high word with mask 0).
        Assert.Equal("ALLOW", X86_64(P, "clone", (1UL << 40) | SIGCHLD));
    }

    [Fact]
    public void Clone3_gets_ENOSYS_so_that_libc_falls_back_to_clone() => Assert.Equal("ERRNO(38)", X86_64(P, "clone3"));

    [Fact]
    public void Vsock_sockets_are_refused_others_allowed()
    {
        Assert.Equal("ALLOW", X86_64(P, "socket", AF_INET, 1, 0));
        Assert.Equal("ERRNO(1)", X86_64(P, "socket", AF_VSOCK, 1, 0));
        // 64-bit comparison: 40 + 2^32 is not 40.
        Assert.Equal("ALLOW", X86_64(P, "socket", AF_VSOCK + (1UL << 32)));
    }

    [Theory]
    [InlineData(0UL, "ALLOW")]
    [InlineData(8UL, "ALLOW")]
    [InlineData(0x20000UL, "ALLOW")]
    [InlineData(0x20008UL, "ALLOW")]
    [InlineData(0xffffffffUL, "ALLOW")]
    [InlineData(1UL, "ERRNO(1)")]
    [InlineData(0x0400000UL, "ERRNO(1)")]
    [InlineData(0x1_ffffffffUL, "ERRNO(1)")]
    [InlineData(0x1_00000000UL, "ERRNO(1)")]
    public void Personality_allows_the_five_values_docker_allows(ulong persona, string expected) =>
        Assert.Equal(expected, X86_64(P, "personality", persona));

    [Fact]
    public void Calls_newer_than_the_profile_get_ENOSYS_not_EPERM()
    {
        // fchmodat2 (452) postdates the newest call the profile names: glibc must see ENOSYS to fall back.
        Assert.Equal("ERRNO(38)", X86_64(P, "fchmodat2"));
        Assert.Equal("ERRNO(38)", Describe(P, new SeccompData(1000, SyscallTable.AuditArchX86_64, [])));
        // Below it, an unlisted call gets the default.
        Assert.Equal("ERRNO(1)", X86_64(P, "kexec_file_load"));
    }

    [Fact]
    public void A_foreign_architecture_is_killed()
    {
        const uint AuditArchAarch64 = 0xc00000b7;
        Assert.Equal("KILL_PROCESS", Describe(P, new SeccompData(63, AuditArchAarch64, [])));
        Assert.Equal("KILL_PROCESS", Describe(P, new SeccompData(0, 0, [])));
    }

    [Fact]
    public void I386_calls_are_filtered_with_the_i386_numbers()
    {
        Assert.Equal("ALLOW", I386(P, "read"));
        Assert.Equal("ALLOW", I386(P, "socketcall"));
        Assert.Equal("ALLOW", I386(P, "mmap2"));
        Assert.Equal("ERRNO(1)", I386(P, "mount"));
        Assert.Equal("ERRNO(1)", I386(P, "clone", CLONE_NEWUSER));
        Assert.Equal("ALLOW", I386(P, "clone", SIGCHLD));
        // i386 has no arch_prctl rule in the profile (it is amd64/x32 only); the number means something else there.
        Assert.Equal("ALLOW", I386(P, "modify_ldt"));
    }

    [Fact]
    public void X32_calls_are_filtered_with_the_x32_numbers()
    {
        Assert.Equal("ALLOW", X32(P, "read"));
        Assert.Equal("ALLOW", X32(P, "execve"));   // 520 in x32's own range
        Assert.Equal("ERRNO(1)", X32(P, "mount"));
        Assert.Equal("ERRNO(1)", X32(P, "kexec_load"));
    }

    [Fact]
    public void With_all_capabilities_the_admin_calls_are_allowed()
    {
        var p = Privileged.Instructions;
        Assert.Equal("ALLOW", X86_64(p, "mount"));
        Assert.Equal("ALLOW", X86_64(p, "clone", CLONE_NEWUSER));
        Assert.Equal("ALLOW", X86_64(p, "clone3"));
        Assert.Equal("ALLOW", X86_64(p, "reboot"));
        Assert.Equal("ALLOW", X86_64(p, "open_by_handle_at"));
        Assert.Equal("ERRNO(1)", X86_64(p, "kexec_load"));
    }

    [Fact]
    public void Capability_conditions_select_rules_as_docker_does()
    {
        var nice = DockerSeccompProfile.For([.. Capabilities.DockerDefault, "CAP_SYS_NICE"], kernel: (6, 1));
        Assert.Contains(nice.Syscalls, r => r.Names.Contains("set_mempolicy"));
        var plain = DockerSeccompProfile.For(Capabilities.DockerDefault, kernel: (6, 1));
        Assert.DoesNotContain(plain.Syscalls, r => r.Names.Contains("set_mempolicy"));
        Assert.DoesNotContain(plain.Syscalls, r => r.Names.Contains("mount"));
        // ptrace needs kernel 4.8 (before it, seccomp could be bypassed with ptrace).
        var old = DockerSeccompProfile.For(Capabilities.DockerDefault, kernel: (4, 4));
        Assert.DoesNotContain(old.Syscalls, r => r.Names.Contains("ptrace"));
        Assert.Equal("SCMP_ACT_ERRNO", plain.DefaultAction);
        Assert.Equal(1u, plain.DefaultErrnoRet);
    }
}
