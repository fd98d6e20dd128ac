using Berth.Init.Stage1;
using Xunit;

namespace Berth.Tests.Unit;

public class FaultAroundTests
{
    [Fact]
    public void Unset_means_one_page()
    {
        Assert.Equal(4096, FaultAround.Parse(null, out var problem));
        Assert.Null(problem);
    }

    [Theory]
    [InlineData("4096", 4096)]
    [InlineData("16384", 16384)]
    [InlineData("65536", 65536)]
    public void A_power_of_two_in_range_is_taken(string value, int expected)
    {
        Assert.Equal(expected, FaultAround.Parse(value, out var problem));
        Assert.Null(problem);
    }

    [Fact]
    public void Zero_leaves_the_kernel_default()
    {
        Assert.Null(FaultAround.Parse("0", out var problem));
        Assert.Null(problem);
    }

    [Theory]
    [InlineData("5000")]
    [InlineData("2048")]
    [InlineData("131072")]
    [InlineData("-4096")]
    [InlineData("4k")]
    [InlineData("")]
    public void Anything_else_is_named_and_falls_back_to_one_page(string value)
    {
        Assert.Equal(4096, FaultAround.Parse(value, out var problem));
        Assert.Contains($"berth.fault_around_bytes={value}", problem);
    }
}
