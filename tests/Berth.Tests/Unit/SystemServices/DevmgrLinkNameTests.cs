using Berth.SystemServices.DeviceManager;
using Xunit;

namespace Berth.Tests.Unit.SystemServices;

public class DevmgrLinkNameTests
{
    [Theory]
    [InlineData("berth-state", "berth-state")]
    [InlineData("my disk", @"my\x20disk")]
    [InlineData("a/b", @"a\x2fb")]
    [InlineData(@"back\slash", @"back\x5cslash")]
    [InlineData("tab\there", @"tab\x09here")]
    [InlineData("#+-.:=@_", "#+-.:=@_")]
    [InlineData("Ünïcødé", "Ünïcødé")]          // valid UTF-8 stays, as blkid leaves it
    [InlineData("a*b?c", @"a\x2ab\x3fc")]
    [InlineData("..", null)]
    [InlineData("", null)]
    public void Names_are_escaped_as_udev_does(string value, string? expected)
    {
        Assert.Equal(expected, LinkNames.Encode(value));
    }

    [Fact]
    public void A_volume_gets_one_link_per_name_it_has()
    {
        Assert.Equal(["disk/by-label/STATE", "disk/by-uuid/1234-ABCD", @"disk/by-partlabel/my\x20part"],
            LinkNames.For("STATE", "1234-ABCD", "my part"));
        Assert.Equal(["disk/by-partlabel/berth-a"], LinkNames.For(null, null, "berth-a"));
        Assert.Empty(LinkNames.For(null, null, null));
    }

    [Fact]
    public void Links_point_relative_to_their_directory()
    {
        Assert.Equal("../../vda5", DiskLinks.RelativeTarget("disk/by-label/x", "vda5"));
        Assert.Equal("../../../mapper/root", DiskLinks.RelativeTarget("disk/by-id/a/x", "mapper/root"));
    }
}
