namespace Berth.Init.Upgrade;

/// <summary>One slot's boot-counting variables: committed (OK) and trial boots left (TRIES).</summary>
public readonly record struct SlotFlags(bool Ok, int Tries)
{
    public bool Bootable => Ok || Tries > 0;
    public bool OnTrial => !Ok;
}

/// <summary>
/// The A/B variables of grubenv, read the way grub.cfg reads them: ORDER is walked as
/// <c>$ORDER A B</c> (so a slot missing from ORDER, or a torn ORDER such as "B B", still ends up
/// in it), OK is "1" or not, TRIES is a digit 0..3 or 0.
/// </summary>
public sealed record AbState(IReadOnlyList<char> Order, SlotFlags A, SlotFlags B)
{
    public const int MaxTries = 3;

    public static readonly char[] Slots = ['A', 'B'];

    public SlotFlags this[char slot] => slot switch
    {
        'A' => A,
        'B' => B,
        _ => throw new ArgumentOutOfRangeException(nameof(slot), $"slot {slot} is not A or B"),
    };

    public static char Other(char slot) => slot == 'A' ? 'B' : 'A';

    public static AbState From(GrubEnvironment env)
    {
        var order = new List<char>();
        foreach (var word in ((env.Get("ORDER") ?? "") + " A B").Split(' ', StringSplitOptions.RemoveEmptyEntries))
            if (word is "A" or "B" && !order.Contains(word[0])) order.Add(word[0]);
        return new AbState(order, Flags(env, 'A'), Flags(env, 'B'));
    }

    private static SlotFlags Flags(GrubEnvironment env, char slot)
    {
        bool ok = env.Get($"{slot}_OK") == "1";
        int tries = env.Get($"{slot}_TRIES") is { Length: 1 } t && t[0] is >= '1' and <= '3' ? t[0] - '0' : 0;
        return new SlotFlags(ok, tries);
    }

    /// <summary>The slot GRUB will boot next, mirroring grub.cfg (first bootable in ORDER, else a committed one, else A).</summary>
    public char NextBoot()
    {
        foreach (var s in Order) if (this[s].Bootable) return s;
        foreach (var s in Slots) if (this[s].Ok) return s;
        return 'A';
    }

    /// <summary>Writes these flags and this order into <paramref name="env"/>, keeping its layout.</summary>
    public static void Apply(GrubEnvironment env, char slot, SlotFlags flags)
    {
        env.Set($"{slot}_OK", flags.Ok ? "1" : "0");
        env.Set($"{slot}_TRIES", flags.Tries.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public static void ApplyOrder(GrubEnvironment env, char first) => env.Set("ORDER", $"{first} {Other(first)}");

    public string Describe() =>
        $"ORDER={string.Join(' ', Order)} A_OK={(A.Ok ? 1 : 0)} A_TRIES={A.Tries} B_OK={(B.Ok ? 1 : 0)} B_TRIES={B.Tries}";
}
