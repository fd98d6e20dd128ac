namespace Berth.Runtime.Kernel;

/// <summary>fnmatch(3) without flags: '*', '?' and bracket expressions, as modules.alias uses them.</summary>
public static class Glob
{
    public static bool Match(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0, t = 0, starP = -1, starT = -1;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                starP = ++p;
                starT = t;
                continue;
            }
            if (p < pattern.Length && MatchOne(pattern, ref p, text[t]))
            {
                t++;
                continue;
            }
            if (starP < 0) return false;
            p = starP;
            t = ++starT;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    /// <summary>Matches one character at pattern[p]; advances p past the token on success.</summary>
    private static bool MatchOne(ReadOnlySpan<char> pattern, ref int p, char c)
    {
        char pc = pattern[p];
        if (pc == '?') { p++; return true; }
        if (pc == '[')
        {
            int i = p + 1;
            bool negate = i < pattern.Length && (pattern[i] == '!' || pattern[i] == '^');
            if (negate) i++;
            bool matched = false;
            bool first = true;
            while (i < pattern.Length && (pattern[i] != ']' || first))
            {
                first = false;
                char lo = pattern[i];
                if (i + 2 < pattern.Length && pattern[i + 1] == '-' && pattern[i + 2] != ']')
                {
                    if (c >= lo && c <= pattern[i + 2]) matched = true;
                    i += 3;
                }
                else
                {
                    if (c == lo) matched = true;
                    i++;
                }
            }
            if (i >= pattern.Length) return pc == c && Advance(ref p); // unterminated: literal '['
            if (matched == negate) return false;
            p = i + 1;
            return true;
        }
        if (pc == '\\' && p + 1 < pattern.Length) { if (pattern[p + 1] != c) return false; p += 2; return true; }
        if (pc != c) return false;
        p++;
        return true;
    }

    private static bool Advance(ref int p) { p++; return true; }
}
