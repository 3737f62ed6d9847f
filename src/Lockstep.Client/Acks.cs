namespace Lockstep.Client;

/// <summary>The producer's <c>acks</c> setting: how many replicas must have the data before a send succeeds.</summary>
public enum Acks : short
{
    /// <summary><c>acks=0</c>: the broker sends no response; offsets are unknown (-1) and nothing is retried.</summary>
    None = 0,

    /// <summary><c>acks=1</c>: the leader has appended the records.</summary>
    Leader = 1,

    /// <summary><c>acks=all</c> (-1): every in-sync replica has them. Required by idempotence.</summary>
    All = -1,
}
