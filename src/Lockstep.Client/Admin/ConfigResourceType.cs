namespace Lockstep.Client.Admin;

/// <summary>Kinds of config resources; the values are Kafka's wire values (<c>ConfigResource.Type</c>).</summary>
public enum ConfigResourceType : sbyte
{
    /// <summary>A topic's configs (resource name = topic name).</summary>
    Topic = 2,

    /// <summary>A broker's configs (resource name = broker id; empty = cluster-wide default).</summary>
    Broker = 4,

    /// <summary>A broker's log levels (resource name = broker id).</summary>
    BrokerLogger = 8,

    /// <summary>A consumer group's configs (KIP-848).</summary>
    Group = 32,
}
