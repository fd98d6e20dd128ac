namespace Berth.SystemServices.Syslog;

/// <summary>The <c>syslogd</c> entry point.</summary>
public static class SyslogdEntry
{
    public static int Run(string[] args) =>
        ServiceEntry.Run("syslogd", args, SyslogdOptions.Usage, SyslogdOptions.FromArguments, (o, shutdown) => new SyslogDaemon(o).Run(shutdown));
}
