namespace Berth.SystemServices;

/// <summary>
/// A service's own diagnostics go to stderr, one line each, prefixed with its name: the supervisor
/// pipes stderr into syslog, and syslogd itself cannot log through /dev/log.
/// </summary>
public static class ServiceLog
{
    private static string _name = "berth";

    public static void Init(string name) => _name = name;

    public static void Info(string message) => Write(message);

    public static void Warn(string message) => Write("warning: " + message);

    public static void Error(string message) => Write("error: " + message);

    private static void Write(string message)
    {
        try { System.Console.Error.WriteLine($"{_name}: {message}"); }
        catch (IOException) { } // stderr gone (supervisor restarted): nothing useful left to do
    }
}
