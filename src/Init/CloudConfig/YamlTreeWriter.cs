using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Berth.Init.CloudConfig;

/// <summary>Writes a node tree back as block-style YAML through YamlDotNet's emitter (it picks the quoting).</summary>
public static class YamlTreeWriter
{
    public static string Write(ConfigNode node, bool header = true)
    {
        var text = new StringWriter { NewLine = "\n" };
        if (header) text.Write(ConfigSourceReader.Header + "\n");
        var emitter = new Emitter(text);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart());
        Emit(emitter, node);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString();
    }

    /// <summary>One value on one line (flow style), for `berth config get` of a scalar or a short list.</summary>
    public static string WriteInline(ConfigNode node)
    {
        if (node is ConfigScalar s) return s.Value;
        var text = new StringWriter { NewLine = "\n" };
        var emitter = new Emitter(text);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart());
        Emit(emitter, node, flow: true);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString().TrimEnd('\n');
    }

    private static void Emit(IEmitter emitter, ConfigNode node, bool flow = false)
    {
        switch (node)
        {
            case ConfigScalar s:
                // Non-plain text stays quoted so "no" or "0644" keep meaning text after a round trip.
                var style = s.IsNull ? ScalarStyle.Plain : s.Plain ? ScalarStyle.Any : ScalarStyle.DoubleQuoted;
                if (!s.Plain && !s.Value.Contains('\n') && NeedsNoQuotes(s.Value)) style = ScalarStyle.Any;
                if (s.Value.Contains('\n') && !flow) style = ScalarStyle.Literal;
                emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, s.IsNull ? "" : s.Value, style, true, true));
                break;
            case ConfigSequence q:
                emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, true, flow ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var item in q.Items) Emit(emitter, item, flow);
                emitter.Emit(new SequenceEnd());
                break;
            case ConfigMapping m:
                emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, true, flow || m.Entries.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var (k, v) in m.Entries)
                {
                    Emit(emitter, k, flow);
                    Emit(emitter, v, flow);
                }
                emitter.Emit(new MappingEnd());
                break;
        }
    }

    /// <summary>Text a plain scalar keeps as text in every YAML reader: not a bool, null or number.</summary>
    private static bool NeedsNoQuotes(string v) =>
        v.Length > 0 && ConfigValues.Bool(v) is null && v is not ("~" or "null" or "Null" or "NULL")
        && !char.IsDigit(v[0]) && v[0] is not ('-' or '+' or '.');
}
