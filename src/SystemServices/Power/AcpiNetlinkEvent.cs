using System.Buffers.Binary;
using System.Text;
using Berth.Runtime.Linux;

namespace Berth.SystemServices.Power;

/// <summary>
/// An ACPI event as the kernel multicasts it on the "acpi_event" generic-netlink family
/// (drivers/acpi/event.c): attribute ACPI_GENL_ATTR_EVENT holding struct acpi_genl_event
/// { char device_class[20]; char bus_id[15]; u32 type; u32 data; } (44 bytes with padding).
/// The power button is device class "button/power".
/// </summary>
public readonly record struct AcpiNetlinkEvent(string DeviceClass, string BusId, uint Type, uint Data)
{
    public const string Family = "acpi_event", Group = "acpi_mc_group";
    private const ushort AttrEvent = 1;
    private const int EventSize = 44;

    public bool IsPowerButton => DeviceClass == "button/power";

    /// <summary>The events in one netlink datagram of the family <paramref name="familyId"/>.</summary>
    public static List<AcpiNetlinkEvent> Parse(ReadOnlySpan<byte> datagram, ushort familyId)
    {
        var events = new List<AcpiNetlinkEvent>();
        for (int off = 0; off + 20 <= datagram.Length;)
        {
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(datagram[off..]);
            if (len < 16 || off + len > datagram.Length) break;
            if (BinaryPrimitives.ReadUInt16LittleEndian(datagram[(off + 4)..]) == familyId && len >= 20)
            {
                foreach (var (type, payload) in GenericNetlink.Attributes(datagram.Slice(off + 20, len - 20).ToArray()))
                {
                    if (type != AttrEvent || payload.Length < EventSize) continue;
                    events.Add(new AcpiNetlinkEvent(
                        CString(payload.AsSpan(0, 20)),
                        CString(payload.AsSpan(20, 15)),
                        BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(36)),
                        BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(40))));
                }
            }
            off += (len + 3) & ~3;
        }
        return events;
    }

    private static string CString(ReadOnlySpan<byte> b)
    {
        int nul = b.IndexOf((byte)0);
        return Encoding.ASCII.GetString(nul >= 0 ? b[..nul] : b);
    }
}
