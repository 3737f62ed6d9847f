using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Lockstep.Bench.DualWrite;

/// <summary>
/// The PostgreSQL the benchmark writes to: a throwaway cluster (initdb + pg_ctl from /usr/lib/postgresql/15/bin, as
/// user postgres, in a temp directory, on a free loopback port, with the server's durable defaults — fsync on,
/// synchronous_commit on) unless <c>LOCKSTEP_POSTGRES</c> names a server, in which case the run uses a fresh schema on
/// it. Every scenario's tables live in <see cref="Schema"/>.
/// </summary>
internal sealed class PostgresServer : IAsyncDisposable
{
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";
    private readonly string? _dataDirectory;

    private PostgresServer(string connectionString, string origin, string? dataDirectory, string schema)
    {
        ConnectionString = connectionString;
        Origin = origin;
        _dataDirectory = dataDirectory;
        Schema = schema;
    }

    /// <summary>The Npgsql connection string, with "Search Path" set to <see cref="Schema"/>.</summary>
    public string ConnectionString { get; }

    /// <summary>Where the server came from, for the conditions table.</summary>
    public string Origin { get; }

    /// <summary>The postmaster's pid when the harness started the server (from postmaster.pid), else null.</summary>
    public int? PostmasterPid => _dataDirectory is null ? null
        : int.Parse(File.ReadLines(Path.Combine(_dataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);

    /// <summary>The run's schema.</summary>
    public string Schema { get; }

    public static async Task<PostgresServer> StartAsync(string tempRoot)
    {
        var schema = string.Create(CultureInfo.InvariantCulture, $"bench_dualwrite_{Environment.ProcessId}");
        var given = Environment.GetEnvironmentVariable("LOCKSTEP_POSTGRES");
        if (!string.IsNullOrWhiteSpace(given))
        {
            var server = new PostgresServer(WithSearchPath(given, schema), "LOCKSTEP_POSTGRES (an existing server; its settings are listed below)", null, schema);
            await server.CreateSchemaAsync(given);
            return server;
        }

        var dir = Path.Combine(tempRoot, "postgresql");
        Directory.CreateDirectory(dir);
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            // initdb refuses to run as root: the cluster belongs to postgres (test.sh's ensure_postgresql does the same).
            await RunAsync("chown", false, "postgres:postgres", tempRoot, dir);
        }

        var port = FreePort();
        await RunAsync(Path.Combine(BinDirectory, "initdb"), asRoot, "-D", Path.Combine(dir, "data"), "-U", "postgres",
            "-A", "trust", "-E", "UTF8");
        // Only the network settings are given; fsync, synchronous_commit, wal_sync_method and the rest stay at
        // PostgreSQL's defaults (durable: a COMMIT returns after its WAL record is flushed to disk).
        await RunAsync(Path.Combine(BinDirectory, "pg_ctl"), asRoot, "-D", Path.Combine(dir, "data"), "-l",
            Path.Combine(dir, "server.log"), "-w", "-t", "60",
            "-o", string.Create(CultureInfo.InvariantCulture, $"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c max_connections=200"),
            "start");
        var connection = string.Create(CultureInfo.InvariantCulture, $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres");
        var started = new PostgresServer(WithSearchPath(connection, schema),
            string.Create(CultureInfo.InvariantCulture, $"throwaway cluster started by the harness (initdb + pg_ctl, {BinDirectory}), data in {dir}, port {port}"),
            Path.Combine(dir, "data"), schema);
        await started.CreateSchemaAsync(connection);
        return started;
    }

    /// <summary>The settings that decide what a COMMIT costs, read from the server.</summary>
    public async Task<IReadOnlyList<(string Name, string Value)>> SettingsAsync()
    {
        string[] names = ["server_version", "fsync", "synchronous_commit", "wal_sync_method", "full_page_writes", "commit_delay",
            "wal_level", "shared_buffers", "max_connections", "default_transaction_isolation"];
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using var connection = await dataSource.OpenConnectionAsync();
        var result = new List<(string, string)>();
        foreach (var name in names)
        {
            await using var command = new NpgsqlCommand("SHOW " + name, connection);
            result.Add((name, (string)(await command.ExecuteScalarAsync())!));
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataDirectory is null)
        {
            return;
        }

        try
        {
            await RunAsync(Path.Combine(BinDirectory, "pg_ctl"), Environment.UserName == "root", "-D", _dataDirectory,
                "-m", "immediate", "stop");
        }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync("stopping PostgreSQL failed: " + e.Message);
        }
    }

    private async Task CreateSchemaAsync(string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {Schema} CASCADE; CREATE SCHEMA {Schema};");
        await command.ExecuteNonQueryAsync();
    }

    private static string WithSearchPath(string connectionString, string schema) =>
        new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = schema, MaxPoolSize = 100 }.ConnectionString;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string file, bool asPostgres, params string[] arguments)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (asPostgres)
        {
            start.FileName = "runuser";
            foreach (var a in new[] { "-u", "postgres", "--", file })
            {
                start.ArgumentList.Add(a);
            }
        }
        else
        {
            start.FileName = file;
        }

        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stdout}{await stderr}");
        }
    }
}
