using Berth.Runtime.Security;
using Xunit;

namespace Berth.Tests.Unit.Security;

public class BpfAssemblerTests
{
    [Fact]
    public void Near_jumps_are_encoded_directly()
    {
        var asm = new BpfAssembler();
        var yes = asm.NewLabel();
        asm.LoadWord(Bpf.NrOffset);
        asm.JumpIf(Bpf.JeqK, 7, yes, null);
        asm.Return(1);
        asm.Bind(yes);
        asm.Return(2);
        var p = asm.Assemble();
        Assert.Equal(new SockFilter(Bpf.JeqK, 1, 0, 7), p[1]);
        Assert.Equal(4, p.Length);
    }

    [Theory]
    [InlineData(254)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(300)]
    [InlineData(2000)]
    public void Jumps_beyond_255_instructions_go_through_a_trampoline(int filler)
    {
        var asm = new BpfAssembler();
        var far = asm.NewLabel();
        var alsoFar = asm.NewLabel();
        asm.LoadWord(Bpf.NrOffset);
        asm.JumpIf(Bpf.JeqK, 7, far, null);
        asm.JumpIf(Bpf.JgtK, 100, null, alsoFar);
        for (int i = 0; i < filler; i++) asm.LoadWord(Bpf.ArchOffset);
        asm.Return(1);
        asm.Bind(far);
        asm.Return(2);
        asm.Bind(alsoFar);
        asm.Return(3);
        var p = asm.Assemble();
        Assert.Equal(2u, Run(p, 7));
        Assert.Equal(1u, Run(p, 200));
        Assert.Equal(3u, Run(p, 50));
        if (filler >= 256) Assert.Contains(p, i => i.Code == Bpf.Ja);
    }

    private static uint Run(SockFilter[] p, int nr) =>
        BpfInterpreter.Run(p, new SeccompData(nr, SyscallTable.AuditArchX86_64, []));

    [Fact]
    public void A_label_never_bound_is_a_bug_reported_at_assembly()
    {
        var asm = new BpfAssembler();
        asm.Jump(asm.NewLabel());
        Assert.Throws<InvalidOperationException>(() => asm.Assemble());
    }
}
