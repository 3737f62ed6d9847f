using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker;
using Microsoft.Extensions.Logging;

namespace Lockstep.Cli;

/// <summary>
/// <c>lockstep broker</c>: runs a <see cref="KafkaBroker"/> in the foreground until Ctrl-C or SIGTERM.
/// </summary>
/// <remarks>
/// <para><b>Settings</b> use Kafka's names (<see cref="BrokerConfig"/>): first the <c>--config</c> file, then each
/// <c>--set key=value</c> in order, later values winning, as Kafka's <c>--override</c> does over
/// server.properties (kafka.Kafka's command line).</para>
/// <para><b>Output contract</b> (parents such as Lockstep.Interop.Tests rely on it): once the listener is bound,
/// exactly one line <c>listening on HOST:PORT</c> is written to stdout, where PORT is the bound port (so
/// <c>--listen 127.0.0.1:0</c> works) and HOST:PORT is what clients should use as <c>bootstrap.servers</c>.
/// Logs go to stderr. Exit codes are <see cref="ExitCodes"/>: 0 after a clean shutdown, 2 for bad options or
/// settings (one line on stderr), 1 for other start-up failures.</para>
/// </remarks>
internal static class BrokerCommand
{
    /// <summary>The stdout line announcing readiness; everything after the prefix is <c>HOST:PORT</c>.</summary>
    public const string ListeningPrefix = "listening on ";

    public static Command Create()
    {
        var dataDir = new Option<string>("--data-dir")
        {
            Description = "Directory holding the partitions, offsets and coordinator state.",
            HelpName = "DIR",
            DefaultValueFactory = _ => "./lockstep-data",
        };
        var listen = new Option<string>("--listen")
        {
            Description = "HOST:PORT to listen on; port 0 picks a free port (the chosen one is printed).",
            HelpName = "HOST:PORT",
            DefaultValueFactory = _ => "127.0.0.1:9092",
        };
        var advertisedHost = new Option<string?>("--advertised-host")
        {
            Description = "Host name given to clients in Metadata (default: the listen host, or 127.0.0.1 when "
                + "listening on all addresses).",
            HelpName = "HOST",
        };
        var config = new Option<FileInfo?>("--config")
        {
            Description = "Broker settings file in Kafka's server.properties format (key=value lines, # comments).",
            HelpName = "FILE",
        };
        var set = new Option<string[]>("--set")
        {
            Description = "Broker setting by Kafka name, e.g. --set num.partitions=3; repeatable; overrides --config.",
            HelpName = "KEY=VALUE",
            Arity = ArgumentArity.OneOrMore,
        };
        var logLevel = new Option<LogLevel>("--log-level")
        {
            Description = "Minimum level of the log lines written to stderr.",
            DefaultValueFactory = _ => LogLevel.Information,
        };
        var helpSettings = new Option<bool>("--help-settings")
        {
            Description = "List every broker setting with its default and exit.",
        };

        var command = new Command("broker", "Run the embedded Kafka-compatible broker until Ctrl-C or SIGTERM.")
        {
            dataDir, listen, advertisedHost, config, set, logLevel, helpSettings,
        };
        command.SetAction((parseResult, _) =>
        {
            if (parseResult.GetValue(helpSettings))
            {
                return PrintSettingsAsync();
            }

            var invocation = new Invocation(
                parseResult.GetValue(dataDir)!,
                parseResult.GetValue(listen)!,
                parseResult.GetValue(advertisedHost),
                parseResult.GetValue(config),
                parseResult.GetValue(set) ?? [],
                parseResult.GetValue(logLevel));
            return RunAsync(invocation);
        });
        return command;
    }

    private sealed record Invocation(
        string DataDirectory, string Listen, string? AdvertisedHost, FileInfo? ConfigFile, string[] Sets,
        LogLevel LogLevel);

    private static async Task<int> PrintSettingsAsync()
    {
        // name=default lines can be pasted into a --config file as they are.
        foreach (var (name, defaultValue, about) in BrokerConfig.Describe())
        {
            await Console.Out.WriteLineAsync($"{name}={defaultValue}").ConfigureAwait(false);
            await Console.Out.WriteLineAsync($"    {about}").ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> RunAsync(Invocation invocation)
    {
        BrokerOptions options;
        try
        {
            options = BuildOptions(invocation);
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            return await FailAsync(ExitCodes.Usage, e.Message).ConfigureAwait(false);
        }

        using var loggerFactory = ConsoleLogging.Create(invocation.LogLevel);
        options.LoggerFactory = loggerFactory;

        // Register the signal handlers before starting, so a SIGTERM that arrives during recovery still leads to an
        // orderly shutdown once the broker is up rather than killing it mid-recovery.
        using var shutdown = new ShutdownSignal();
        KafkaBroker broker;
        try
        {
            broker = await KafkaBroker.StartAsync(options).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            // BrokerConfig and the listen-address parser report invalid settings this way, naming the setting.
            return await FailAsync(ExitCodes.Usage, e.Message).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            return await FailAsync(ExitCodes.Failure, $"cannot listen on {invocation.Listen}: {e.Message}")
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return await FailAsync(ExitCodes.Failure, $"cannot open data directory {invocation.DataDirectory}: {e.Message}")
                .ConfigureAwait(false);
        }

        try
        {
            await Console.Out.WriteLineAsync(ListeningPrefix + broker.BootstrapServers).ConfigureAwait(false);
            await Console.Out.FlushAsync().ConfigureAwait(false);
            await shutdown.Task.ConfigureAwait(false);
        }
        finally
        {
            // DisposeAsync stops accepting, closes every session and flushes and closes the logs: a clean stop
            // needs no recovery work on the next start.
            await broker.DisposeAsync().ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }

    private static BrokerOptions BuildOptions(Invocation invocation)
    {
        var options = new BrokerOptions
        {
            DataDirectory = invocation.DataDirectory,
            Listen = invocation.Listen,
            AdvertisedHost = invocation.AdvertisedHost,
        };
        if (invocation.ConfigFile is { } file)
        {
            if (!file.Exists)
            {
                throw new FileNotFoundException($"config file {file.FullName} does not exist.");
            }

            foreach (var (key, value) in ServerProperties.Load(file.FullName))
            {
                options.Settings[key] = value;
            }
        }

        foreach (var assignment in invocation.Sets)
        {
            var equals = assignment.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"--set expects KEY=VALUE, got '{assignment}'.");
            }

            options.Settings[assignment[..equals].Trim()] = assignment[(equals + 1)..].Trim();
        }

        // Validate now, before the data directory is created, so a typo costs nothing; StartAsync parses again.
        _ = BrokerConfig.Parse(options.Settings.AsReadOnly());
        return options;
    }

    private static async Task<int> FailAsync(int exitCode, string message)
    {
        await Console.Error.WriteLineAsync("lockstep broker: " + message).ConfigureAwait(false);
        return exitCode;
    }

    /// <summary>
    /// Completes on the first SIGINT (Ctrl-C) or SIGTERM and cancels that signal's default termination, so the
    /// broker can flush and close its logs. Later signals are not intercepted: a second Ctrl-C during a slow
    /// shutdown terminates the process immediately (safe: the log is recovered on the next start).
    /// </summary>
    private sealed class ShutdownSignal : IDisposable
    {
        private readonly TaskCompletionSource _signalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<PosixSignalRegistration> _registrations;
        private int _fired;

        public ShutdownSignal()
        {
            _registrations =
            [
                PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
                PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            ];
        }

        public Task Task => _signalled.Task;

        private void OnSignal(PosixSignalContext context)
        {
            if (Interlocked.Exchange(ref _fired, 1) != 0)
            {
                return; // Not cancelled: the runtime's default handling terminates the process.
            }

            context.Cancel = true;
            _signalled.TrySetResult();
        }

        public void Dispose()
        {
            foreach (var registration in _registrations)
            {
                registration.Dispose();
            }
        }
    }
}
