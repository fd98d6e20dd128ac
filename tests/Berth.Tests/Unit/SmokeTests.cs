using Berth.Init;
using Xunit;

namespace Berth.Tests.Unit;

public class KernelCommandLineSmokeTests
{
    [Fact]
    public void Quoted_words_stay_together()
    {
        var cmd = new KernelCommandLine("console=ttyS0 berth.hostname=\"my host\" quiet");
        Assert.Equal("my host", cmd.Get("berth.hostname"));
    }
}
