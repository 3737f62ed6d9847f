namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>
/// Goal: the fuzzing oracle itself works, so that a green fuzz run means something. Method: feed
/// <see cref="FuzzHarness"/> targets that misbehave on purpose (a foreign exception type, an allocation far past
/// the bound) and one that behaves, and check which ones it reports, with the seed needed to reproduce.
/// </summary>
public sealed class FuzzHarnessTests
{
    [Fact]
    public void Harness_reports_a_foreign_exception_with_the_seed_and_input()
    {
        var harness = new FuzzHarness("foreign", 0x1234);
        harness.Run(_ => throw new InvalidOperationException("boom"), [0xAB], "probe");
        var failure = Assert.ThrowsAny<Exception>(harness.AssertClean);
        Assert.Contains("InvalidOperationException", failure.Message, StringComparison.Ordinal);
        Assert.Contains("0x00001234", failure.Message, StringComparison.Ordinal);
        Assert.Contains("AB", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Harness_reports_an_allocation_past_the_bound()
    {
        var harness = new FuzzHarness("allocating", 1);
        var size = (int)FuzzHarness.Bound(1, mayDecompress: false) + 1024;
        harness.Run(_ => GC.KeepAlive(new byte[size]), [0x00], "probe");
        var failure = Assert.ThrowsAny<Exception>(harness.AssertClean);
        Assert.Contains("allocated", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Harness_accepts_KafkaProtocolException_and_success()
    {
        var harness = new FuzzHarness("clean", 1);
        harness.Run(_ => throw new KafkaProtocolException("malformed"), [0x01], "reject");
        harness.Run(_ => { }, [0x02], "accept");
        harness.AssertClean();
        Assert.Equal(2, harness.Runs);
        Assert.Equal(1, harness.Successes);
    }
}
