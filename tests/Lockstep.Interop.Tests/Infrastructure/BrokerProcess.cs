using System.Diagnostics;
using System.Globalization;

namespace Lockstep.Interop.Tests.Infrastructure;

/// <summary>
/// The built <c>lockstep</c> CLI running <c>lockstep broker</c> as a child process, for tests that need what an
/// in-process broker cannot give: a SIGKILL (crash) with no chance to flush or close anything, a SIGTERM, and the
/// CLI's own contract (exactly one <c>listening on HOST:PORT</c> line on stdout, exit codes). Stderr (the broker's
/// log) goes to the test log.
/// </summary>
public sealed class BrokerProcess : IAsyncDisposable
{
    private const string ListeningPrefix = "listening on ";
    private readonly Process _process;
    private readonly TestLog _log;
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;
    private readonly List<string> _stdoutLines = [];
    private readonly Task<string> _listening;

    private BrokerProcess(Process process, TestLog log, TaskCompletionSource<string> listening)
    {
        _process = process;
        _log = log;
        _listening = listening.Task;
        _stdoutPump = PumpAsync(process.StandardOutput, line =>
        {
            lock (_stdoutLines)
            {
                _stdoutLines.Add(line);
            }

            _log.Write("broker-process stdout", line);
            if (line.StartsWith(ListeningPrefix, StringComparison.Ordinal))
            {
                listening.TrySetResult(line[ListeningPrefix.Length..]);
            }
        });
        _stderrPump = PumpAsync(process.StandardError, line => _log.Write("broker-process", line));
    }

    /// <summary>HOST:PORT the broker printed (the bound port, also when started with port 0).</summary>
    public string BootstrapServers { get; private set; } = "";

    /// <summary>The bound port.</summary>
    public int Port => int.Parse(BootstrapServers[(BootstrapServers.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);

    /// <summary>Every line the process wrote to stdout so far.</summary>
    public IReadOnlyList<string> StdoutLines
    {
        get
        {
            lock (_stdoutLines)
            {
                return [.. _stdoutLines];
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Path of the CLI assembly copied next to the tests by the project reference.</summary>
    public static string CliAssembly => Path.Combine(AppContext.BaseDirectory, "lockstep.dll");

    /// <summary>The dotnet host running this test process, so the child uses the same runtime.</summary>
    public static string DotnetHost =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    /// <summary>
    /// Starts <c>lockstep broker --data-dir DIR --listen 127.0.0.1:PORT ARGS</c> and waits for its
    /// <c>listening on</c> line. Binding a just-released fixed port can fail for a moment after a crash, so a
    /// start that exits early is retried for up to <paramref name="bindRetry"/>.
    /// </summary>
    public static async Task<BrokerProcess> StartAsync(
        string dataDirectory, TestLog log, int port = 0, IEnumerable<string>? arguments = null, TimeSpan? bindRetry = null)
    {
        var deadline = DateTime.UtcNow + (bindRetry ?? TimeSpan.Zero);
        while (true)
        {
            var broker = Launch(dataDirectory, log, port, arguments ?? []);
            var (ready, exitCode) = await broker.WaitUntilListeningAsync(TimeSpan.FromSeconds(60));
            if (ready)
            {
                return broker;
            }

            await broker.DisposeAsync();
            if (DateTime.UtcNow >= deadline)
            {
                throw new InvalidOperationException(
                    $"lockstep broker exited with code {exitCode} before listening; see the test output for its log.");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>Starts the CLI with arbitrary arguments, without waiting (for tests of its exit codes).</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(CliAssembly);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    private static BrokerProcess Launch(string dataDirectory, TestLog log, int port, IEnumerable<string> arguments)
    {
        if (!File.Exists(CliAssembly))
        {
            throw new InvalidOperationException($"{CliAssembly} is missing: the project reference to Lockstep.Cli copies it.");
        }

        var start = StartInfo(
            ["broker", "--data-dir", dataDirectory, "--listen", $"127.0.0.1:{port}", .. arguments]);
        log.Write("broker-process", "$ dotnet " + string.Join(' ', start.ArgumentList));
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the CLI.");
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        return new BrokerProcess(process, log, listening);
    }

    private async Task<(bool Ready, int ExitCode)> WaitUntilListeningAsync(TimeSpan timeout)
    {
        var exited = _process.WaitForExitAsync();
        var winner = await Task.WhenAny(_listening, exited, Task.Delay(timeout));
        if (winner == _listening)
        {
            BootstrapServers = await _listening;
            return (true, 0);
        }

        if (winner == exited)
        {
            await Task.WhenAll(_stdoutPump, _stderrPump);
            return (false, _process.ExitCode);
        }

        throw new TimeoutException($"lockstep broker printed no 'listening on' line within {timeout.TotalSeconds:F0} s.");
    }

    /// <summary>SIGKILL: the process dies at once; nothing is flushed or closed by the broker.</summary>
    public async Task KillAsync()
    {
        _log.Write("broker-process", "SIGKILL");
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync(TestContext.Current.CancellationToken);
        await Task.WhenAll(_stdoutPump, _stderrPump);
    }

    /// <summary>Sends SIG<paramref name="signal"/> (TERM, or INT as Ctrl-C does), then waits (bounded) for the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout, string signal = "TERM")
    {
        _log.Write("broker-process", "SIG" + signal);
        using (var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        using var timeoutSource = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(timeoutSource.Token);
        await Task.WhenAll(_stdoutPump, _stderrPump);
        return _process.ExitCode;
    }

    private static Task PumpAsync(StreamReader reader, Action<string> onLine) => Task.Run(async () =>
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            onLine(line);
        }
    });

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        await Task.WhenAll(_stdoutPump, _stderrPump);
        _process.Dispose();
    }
}
