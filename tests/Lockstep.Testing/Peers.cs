using Xunit;

namespace Lockstep.Testing;

/// <summary>
/// Guards for tests that need an external peer (PostgreSQL, Redis, the Kafka JSON specs in ../shared, a
/// client library). The convention (style-guide.md §3.6, after Npgsql's IgnoreExceptOnBuildServer): a missing
/// peer skips the test on a developer machine, but FAILS it under CI, because CI is where the peer is
/// installed by <c>./test.sh</c> and a silent skip there would hide a broken set-up.
/// </summary>
public static class Peers
{
    /// <summary>
    /// Returns normally when <paramref name="available"/> is true; otherwise skips the current test locally
    /// (xUnit v3 dynamic skip) or fails it when <see cref="TestEnvironment.IsCI"/>.
    /// </summary>
    /// <param name="available">Whether the peer was found.</param>
    /// <param name="what">Names the peer and where it was looked for, e.g. "PostgreSQL at $LOCKSTEP_PG".</param>
    public static void RequireOrSkip(bool available, string what) =>
        RequireOrSkip(available, what, TestEnvironment.IsCI);

    /// <summary>
    /// Same as <see cref="RequireOrSkip(bool, string)"/> with the CI decision passed in, so the two branches
    /// can be tested without changing the process environment.
    /// </summary>
    /// <param name="available">Whether the peer was found.</param>
    /// <param name="what">Names the peer and where it was looked for.</param>
    /// <param name="isCI">True to fail instead of skipping.</param>
    public static void RequireOrSkip(bool available, string what, bool isCI)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(what);
        if (available)
        {
            return;
        }

        if (isCI)
        {
            Assert.Fail(
                $"Required test peer missing under CI=true: {what}. ./test.sh must install or start it; "
                + "a missing peer is a CI set-up defect, not a skip.");
        }

        Assert.Skip($"{what} is not available on this machine (skipped locally; this test FAILS under CI=true).");
    }
}
