using System.Diagnostics;
using System.Globalization;
using Lockstep.Broker;

namespace Lockstep.Bench.Broker;

/// <summary>
/// Runs the broker in a child process (this same executable with <c>--broker-child</c>) so that the garbage
/// collections and thread-pool work of the load generator (Confluent.Kafka's callbacks, the latency recorders) and of
/// the broker do not pause each other. The child prints <c>listening on HOST:PORT</c> like <c>lockstep broker</c>
/// (BrokerCommand's output contract) and stops, disposing the broker, when its standard input closes.
/// </summary>
internal sealed class BrokerProcess : IAsyncDisposable
{
    private const string ListeningPrefix = "listening on ";
    private readonly Process _process;

    private BrokerProcess(Process process, string bootstrapServers, string dataDirectory)
    {
        _process = process;
        BootstrapServers = bootstrapServers;
        DataDirectory = dataDirectory;
    }

    public string BootstrapServers { get; }

    public string DataDirectory { get; }

    public int ProcessId => _process.Id;

    /// <summary>Starts a broker child with <paramref name="durability"/> (<c>fsync</c> or <c>os</c>).</summary>
    public static async Task<BrokerProcess> StartAsync(string dataDirectory, string durability)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var start = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        // Under `dotnet run` the process path is the apphost; under `dotnet X.dll` it is the muxer.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.FileName = self;
            start.ArgumentList.Add(typeof(BrokerProcess).Assembly.Location);
        }
        else
        {
            start.FileName = self;
        }

        start.ArgumentList.Add("--broker-child");
        start.ArgumentList.Add(dataDirectory);
        start.ArgumentList.Add(durability);
        // bench/Directory.Build.props pins this executable to non-concurrent workstation GC, which suits the load
        // generator; the broker child runs with the runtime defaults instead, as `lockstep broker` does (the CLI sets
        // no GC mode). Environment variables take precedence over runtimeconfig.json.
        start.Environment["DOTNET_gcConcurrent"] = "1";
        start.Environment["DOTNET_gcServer"] = "0";

        var process = Process.Start(start) ?? throw new InvalidOperationException("broker child did not start");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException("broker child exited before listening");
            if (line.StartsWith(ListeningPrefix, StringComparison.Ordinal))
            {
                return new BrokerProcess(process, line[ListeningPrefix.Length..].Trim(), dataDirectory);
            }
        }
    }

    /// <summary>User+system CPU seconds the child has used so far (from /proc/PID/stat, fields 14 and 15).</summary>
    public double CpuSeconds() => ProcCpu.Seconds(_process.Id);

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
        }

        _process.Dispose();
    }

    /// <summary>The child's entry point: serve until standard input reaches end of file.</summary>
    public static async Task<int> RunChildAsync(string dataDirectory, string durability)
    {
        var options = new BrokerOptions
        {
            DataDirectory = dataDirectory,
            Listen = "127.0.0.1:0",
        };
        options.Settings["lockstep.durability"] = durability;
        await using var broker = await KafkaBroker.StartAsync(options);
        await Console.Out.WriteLineAsync(ListeningPrefix + broker.BootstrapServers);
        await Console.Out.FlushAsync();
        using var stdin = Console.OpenStandardInput();
        var buffer = new byte[64];
        while (await stdin.ReadAsync(buffer) > 0)
        {
        }

        return 0;
    }
}

/// <summary>Process CPU time from procfs (Linux only; NaN elsewhere).</summary>
internal static class ProcCpu
{
    public static double Seconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return ticks / 100.0; // USER_HZ is 100 on Linux x86-64.
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }
}
