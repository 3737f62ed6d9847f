namespace Lockstep.Storage.Tests;

/// <summary>A clock that moves only when the test says so (retention and roll tests).</summary>
internal sealed class ManualTimeProvider(long startMs = 1_700_000_000_000) : TimeProvider
{
    private long _nowMs = startMs;

    public long NowMs => Interlocked.Read(ref _nowMs);

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(NowMs);

    public void Advance(long milliseconds) => Interlocked.Add(ref _nowMs, milliseconds);
}
