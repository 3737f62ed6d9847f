using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Lockstep.Cli;

/// <summary>
/// The CLI's logging: Microsoft.Extensions.Logging's simple console formatter, one line per event, all of it on
/// <b>stderr</b>. Stdout is reserved for machine-readable lines (the single <c>listening on HOST:PORT</c>), so a
/// parent process can read stdout without filtering log noise.
/// </summary>
internal static class ConsoleLogging
{
    public static ILoggerFactory Create(LogLevel minimumLevel) =>
        LoggerFactory.Create(builder => builder
            .SetMinimumLevel(minimumLevel)
            .AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.TimestampFormat = "HH:mm:ss.fff ";
                options.UseUtcTimestamp = true;
                options.ColorBehavior = LoggerColorBehavior.Disabled;
            })
            .AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace));
}
