using System.Buffers;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Berth.Init.CloudConfig;

/// <summary>Raised for the first problem that makes a source unreadable; carries its position.</summary>
public sealed class ConfigSyntaxException(SourcePosition position, string message) : Exception(message)
{
    public SourcePosition Position { get; } = position;
    public ConfigDiagnostic ToDiagnostic() => new(Severity.Error, Position, Message);
}

/// <summary>
/// Turns bytes into a <see cref="ConfigNode"/> tree with YamlDotNet's event parser (AOT-safe, no
/// reflection), building the tree without recursion and checking the limits as it goes: size,
/// UTF-8, nesting depth, alias expansion, duplicate keys, one document.
/// </summary>
public static class YamlTreeReader
{
    public static ConfigNode? Read(ReadOnlySpan<byte> bytes, string file, ConfigLimits? limits = null)
        => Read(Decode(bytes, file, limits ?? ConfigLimits.Default), file, limits);

    /// <summary>Strict UTF-8 decoding (a BOM is dropped); a bad byte is named by offset, line and column.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string file, ConfigLimits? limits = null)
    {
        limits ??= ConfigLimits.Default;
        if (bytes.Length > limits.MaxBytes)
            throw new ConfigSyntaxException(new(file, 1, 1), $"file is {bytes.Length} bytes, more than the limit of {limits.MaxBytes}");
        if (bytes.StartsWith("\xEF\xBB\xBF"u8)) bytes = bytes[3..];
        var chars = new char[bytes.Length];
        var status = System.Text.Unicode.Utf8.ToUtf16(bytes, chars, out int read, out int written, replaceInvalidSequences: false);
        if (status != OperationStatus.Done)
        {
            var (line, column) = LineAndColumn(bytes[..read]);
            throw new ConfigSyntaxException(new(file, line, column), $"invalid UTF-8 at byte offset {read}");
        }
        return new string(chars, 0, written);
    }

    private static (int Line, int Column) LineAndColumn(ReadOnlySpan<byte> before)
    {
        int line = 1 + before.Count((byte)'\n');
        int lastNl = before.LastIndexOf((byte)'\n');
        var tail = before[(lastNl + 1)..];
        return (line, 1 + Encoding.UTF8.GetCharCount(tail));
    }

    private sealed class Frame(NodeEvent start, bool mapping, int depth)
    {
        public readonly NodeEvent Start = start;
        public readonly bool Mapping = mapping;
        public readonly int Depth = depth;
        public readonly List<ConfigNode> Items = new();
        public readonly List<KeyValuePair<ConfigScalar, ConfigNode>> Entries = new();
        public readonly Dictionary<string, SourcePosition> Keys = new(StringComparer.Ordinal);
        public ConfigScalar? PendingKey;
        public long Size = 1;
    }

    /// <summary>Parses text; returns null for an empty document.</summary>
    public static ConfigNode? Read(string text, string file, ConfigLimits? limits = null)
    {
        limits ??= ConfigLimits.Default;
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, ConfigNode>(StringComparer.Ordinal);
        var stack = new Stack<Frame>();
        ConfigNode? root = null;
        int documents = 0;
        long total = 0;
        try
        {
            while (parser.MoveNext())
            {
                var ev = parser.Current!;
                switch (ev)
                {
                    case DocumentStart:
                        if (++documents > 1)
                            throw new ConfigSyntaxException(Pos(file, ev.Start), "more than one YAML document (only one is read)");
                        break;
                    case MappingStart or SequenceStart:
                        int depth = stack.Count + 1;
                        if (depth > limits.MaxDepth)
                            throw new ConfigSyntaxException(Pos(file, ev.Start), $"nesting deeper than {limits.MaxDepth} levels");
                        stack.Push(new Frame((NodeEvent)ev, ev is MappingStart, depth));
                        break;
                    case Scalar s:
                        var scalar = new ConfigScalar(s.Value, s.Style == ScalarStyle.Plain, Pos(file, s.Start));
                        Add(scalar, s.Anchor, scalar.Position);
                        break;
                    case AnchorAlias alias:
                        if (!anchors.TryGetValue(alias.Value.Value, out var target))
                            throw new ConfigSyntaxException(Pos(file, alias.Start), $"unknown alias \"*{alias.Value.Value}\"");
                        Add(target, AnchorName.Empty, Pos(file, alias.Start));
                        break;
                    case MappingEnd or SequenceEnd:
                        var frame = stack.Pop();
                        var pos = Pos(file, frame.Start.Start);
                        ConfigNode node = frame.Mapping ? new ConfigMapping(frame.Entries, pos) : new ConfigSequence(frame.Items, pos);
                        Add(node, frame.Start.Anchor, pos, counted: true);
                        break;
                }
            }
        }
        catch (YamlException e)
        {
            throw Translate(e, text, file);
        }
        return root;

        void Add(ConfigNode node, AnchorName anchor, SourcePosition at, bool counted = false)
        {
            // A container's own nodes were counted as they were added; an alias adds its whole subtree.
            total += counted ? 1 : node.ExpandedSize;
            if (total > limits.MaxExpandedNodes)
                throw new ConfigSyntaxException(at, $"aliases expand to more than {limits.MaxExpandedNodes} nodes");
            if (!anchor.IsEmpty) anchors[anchor.Value] = node;
            if (stack.Count == 0)
            {
                root = node;
                return;
            }
            var parent = stack.Peek();
            if (!parent.Mapping)
            {
                parent.Items.Add(node);
                return;
            }
            if (parent.PendingKey is null)
            {
                if (node is not ConfigScalar key)
                    throw new ConfigSyntaxException(node.Position, "a mapping key must be a scalar, not " + node.Kind);
                if (parent.Keys.TryGetValue(key.Value, out var first))
                    throw new ConfigSyntaxException(key.Position,
                        $"duplicate key \"{key.Value}\" (first at line {first.Line}, column {first.Column})");
                parent.Keys[key.Value] = key.Position;
                parent.PendingKey = key;
                return;
            }
            parent.Entries.Add(new(parent.PendingKey, node));
            parent.PendingKey = null;
        }
    }

    private static SourcePosition Pos(string file, Mark mark) => new(file, (int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column));

    /// <summary>Drops YamlDotNet's "(Line: 1, Col: 2, Idx: 3) - (Line: 1, Col: 4, Idx: 5): " (the position is ours to print).</summary>
    private static string WithoutMarks(string message)
    {
        if (!message.StartsWith("(Line: ", StringComparison.Ordinal)) return message;
        int second = message.IndexOf(") - (Line: ", StringComparison.Ordinal);
        int end = second < 0 ? -1 : message.IndexOf("): ", second + 1, StringComparison.Ordinal);
        return end < 0 ? message : message[(end + 3)..];
    }

    private static ConfigSyntaxException Translate(YamlException e, string text, string file)
    {
        var pos = Pos(file, e.Start);
        // YamlDotNet reports a tab in indentation as some token it cannot start; name the tab.
        var lines = text.Split('\n');
        int searchTo = e.Message.Contains("tab", StringComparison.OrdinalIgnoreCase) ? lines.Length : Math.Min(pos.Line, lines.Length);
        for (int i = 0; i < searchTo; i++)
        {
            var line = lines[i];
            int indent = 0;
            while (indent < line.Length && line[indent] is ' ' or '\t') indent++;
            int tab = line.IndexOf('\t', 0, indent);
            if (tab >= 0 && indent < line.Length)
                return new ConfigSyntaxException(new(file, i + 1, tab + 1), "tab character in indentation (YAML allows only spaces)");
        }
        string message = WithoutMarks(e.Message);
        if (message.Length == 0) message = e.GetType().Name;
        return new ConfigSyntaxException(pos, "invalid YAML: " + message);
    }
}
