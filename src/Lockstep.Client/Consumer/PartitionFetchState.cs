using System.Collections.Generic;

namespace Lockstep.Client.Consumer;

/// <summary>
/// The consumer's per-partition state (Java's <c>SubscriptionState.TopicPartitionState</c>), owned by the consume
/// path. Invariant: every buffered record has an offset &gt;= the offset the user last received and &lt;
/// <see cref="FetchPosition"/>, so the position is the head of the buffer, or the fetch position when it is empty.
/// </summary>
internal sealed class PartitionFetchState
{
    /// <summary>Next offset to fetch; null until initialised from the committed offset or the reset policy.</summary>
    public long? FetchPosition { get; set; }

    /// <summary>Set after OFFSET_OUT_OF_RANGE: initialise from the reset policy, not the committed offset.</summary>
    public bool ResetRequired { get; set; }

    /// <summary>Fetched records not yet returned.</summary>
    public Queue<ConsumeResult> Buffered { get; } = new();

    public bool Paused { get; set; }

    /// <summary>Leader epoch of the last returned record (committed with the offset, KIP-320).</summary>
    public int LeaderEpoch { get; set; } = -1;

    /// <summary>The position: the offset of the next record the application will receive.</summary>
    public long? Position => Buffered.TryPeek(out var next) ? next.Offset : FetchPosition;

    /// <summary>Moves to <paramref name="offset"/> and drops buffered records.</summary>
    public void Seek(long offset)
    {
        Buffered.Clear();
        FetchPosition = offset;
        ResetRequired = false;
    }
}
