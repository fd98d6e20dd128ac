using System.Text;

namespace Berth.SystemServices.Syslog;

/// <summary>RFC 5424 STRUCTURED-DATA: one or more <c>[SD-ID PARAM="VALUE" ...]</c>, values with \" \\ \] escapes.</summary>
public static class StructuredDataParser
{
    public static bool TryParse(string s, ref int pos, List<StructuredDataElement> into)
    {
        int p = pos;
        if (p >= s.Length || s[p] != '[') return false;
        var parsed = new List<StructuredDataElement>();
        while (p < s.Length && s[p] == '[')
        {
            p++;
            if (!TryName(s, ref p, out string id)) return false;
            var parameters = new List<KeyValuePair<string, string>>();
            while (p < s.Length && s[p] == ' ')
            {
                p++;
                if (!TryName(s, ref p, out string name) || p + 1 >= s.Length || s[p] != '=' || s[p + 1] != '"') return false;
                p += 2;
                var value = new StringBuilder();
                while (true)
                {
                    if (p >= s.Length) return false;
                    char c = s[p++];
                    if (c == '"') break;
                    if (c == '\\' && p < s.Length && s[p] is '"' or '\\' or ']') c = s[p++];
                    value.Append(c);
                }
                parameters.Add(new(name, value.ToString()));
            }
            if (p >= s.Length || s[p] != ']') return false;
            p++;
            parsed.Add(new StructuredDataElement(id, parameters));
        }
        into.AddRange(parsed);
        pos = p;
        return true;
    }

    /// <summary>SD-NAME: 1 to 32 printable ASCII characters except '=', ' ', ']' and '"'.</summary>
    private static bool TryName(string s, ref int p, out string name)
    {
        int start = p;
        while (p < s.Length && s[p] > ' ' && s[p] < 127 && s[p] is not ('=' or ']' or '"')) p++;
        name = s[start..p];
        return name.Length is > 0 and <= 64; // 32 in the RFC; id@enterprise may be longer in practice
    }

    public static void Format(IReadOnlyList<StructuredDataElement> elements, StringBuilder into)
    {
        foreach (var e in elements)
        {
            into.Append('[').Append(e.Id);
            foreach (var (name, value) in e.Parameters)
            {
                into.Append(' ').Append(name).Append("=\"");
                foreach (char c in value)
                {
                    if (c is '"' or '\\' or ']') into.Append('\\');
                    into.Append(c);
                }
                into.Append('"');
            }
            into.Append(']');
        }
    }
}
