namespace Lockstep.Client;

/// <summary><c>auto.offset.reset</c>: where a partition without a valid committed offset starts.</summary>
public enum KafkaConsumerOffsetReset
{
    /// <summary>The log end (only records produced from now on).</summary>
    Latest,

    /// <summary>The log start offset.</summary>
    Earliest,

    /// <summary>Fail with a <see cref="KafkaException"/> (OFFSET_OUT_OF_RANGE) instead of guessing.</summary>
    None,
}
