using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Lockstep.Testing;

namespace Lockstep.DualWrite.Tests;

/// <summary>
/// Goal: issue 6's random crash soak — at least 200 SIGKILLs per store, and afterwards the database and the
/// read_committed event stream agree exactly. Method: the real <c>lockstep demo --json</c> as a child process against
/// a fresh database of each store, 4 workers, 600 orders, 200 kills (the first 8 at every step boundary, the rest at
/// random steps and random moments); every planned kill must fire. Longer soaks: the same command with larger
/// <c>--orders</c> / <c>--kills</c>.
/// </summary>
public sealed class SoakTests
{
    private const int Orders = 600;
    private const int Kills = 200;

    [Theory]
    [MemberData(nameof(TestStores.All), MemberType = typeof(TestStores))]
    public async Task Two_hundred_random_kills_leave_rows_equal_to_events(StoreKind kind)
    {
        using var directory = new TempDirectory("soak");
        var spec = TestStores.FreshSpec(kind, directory);
        var stopwatch = Stopwatch.StartNew();

        var run = await DualWriteHarness.RunCliAsync(
            ["demo", "--db", spec, "--orders", Orders.ToString(CultureInfo.InvariantCulture),
                "--kills", Kills.ToString(CultureInfo.InvariantCulture), "--workers", "4", "--json"],
            TimeSpan.FromMinutes(8));

        TestContext.Current.TestOutputHelper?.WriteLine($"{kind} soak: {stopwatch.Elapsed.TotalSeconds:0.0} s, {run.Output.Trim()}");
        Assert.True(run.ExitCode == 0, $"lockstep demo failed ({run.ExitCode}): {Tail(run.Error)}");
        using var summary = JsonDocument.Parse(run.Output.Trim().Split('\n')[^1]);
        var root = summary.RootElement;
        Assert.Equal(Kills, root.GetProperty("kills").GetInt32());
        Assert.Equal(8, root.GetProperty("stepsCovered").GetInt32());
        Assert.Equal(0, root.GetProperty("missing").GetInt32());
        Assert.Equal(0, root.GetProperty("duplicates").GetInt32());
        Assert.Equal(0, root.GetProperty("orphans").GetInt32());
        Assert.Equal(Orders, root.GetProperty("orders").GetInt32());
        Assert.Equal(Orders, root.GetProperty("events").GetInt32());
        Assert.True(root.GetProperty("agree").GetBoolean());
        // The step-6 kill among the first eight leaves a prepared transaction the DB did not decide (recovery aborts
        // it), the step-7 kill one the DB committed (recovery commits it): both recovery paths ran.
        Assert.True(root.GetProperty("recoveredAborts").GetInt32() >= 1, run.Output);
        Assert.True(root.GetProperty("recoveredCommits").GetInt32() >= 1, run.Output);
    }

    private static string Tail(string text) => text.Length <= 4000 ? text : text[^4000..];
}
