using System.Globalization;
using System.Text.Json;
using Berth.Init.Api;
using Berth.Init.Stage2;

namespace Berth.Init.Cli;

/// <summary>
/// `berth ps|start|stop|restart|logs|boot|os`: the operator's commands. Tables for people,
/// --json for scripts. Exit codes: 0 done, 1 PID 1 refused or failed it, 2 usage, 3 PID 1 unreachable.
/// </summary>
public static class ServiceCli
{
    public static readonly string[] Commands = ["ps", "top", "start", "stop", "restart", "logs", "boot", "os"];

    public const string Usage = """
          ps [--json]                  services: state, pid, uptime, restarts, health
          top [--json]                 CPU and memory per service (from its cgroup)
          start|stop|restart SERVICE
          logs [-f] [-n N] SERVICE     a service's output (/var/log/berth/SERVICE.log)
          boot timeline [--json]       every boot step and service: start and duration
          os version|reboot|poweroff   (and os upgrade|status|rollback)
        """;

    public static int Run(string[] args)
    {
        try
        {
            return args[0] switch
            {
                "ps" => Ps(args[1..]),
                "top" => Top(args[1..]),
                "start" or "stop" or "restart" => Control(args[0], args[1..]),
                "logs" => Logs(args[1..]),
                "boot" => Boot(args[1..]),
                "os" => Os(args[1..]),
                _ => UsageError($"unknown command '{args[0]}'"),
            };
        }
        catch (Exception e) when (e is ApiUnavailableException or IOException)
        {
            Console.Error.WriteLine($"berth: {e.Message}");
            return 3;
        }
    }

    private static int UsageError(string message)
    {
        Console.Error.WriteLine($"berth: {message}");
        Console.Error.WriteLine("usage: berth COMMAND\n" + Usage);
        return 2;
    }

    private static int Failed(ApiResponse r)
    {
        Console.Error.WriteLine($"berth: {r.Error}");
        return 1;
    }

    private static int Ps(string[] args)
    {
        bool json = args.Contains("--json");
        if (args.Any(a => a != "--json")) return UsageError($"ps: unknown argument '{args.First(a => a != "--json")}'");
        var r = ApiClient.Call(new ApiRequest("ps"));
        if (!r.Ok) return Failed(r);
        var services = r.Services ?? [];
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(r, ApiJson.Default.ApiResponse));
            return 0;
        }
        Console.WriteLine($"{"SERVICE",-12} {"KIND",-10} {"STATE",-11} {"PID",7} {"UPTIME",9} {"RESTARTS",8}  HEALTH");
        foreach (var s in services)
            Console.WriteLine($"{s.Name,-12} {s.Kind,-10} {s.State,-11} {(s.Pid == 0 ? "-" : s.Pid.ToString(CultureInfo.InvariantCulture)),7} " +
                              $"{Uptime(s.UptimeSeconds),9} {s.Restarts,8}  {s.Health}");
        return 0;
    }

    private static int Top(string[] args)
    {
        bool json = args.Contains("--json");
        var first = ApiClient.Call(new ApiRequest("top"));
        if (!first.Ok) return Failed(first);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(first, ApiJson.Default.ApiResponse));
            return 0;
        }
        // CPU% over one second, as top does between two samples.
        Thread.Sleep(1000);
        var second = ApiClient.Call(new ApiRequest("top"));
        if (!second.Ok) return Failed(second);
        var before = (first.Usage ?? []).ToDictionary(u => u.Name);
        Console.WriteLine($"{"SERVICE",-12} {"CPU%",6} {"MEMORY",10} {"PROCS",5}  SOURCE");
        foreach (var u in second.Usage ?? [])
        {
            double cpu = before.TryGetValue(u.Name, out var b) ? Math.Max(0, u.CpuMicroseconds - b.CpuMicroseconds) / 10_000.0 : 0;
            Console.WriteLine($"{u.Name,-12} {cpu,6:0.0} {Bytes(u.MemoryBytes),10} {u.Processes,5}  {u.Source}");
        }
        return 0;
    }

    private static string Bytes(long n) => n <= 0 ? "-" : n < 1 << 20 ? $"{n / 1024.0:0.0}K" : $"{n / 1048576.0:0.0}M";

    private static string Uptime(double seconds) => seconds <= 0 ? "-" :
        seconds < 120 ? $"{seconds:0}s" : seconds < 7200 ? $"{seconds / 60:0}m" : $"{seconds / 3600:0.0}h";

    private static int Control(string command, string[] args)
    {
        if (args.Length != 1) return UsageError($"{command}: name one service");
        var r = ApiClient.Call(new ApiRequest(command, args[0]));
        if (!r.Ok) return Failed(r);
        Console.WriteLine(r.Message);
        return 0;
    }

    private static int Logs(string[] args)
    {
        bool follow = false;
        int lines = 50;
        string? name = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-f" or "--follow": follow = true; break;
                case "-n" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out lines): i++; break;
                case var a when a.StartsWith('-'): return UsageError($"logs: unknown option '{a}'");
                case var a: name = a; break;
            }
        }
        if (name is null) return UsageError("logs: name a service");
        string path = Path.Combine(ServiceLog.Directory, name + ".log");
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"berth: no log for \"{name}\" at {path} (berth ps lists the services)");
            return 1;
        }
        foreach (var line in File.ReadLines(path).TakeLast(lines)) Console.WriteLine(line);
        if (!follow) return 0;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(0, SeekOrigin.End);
        using var reader = new StreamReader(stream);
        while (true)
        {
            string? line = reader.ReadLine();
            if (line is null) Thread.Sleep(200);
            else Console.WriteLine(line);
        }
    }

    private static int Boot(string[] args)
    {
        if (args.Length == 0 || args[0] != "timeline") return UsageError("boot: the only subcommand is 'timeline'");
        if (!File.Exists(BootTimeline.JsonPath))
        {
            Console.Error.WriteLine($"berth: {BootTimeline.JsonPath} does not exist (not booted by Berth, or not ready yet)");
            return 1;
        }
        string json = File.ReadAllText(BootTimeline.JsonPath);
        if (args.Contains("--json"))
        {
            Console.WriteLine(json);
            return 0;
        }
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Console.WriteLine($"{"STEP",-28} {"START ms",10} {"TOOK ms",9}");
        if (root.TryGetProperty("steps", out var steps))
            foreach (var s in steps.EnumerateArray())
                Console.WriteLine($"{s.GetProperty("name").GetString(),-28} {s.GetProperty("start_ms").GetDouble(),10:0.0} {s.GetProperty("duration_ms").GetDouble(),9:0.0}");
        var services = root.TryGetProperty("service_starts", out var list)
            ? list.EnumerateArray().Select(s => (Name: s.GetProperty("name").GetString()!, Start: s.GetProperty("start_ms").GetDouble(),
                Ready: s.GetProperty("ready_ms").GetDouble(), After: s.GetProperty("after").EnumerateArray().Select(a => a.GetString()!).ToList())).ToList()
            : [];
        if (services.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine($"{"SERVICE",-28} {"START ms",10} {"TOOK ms",9}  AFTER");
            foreach (var s in services)
                Console.WriteLine($"{s.Name,-28} {s.Start,10:0.0} {(s.Ready < 0 ? "-" : (s.Ready - s.Start).ToString("0.0", CultureInfo.InvariantCulture)),9}  {string.Join(",", s.After)}");
            // The critical chain, as systemd-analyze has it: the service that was ready last, then
            // whichever of its dependencies was ready last, and so on down.
            var byName = services.ToDictionary(s => s.Name);
            var chain = new List<string>();
            var current = services.Where(s => s.Ready >= 0).OrderByDescending(s => s.Ready).FirstOrDefault();
            while (current.Name is not null && chain.Count < services.Count)
            {
                chain.Add($"{current.Name} @{current.Start:0.0}ms +{current.Ready - current.Start:0.0}ms");
                current = current.After.Where(byName.ContainsKey).Select(a => byName[a]).OrderByDescending(a => a.Ready).FirstOrDefault();
            }
            if (root.TryGetProperty("ready_uptime_ms", out var ready))
                Console.WriteLine($"\ncritical chain: ready @{ready.GetDouble():0.0}ms" + string.Concat(chain.Select(c => " <- " + c)));
        }
        return 0;
    }

    private static int Os(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "version":
                Console.WriteLine(BerthVersion.Current);
                return 0;
            case "reboot" or "poweroff" or "halt":
                var r = ApiClient.Call(new ApiRequest(args[0]));
                if (!r.Ok) return Failed(r);
                Console.WriteLine(r.Message);
                return 0;
            default:
                // upgrade, status, rollback: the A/B upgrade commands.
                return Upgrade.OsCommand.Run(args);
        }
    }
}
