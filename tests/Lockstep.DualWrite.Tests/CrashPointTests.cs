using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Lockstep.DualWrite.Tests;

/// <summary>
/// Goal: every row of dual-write.md's failure table, with a real crash. Method: the CLI's hidden <c>demo-worker</c>
/// (a separate process running DualWriter over SQLite) SIGKILLs itself right after a chosen recipe step; a second run
/// recovers and finishes the range; then the DB rows must equal the read_committed events exactly, and recovery must
/// have done what the table predicts for that crash point. Plus the end-to-end <c>lockstep demo --json</c> run.
/// </summary>
public sealed class CrashPointTests
{
    private const int SigKillExitCode = 137;

    private static string CliAssembly => Path.Combine(AppContext.BaseDirectory, "lockstep.dll");

    [Theory]
    // Steps 1-4: nothing was prepared in a committed DB transaction; recovery aborts (or finds nothing to do when the
    // crash came before any record reached the broker).
    [InlineData(DualWriteStep.InitTransactions, 1, null)]
    [InlineData(DualWriteStep.LockState, 3, null)]
    [InlineData(DualWriteStep.CompletePrevious, 3, null)]
    [InlineData(DualWriteStep.WriteAndProduce, 2, null)]
    // Step 5 and 6: prepared in Kafka, DB rolled back by the crash: mismatch => abort.
    [InlineData(DualWriteStep.Prepare, 2, RecoveryOutcome.Aborted)]
    [InlineData(DualWriteStep.StoreToken, 2, RecoveryOutcome.Aborted)]
    // After 7: DB committed with the token, Kafka prepared: match => commit.
    [InlineData(DualWriteStep.CommitDatabase, 2, RecoveryOutcome.Committed)]
    // After 8: both committed; recovery has nothing to do.
    [InlineData(DualWriteStep.CommitKafka, 2, RecoveryOutcome.NothingPrepared)]
    public async Task Worker_killed_at_a_step_boundary_recovers_to_rows_equal_events(
        DualWriteStep step, int occurrence, RecoveryOutcome? expectedRecovery)
    {
        await using var harness = await DualWriteHarness.StartAsync();

        var crashed = await RunWorkerAsync(harness, 1, 6, step, occurrence);
        Assert.True(crashed.ExitCode == SigKillExitCode, $"worker was meant to die by SIGKILL: {crashed.ExitCode} {crashed.Error}");
        var rowsAtCrash = await harness.ReadRowsAsync();

        var resumed = await RunWorkerAsync(harness, 1, 6, null, 0);
        Assert.True(resumed.ExitCode == 0, $"resumed worker failed: {resumed.Error}");
        if (expectedRecovery is { } expected)
        {
            Assert.Equal("recovered: " + expected, resumed.FirstLine);
        }
        else
        {
            Assert.Contains(resumed.FirstLine, new[] { "recovered: NothingPrepared", "recovered: Aborted" });
        }

        // The crash happened where it was meant to: after step 7 of unit N the DB already held N rows.
        var unitsCommittedBeforeCrash = step switch
        {
            DualWriteStep.InitTransactions => 0,
            DualWriteStep.LockState or DualWriteStep.CompletePrevious => occurrence - 2, // occurrence 1 is recovery's
            DualWriteStep.CommitDatabase or DualWriteStep.CommitKafka => occurrence,
            _ => occurrence - 1,
        };
        Assert.Equal(unitsCommittedBeforeCrash, rowsAtCrash.Count);
        await harness.AssertRowsEqualEventsAsync(expectedCount: 6);
    }

    [Fact]
    public async Task Demo_command_reports_agreement_as_json()
    {
        var run = await RunCliAsync(["demo", "--orders", "30", "--kills", "5", "--json"], TimeSpan.FromMinutes(2));

        Assert.True(run.ExitCode == 0, $"lockstep demo failed ({run.ExitCode}): {run.Error}");
        using var summary = JsonDocument.Parse(run.Output.Trim().Split('\n')[^1]);
        var root = summary.RootElement;
        Assert.Equal(0, root.GetProperty("missing").GetInt32());
        Assert.Equal(0, root.GetProperty("duplicates").GetInt32());
        Assert.Equal(30, root.GetProperty("orders").GetInt32());
        Assert.Equal(30, root.GetProperty("events").GetInt32());
        Assert.InRange(root.GetProperty("kills").GetInt32(), 1, 5);
        Assert.True(root.GetProperty("elapsedMs").GetInt64() > 0);
    }

    [Fact]
    public async Task Demo_command_rejects_databases_it_does_not_support_yet()
    {
        var run = await RunCliAsync(["demo", "--db", "Host=localhost;Database=orders"], TimeSpan.FromMinutes(1));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("PostgreSQL is not supported yet", run.Error, StringComparison.Ordinal);
    }

    private sealed record Run(int ExitCode, string FirstLine, string Output, string Error);

    private static Task<Run> RunWorkerAsync(DualWriteHarness harness, int first, int last, DualWriteStep? killAt, int occurrence)
    {
        List<string> args =
        [
            "demo-worker", "--bootstrap", harness.Bootstrap, "--db", harness.DatabasePath, "--transactional-id", "orders-0",
            "--first", first.ToString(CultureInfo.InvariantCulture), "--last", last.ToString(CultureInfo.InvariantCulture),
        ];
        if (killAt is { } step)
        {
            args.AddRange(["--kill-at-step", ((int)step).ToString(CultureInfo.InvariantCulture),
                "--kill-at-occurrence", occurrence.ToString(CultureInfo.InvariantCulture)]);
        }

        return RunCliAsync(args, TimeSpan.FromMinutes(1));
    }

    private static async Task<Run> RunCliAsync(IEnumerable<string> args, TimeSpan timeout)
    {
        Assert.True(File.Exists(CliAssembly), $"{CliAssembly} is missing: the project reference to Lockstep.Cli copies it.");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(CliAssembly);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"lockstep {string.Join(' ', args)} did not finish within {timeout}");
        }

        var output = await stdout;
        return new Run(process.ExitCode, output.Split('\n')[0].Trim(), output, await stderr);
    }
}
