using System.Globalization;
using System.Text;
using System.Text.Json;
using Berth.Init;
using Xunit;

namespace Berth.Tests.Unit;

public class BootTimelineTests
{
    /// <summary>
    /// de-DE when the runtime has ICU; the repository builds with InvariantGlobalization, so otherwise
    /// an invariant clone with the German separators (',' decimal, '.' group).
    /// </summary>
    internal static CultureInfo CommaCulture()
    {
        CultureInfo culture;
        try { culture = (CultureInfo)new CultureInfo("de-DE").Clone(); }
        catch (CultureNotFoundException) { culture = (CultureInfo)CultureInfo.InvariantCulture.Clone(); }
        culture.NumberFormat.NumberDecimalSeparator = ",";
        culture.NumberFormat.NumberGroupSeparator = ".";
        return culture;
    }

    internal static T UnderCulture<T>(CultureInfo culture, Func<T> f)
    {
        var saved = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = culture;
        try
        {
            Assert.Equal("1,5", 1.5.ToString()); // the culture really is in effect
            return f();
        }
        finally { CultureInfo.CurrentCulture = saved; }
    }

    private static BootTimeline Sample()
    {
        var t = new BootTimeline(stage: 1);
        t.Record("kernel", 0, 812.45678);
        t.Record("mount-pseudo", 812.5, 1.25);
        t.Record("load-modules", 813.75, 40.0004);
        return t;
    }

    private const string SampleHandoff =
        "1\tkernel\t0.000\t812.457\n1\tmount-pseudo\t812.500\t1.250\n1\tload-modules\t813.750\t40.000\n";

    [Fact]
    public void Handoff_text_is_one_tab_separated_line_per_step_with_three_decimals()
    {
        Assert.Equal(SampleHandoff, Sample().ToHandoffText());
    }

    [Fact]
    public void Handoff_text_uses_a_decimal_point_under_a_comma_culture()
    {
        Assert.Equal(SampleHandoff, UnderCulture(CommaCulture(), () => Sample().ToHandoffText()));
    }

    [Fact]
    public void Handoff_round_trips_under_a_comma_culture()
    {
        var parsed = UnderCulture(CommaCulture(), () => BootTimeline.ParseHandoff(Sample().ToHandoffText()).ToList());
        Assert.Equal(
            [
                new TimelineStep(1, "kernel", 0, 812.457),
                new TimelineStep(1, "mount-pseudo", 812.5, 1.25),
                new TimelineStep(1, "load-modules", 813.75, 40.0),
            ],
            parsed);
    }

    [Fact]
    public void ParseHandoff_skips_malformed_lines()
    {
        var text = "garbage\n1\tok\t1.5\t2.25\n1\tthree\tfields\n1\tbad\tx\t1\nx\tbadstage\t1\t1\n2\tlast\t3\t4";
        Assert.Equal(
            [new TimelineStep(1, "ok", 1.5, 2.25), new TimelineStep(2, "last", 3, 4)],
            BootTimeline.ParseHandoff(text).ToList());
        Assert.Empty(BootTimeline.ParseHandoff(""));
    }

    [Fact]
    public void Parsed_steps_added_to_stage_two_keep_their_stage()
    {
        var t2 = new BootTimeline(stage: 2);
        foreach (var s in BootTimeline.ParseHandoff(SampleHandoff)) t2.Add(s);
        t2.Record("cgroups", 900, 2);
        Assert.Equal([1, 1, 1, 2], t2.Steps.Select(s => s.Stage));
    }

    [Fact]
    public void Json_has_ready_time_service_count_and_steps_sorted_by_start_with_rounded_numbers()
    {
        var t = new BootTimeline(stage: 2);
        t.Add(new TimelineStep(1, "kernel", 0, 812.45678));
        t.Record("start-services", 2000.123456, 3.33333);
        t.Add(new TimelineStep(1, "mount-root", 900.0004, 12.5));
        t.Record("cgroups", 1500.9999, 0.0001);

        byte[] json = UnderCulture(CommaCulture(), () => t.ToJson(2345.678912, services: 3));
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal(["ready_uptime_ms", "services", "steps", "service_starts"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(2345.679, root.GetProperty("ready_uptime_ms").GetDouble());
        Assert.Equal(3, root.GetProperty("services").GetInt32());

        var steps = root.GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal(["kernel", "mount-root", "cgroups", "start-services"], steps.Select(s => s.GetProperty("name").GetString()));
        Assert.Equal([1, 1, 2, 2], steps.Select(s => s.GetProperty("stage").GetInt32()));
        Assert.Equal([0, 900, 1501, 2000.123], steps.Select(s => s.GetProperty("start_ms").GetDouble()));
        Assert.Equal([812.457, 12.5, 0, 3.333], steps.Select(s => s.GetProperty("duration_ms").GetDouble()));
        foreach (var s in steps)
            Assert.Equal(["stage", "name", "start_ms", "duration_ms"], s.EnumerateObject().Select(p => p.Name));

        string text = Encoding.UTF8.GetString(json);
        Assert.Contains("2345.679", text);
        Assert.DoesNotContain("2345.6789", text);
        Assert.DoesNotContain("2345,", text);
    }

    [Fact]
    public void Json_of_an_empty_timeline_has_an_empty_step_list()
    {
        using var doc = JsonDocument.Parse(new BootTimeline(2).ToJson(10, 0));
        Assert.Equal(0, doc.RootElement.GetProperty("steps").GetArrayLength());
        Assert.Equal(10, doc.RootElement.GetProperty("ready_uptime_ms").GetDouble());
    }

    [Fact]
    public void Step_records_its_duration_and_returns_the_value()
    {
        var t = new BootTimeline(stage: 2);
        double before = BootTimeline.NowMs;
        int v = t.Step("sleep", () => { Thread.Sleep(60); return 42; });
        double after = BootTimeline.NowMs;
        Assert.Equal(42, v);
        var s = Assert.Single(t.Steps);
        Assert.Equal((2, "sleep"), (s.Stage, s.Name));
        Assert.InRange(s.StartMs, before, after);
        Assert.InRange(s.DurationMs, 59, after - before);
    }

    [Fact]
    public void Step_that_throws_is_still_recorded_and_the_exception_propagates()
    {
        var t = new BootTimeline(stage: 1);
        var e = Assert.Throws<InvalidOperationException>(() => t.Step("boom", () => throw new InvalidOperationException("x")));
        Assert.Equal("x", e.Message);
        Assert.Equal("boom", Assert.Single(t.Steps).Name);
    }
}
