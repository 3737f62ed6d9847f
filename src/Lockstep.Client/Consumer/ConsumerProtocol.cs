using System;
using System.Collections.Generic;
using System.Linq;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Client.Consumer;

/// <summary>
/// The embedded "consumer" protocol of classic groups: JoinGroup metadata is an int16 version followed by a
/// ConsumerProtocolSubscription, SyncGroup assignments an int16 version followed by a ConsumerProtocolAssignment
/// (Java's <c>ConsumerProtocol.java</c>).
/// </summary>
internal static class ConsumerProtocol
{
    /// <summary>ProtocolType of consumer groups in JoinGroup/SyncGroup.</summary>
    public const string ProtocolType = "consumer";

    /// <summary>Subscription version we write: v1 adds OwnedPartitions, which KIP-429 cooperative rebalancing
    /// needs; v2 (GenerationId) and v3 (RackId) carry nothing this client uses.</summary>
    public const short SubscriptionVersion = 1;

    public static byte[] EncodeSubscription(IEnumerable<string> topics, IEnumerable<TopicPartition> owned)
    {
        var subscription = new ConsumerProtocolSubscription
        {
            Topics = topics.Order(StringComparer.Ordinal).ToList(),
            OwnedPartitions = owned.GroupBy(p => p.Topic)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new ConsumerProtocolSubscription.TopicPartition
                {
                    Topic = g.Key,
                    Partitions = g.Select(p => p.Partition).Order().ToList(),
                })
                .ToList(),
        };
        return Encode(SubscriptionVersion, subscription);
    }

    public static byte[] EncodeAssignment(IEnumerable<TopicPartition> partitions)
    {
        var assignment = new ConsumerProtocolAssignment
        {
            AssignedPartitions = ToAssignmentTopics(partitions),
        };
        return Encode(0, assignment);
    }

    /// <summary>Decodes member metadata; a version above ours is read as our highest, as Java does (newer versions
    /// only append fields).</summary>
    public static ConsumerProtocolSubscription DecodeSubscription(ReadOnlySpan<byte> metadata)
    {
        var reader = new KafkaReader(metadata);
        var version = reader.ReadInt16();
        if (version < 0)
        {
            ThrowHelper.ThrowProtocol($"ConsumerProtocolSubscription version {version} is negative.");
        }

        return ConsumerProtocolSubscription.Read(
            ref reader, Math.Min(version, ConsumerProtocolSubscription.HighestSupportedVersion));
    }

    /// <summary>Decodes a SyncGroup assignment; empty bytes mean "nothing assigned" (Java treats them so).</summary>
    public static List<TopicPartition> DecodeAssignment(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return [];
        }

        var reader = new KafkaReader(bytes);
        var version = reader.ReadInt16();
        if (version < 0)
        {
            ThrowHelper.ThrowProtocol($"ConsumerProtocolAssignment version {version} is negative.");
        }

        var assignment = ConsumerProtocolAssignment.Read(
            ref reader, Math.Min(version, ConsumerProtocolAssignment.HighestSupportedVersion));
        return assignment.AssignedPartitions
            .SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p)))
            .ToList();
    }

    public static List<TopicPartition> OwnedPartitions(ConsumerProtocolSubscription subscription) =>
        subscription.OwnedPartitions
            .SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p)))
            .ToList();

    private static List<ConsumerProtocolAssignment.TopicPartition> ToAssignmentTopics(
        IEnumerable<TopicPartition> partitions) =>
        partitions.GroupBy(p => p.Topic)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ConsumerProtocolAssignment.TopicPartition
            {
                Topic = g.Key,
                Partitions = g.Select(p => p.Partition).Order().ToList(),
            })
            .ToList();

    private static byte[] Encode<T>(short version, T message)
        where T : IKafkaMessage<T>
    {
        using var buffer = new PooledBufferWriter();
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(version);
        message.Write(ref writer, version);
        writer.Flush();
        return buffer.ToArray();
    }
}
