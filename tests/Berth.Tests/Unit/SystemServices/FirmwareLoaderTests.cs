using Berth.SystemServices.DeviceManager;
using Berth.Tests.Host;
using Xunit;

namespace Berth.Tests.Unit.SystemServices;

/// <summary>
/// devmgr's answer to a firmware fallback request, against a directory laid out as the kernel's
/// /sys/devices/.../firmware/NAME (loading and data); the kernel's side is in the QEMU test.
/// </summary>
public sealed class FirmwareLoaderTests : IDisposable
{
    private readonly TempDir _dir = new();
    private const string DevPath = "/devices/virtual/misc/test_firmware/firmware/fw.bin";

    public void Dispose() => _dir.Dispose();

    private string Request()
    {
        string request = _dir.Path + "/sys" + DevPath;
        Directory.CreateDirectory(request);
        File.WriteAllText(Path.Combine(request, "loading"), "");
        File.WriteAllBytes(Path.Combine(request, "data"), []);
        return request;
    }

    private FirmwareLoader Loader() =>
        new(_dir.Path + "/sys", [_dir["extra"], _dir["lib-firmware"]]);

    private static Uevent FirmwareEvent(string name, string action = "add") => new()
    {
        Action = action, DevPath = DevPath, Subsystem = "firmware",
        Environment = new Dictionary<string, string> { ["FIRMWARE"] = name },
    };

    [Fact]
    public void A_request_gets_the_first_file_on_the_search_path_between_loading_1_and_0()
    {
        string request = Request();
        Directory.CreateDirectory(_dir["extra/vendor"]);
        Directory.CreateDirectory(_dir["lib-firmware/vendor"]);
        var bytes = new byte[200_000];
        new Random(3).NextBytes(bytes);
        File.WriteAllBytes(_dir["extra/vendor/fw.bin"], bytes);
        File.WriteAllBytes(_dir["lib-firmware/vendor/fw.bin"], [1, 2, 3]);

        string? said = Loader().Handle(FirmwareEvent("vendor/fw.bin"));

        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(request, "data")));
        Assert.Equal("0", File.ReadAllText(Path.Combine(request, "loading")));
        Assert.Equal($"firmware vendor/fw.bin for {DevPath}: {_dir["extra/vendor/fw.bin"]} (200000 bytes)", said);
    }

    [Fact]
    public void A_missing_file_is_answered_with_loading_minus_1_and_named_with_the_search_path()
    {
        string request = Request();
        string? said = Loader().Handle(FirmwareEvent("nope.bin"));
        Assert.Equal("-1", File.ReadAllText(Path.Combine(request, "loading")));
        Assert.Equal($"firmware nope.bin for {DevPath}: not found in {_dir["extra"]}, {_dir["lib-firmware"]}", said);
    }

    [Theory]
    [InlineData("../../etc/shadow")]
    [InlineData("/etc/shadow")]
    [InlineData("a//b")]
    [InlineData("a/./b")]
    public void A_name_that_leaves_the_firmware_directory_is_refused(string name)
    {
        string request = Request();
        Directory.CreateDirectory(_dir["extra"]);
        File.WriteAllText(_dir["shadow"], "secret");
        Assert.Contains("refused (not a relative file name)", Loader().Handle(FirmwareEvent(name)));
        Assert.Equal("-1", File.ReadAllText(Path.Combine(request, "loading")));
        Assert.Empty(File.ReadAllBytes(Path.Combine(request, "data")));
    }

    [Fact]
    public void Other_events_are_not_firmware_requests()
    {
        Request();
        var loader = Loader();
        Assert.Null(loader.Handle(FirmwareEvent("fw.bin", action: "remove")));
        Assert.Null(loader.Handle(new Uevent { Action = "add", DevPath = "/devices/virtual/block/loop0", Subsystem = "block" }));
        Assert.Null(loader.Handle(new Uevent { Action = "add", DevPath = DevPath, Subsystem = "firmware" }));
    }

    [Fact]
    public void The_search_path_is_the_kernels_order_with_the_extra_directory_first()
    {
        Assert.Equal(["/var/lib/berth/firmware", "/lib/firmware/updates/6.1.0-57-amd64", "/lib/firmware/updates",
                      "/lib/firmware/6.1.0-57-amd64", "/lib/firmware"],
            FirmwareLoader.DefaultSearchPath(FirmwareLoader.ExtraDirectory, "6.1.0-57-amd64"));
    }
}
