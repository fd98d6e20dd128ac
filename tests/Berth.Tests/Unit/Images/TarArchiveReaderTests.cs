using System.Formats.Tar;
using System.Text;
using Berth.Runtime.Images;
using Xunit;
using BerthType = Berth.Runtime.Images.TarEntryType;
using NetType = System.Formats.Tar.TarEntryType;

namespace Berth.Tests.Unit.Images;

public class TarArchiveReaderTests
{
    private static List<(TarEntryHeader Header, byte[] Data)> ReadAll(byte[] archive, bool readData = true)
    {
        var reader = new TarArchiveReader(new MemoryStream(archive), "test.tar");
        var list = new List<(TarEntryHeader, byte[])>();
        while (reader.Next() is { } h)
        {
            var data = new MemoryStream();
            if (readData) reader.OpenData().CopyTo(data);
            list.Add((h, data.ToArray()));
        }
        return list;
    }

    /// <summary>Every member type, written by .NET's TarWriter in each format, reads back the same.</summary>
    [Theory]
    [InlineData(TarEntryFormat.V7)]
    [InlineData(TarEntryFormat.Ustar)]
    [InlineData(TarEntryFormat.Pax)]
    [InlineData(TarEntryFormat.Gnu)]
    public void Reads_what_System_Formats_Tar_writes(TarEntryFormat format)
    {
        var ms = new MemoryStream();
        var time = new DateTimeOffset(2021, 5, 6, 7, 8, 9, TimeSpan.Zero);
        using (var w = new TarWriter(ms, format, leaveOpen: true))
        {
            TarEntry Make(NetType type, string name)
            {
                TarEntry e = format switch
                {
                    TarEntryFormat.V7 => new V7TarEntry(type, name),
                    TarEntryFormat.Ustar => new UstarTarEntry(type, name),
                    TarEntryFormat.Pax => new PaxTarEntry(type, name),
                    _ => new GnuTarEntry(type, name),
                };
                e.ModificationTime = time;
                e.Uid = 1000;
                e.Gid = 2000;
                e.Mode = (UnixFileMode)0x9ed; // 04755
                return e;
            }
            var file = Make(format == TarEntryFormat.V7 ? NetType.V7RegularFile : NetType.RegularFile, "dir/file");
            file.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(new string('z', 1000)));
            w.WriteEntry(Make(NetType.Directory, "dir/"));
            w.WriteEntry(file);
            w.WriteEntry(Make(NetType.SymbolicLink, "dir/sym") is var s ? Link(s, "/abs/target") : null!);
            w.WriteEntry(Make(NetType.HardLink, "dir/hard") is var hl ? Link(hl, "dir/file") : null!);
            if (format != TarEntryFormat.V7)
            {
                var dev = (PosixTarEntry)Make(NetType.CharacterDevice, "dev/tty");
                dev.DeviceMajor = 5; dev.DeviceMinor = 0;
                w.WriteEntry(dev);
                var blk = (PosixTarEntry)Make(NetType.BlockDevice, "dev/sda");
                blk.DeviceMajor = 8; blk.DeviceMinor = 1;
                w.WriteEntry(blk);
                w.WriteEntry(Make(NetType.Fifo, "dev/fifo"));
            }
        }

        var entries = ReadAll(ms.ToArray());
        Assert.Equal(BerthType.Directory, entries[0].Header.Type);
        var f = entries[1];
        Assert.Equal(("dir/file", BerthType.Regular, 1000L, 1000L, 2000L, 0x9ed), (f.Header.Name, f.Header.Type, f.Header.Size, f.Header.Uid, f.Header.Gid, f.Header.Mode));
        Assert.Equal(new string('z', 1000), Encoding.UTF8.GetString(f.Data));
        Assert.Equal(time.ToUnixTimeSeconds(), f.Header.ModificationTime.Seconds);
        Assert.Equal((BerthType.Symlink, "/abs/target"), (entries[2].Header.Type, entries[2].Header.LinkName));
        Assert.Equal((BerthType.HardLink, "dir/file"), (entries[3].Header.Type, entries[3].Header.LinkName));
        if (format != TarEntryFormat.V7)
        {
            Assert.Equal((BerthType.CharDevice, 5u, 0u), (entries[4].Header.Type, entries[4].Header.DeviceMajor, entries[4].Header.DeviceMinor));
            Assert.Equal((BerthType.BlockDevice, 8u, 1u), (entries[5].Header.Type, entries[5].Header.DeviceMajor, entries[5].Header.DeviceMinor));
            Assert.Equal(BerthType.Fifo, entries[6].Header.Type);
        }
    }

    private static TarEntry Link(TarEntry e, string target)
    {
        e.LinkName = target;
        return e;
    }

    [Theory]
    [InlineData(TarEntryFormat.Pax)]
    [InlineData(TarEntryFormat.Gnu)]
    public void Long_names_and_link_targets(TarEntryFormat format)
    {
        string longName = string.Join('/', Enumerable.Repeat("directory-name-that-is-long", 12)) + "/file";
        string longTarget = "/" + new string('t', 300);
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, format, leaveOpen: true))
        {
            TarEntry sym = format == TarEntryFormat.Pax ? new PaxTarEntry(NetType.SymbolicLink, longName) : new GnuTarEntry(NetType.SymbolicLink, longName);
            sym.LinkName = longTarget;
            w.WriteEntry(sym);
        }
        var h = Assert.Single(ReadAll(ms.ToArray())).Header;
        Assert.Equal(longName, h.Name);
        Assert.Equal(longTarget, h.LinkName);
    }

    [Fact]
    public void Big_ids_in_base_256_and_pax()
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Gnu, leaveOpen: true))
            w.WriteEntry(new GnuTarEntry(NetType.RegularFile, "gnu") { Uid = 40_000_000, Gid = 3_000_000 });
        Assert.Equal((40_000_000L, 3_000_000L), ReadAll(ms.ToArray())[0].Header is var g ? (g.Uid, g.Gid) : default);

        var pax = new RawTar().Pax('x', ("uid", "4000000000"u8.ToArray()), ("gid", "4000000001"u8.ToArray()),
            ("mtime", "1234567890.5"u8.ToArray()), ("atime", "-1.25"u8.ToArray())).Member("p", '0', []).Build();
        var p = ReadAll(pax)[0].Header;
        Assert.Equal((4_000_000_000L, 4_000_000_001L), (p.Uid, p.Gid));
        Assert.Equal(new UnixTime(1234567890, 500_000_000), p.ModificationTime);
        Assert.Equal(new UnixTime(-2, 750_000_000), p.AccessTime);
    }

    /// <summary>The reason for an own reader: xattr values are bytes (security.capability is binary).</summary>
    [Fact]
    public void Binary_xattr_values_survive_byte_for_byte()
    {
        byte[] capability = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, (byte)'\n', 0xff, 0xfe, 0x00];
        var archive = new RawTar()
            .Pax('x', ("SCHILY.xattr.security.capability", capability), ("SCHILY.xattr.user.text", "héllo"u8.ToArray()),
                ("LIBARCHIVE.xattr.user.with%20space", Encoding.ASCII.GetBytes(Convert.ToBase64String([1, 2, 3]))))
            .Member("bin/ping", '0', [0x7f])
            .Member("plain", '0', [])
            .Build();
        var entries = ReadAll(archive);
        var x = entries[0].Header.Xattrs;
        Assert.Equal(capability, x["security.capability"]);
        Assert.Equal("héllo"u8.ToArray(), x["user.text"]);
        Assert.Equal([1, 2, 3], x["user.with space"]);
        Assert.Empty(entries[1].Header.Xattrs); // a member's PAX header applies to it alone
    }

    [Fact]
    public void Global_pax_headers_apply_to_all_following_members_and_member_headers_win()
    {
        var archive = new RawTar()
            .Pax('g', ("uid", "77"u8.ToArray()), ("SCHILY.xattr.user.all", "g"u8.ToArray()))
            .Member("a", '0', [])
            .Pax('x', ("uid", "88"u8.ToArray()))
            .Member("b", '0', [])
            .Build();
        var entries = ReadAll(archive);
        Assert.Equal((77L, 88L), (entries[0].Header.Uid, entries[1].Header.Uid));
        Assert.Equal("g"u8.ToArray(), entries[1].Header.Xattrs["user.all"]);
    }

    [Fact]
    public void Ustar_prefix_old_style_directories_and_unread_data_are_handled()
    {
        var archive = new RawTar()
            .Member("name", '0', Encoding.ASCII.GetBytes(new string('q', 700)), patch: h => RawTar.Put(h, 345, 155, "some/prefix"))
            .Member("olddir/", '0', [])
            .Member("after", '\0', "x"u8.ToArray())
            .Build();
        var entries = ReadAll(archive, readData: false);
        Assert.Equal("some/prefix/name", entries[0].Header.Name);
        Assert.Equal(BerthType.Directory, entries[1].Header.Type);
        Assert.Equal(("after", BerthType.Regular), (entries[2].Header.Name, entries[2].Header.Type));
    }

    [Fact]
    public void A_stream_ending_without_zero_blocks_ends_the_archive()
    {
        var archive = new RawTar().Member("only", '0', "1"u8.ToArray()).Build(endBlocks: false);
        Assert.Single(ReadAll(archive));
    }

    [Fact]
    public void A_bad_checksum_names_the_archive_and_the_offset()
    {
        var archive = new RawTar().Member("ok", '0', new byte[600]).Member("broken", '0', []).Build();
        archive[1536 + 10] ^= 0x20; // second header, inside the name
        var e = Assert.Throws<ImageException>(() => ReadAll(archive));
        Assert.Contains("test.tar", e.Message);
        Assert.Contains("offset 1536", e.Message);
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void Truncated_data_is_an_error_naming_the_member()
    {
        var archive = new RawTar().Member("cut", '0', new byte[5000]).Build(endBlocks: false)[..2000];
        var e = Assert.Throws<ImageException>(() => ReadAll(archive));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("\"cut\"", e.Message);
    }

    [Theory]
    [InlineData('S', "sparse")]
    [InlineData('M', "multi-volume")]
    [InlineData('Z', "unknown member type 'Z'")]
    public void Unsupported_member_types_are_refused(char type, string message)
    {
        var archive = new RawTar().Member("x", type, []).Build();
        Assert.Contains(message, Assert.Throws<ImageException>(() => ReadAll(archive)).Message);
    }

    [Fact]
    public void Pax_sparse_is_refused_and_malformed_records_are_named()
    {
        var sparse = new RawTar().Pax('x', ("GNU.sparse.major", "1"u8.ToArray())).Member("s", '0', []).Build();
        Assert.Contains("sparse", Assert.Throws<ImageException>(() => ReadAll(sparse)).Message);

        var bad = new RawTar().Member("PaxHeaders/x", 'x', "99 path=x\n"u8.ToArray()).Member("y", '0', []).Build();
        Assert.Contains("malformed PAX record", Assert.Throws<ImageException>(() => ReadAll(bad)).Message);
    }
}
