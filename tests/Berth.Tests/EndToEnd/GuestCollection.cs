using Berth.Qemu;
using Xunit;

namespace Berth.Tests.EndToEnd;

/// <summary>QEMU guests run one at a time: TCG takes a whole core each and CI has two.</summary>
[CollectionDefinition("qemu", DisableParallelization = true)]
public sealed class QemuCollection : ICollectionFixture<SharedGuest>;

/// <summary>One guest booted once from the default image for the read-only checks.</summary>
public sealed class SharedGuest : IDisposable
{
    private readonly Lazy<(QemuGuest Guest, ReadyLine Ready)> _boot = new(() =>
    {
        var guest = new QemuGuest(new GuestOptions { KernelArguments = { "berth.bogus=1" }, ExtraBootArgs = { "--hotplug-slots", "3" } }).Start();
        return (guest, guest.WaitForReady());
    });

    public QemuGuest Guest => _boot.Value.Guest;
    public ReadyLine Ready => _boot.Value.Ready;

    public void Dispose()
    {
        if (_boot.IsValueCreated) _boot.Value.Guest.Dispose();
    }
}
