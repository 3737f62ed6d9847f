namespace Lockstep.Client.Tests.Harness;

/// <summary>The current test's cancellation token (xUnit1051), short enough to pass everywhere.</summary>
public static class TestToken
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;
}
