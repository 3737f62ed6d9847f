using System;
using System.Collections.Generic;
using System.Linq;

namespace Lockstep.Client.Consumer;

/// <summary>
/// Kafka's <c>RangeAssignor</c>: per topic, the subscribed members sorted by id each take a contiguous range; the
/// first <c>partitions % members</c> members take one extra. Deterministic, so co-partitioned topics line up.
/// </summary>
internal sealed class RangeAssignor : IPartitionAssignor
{
    public string Name => "range";

    public bool IsCooperative => false;

    public Dictionary<string, List<TopicPartition>> Assign(
        IReadOnlyDictionary<string, int> partitionsPerTopic, IReadOnlyList<GroupMemberSubscription> members)
    {
        var result = members.ToDictionary(m => m.MemberId, _ => new List<TopicPartition>(), StringComparer.Ordinal);
        foreach (var (topic, count) in partitionsPerTopic.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var subscribers = members.Where(m => m.Topics.Contains(topic))
                .OrderBy(m => m.SortKey, StringComparer.Ordinal)
                .ToList();
            if (subscribers.Count == 0)
            {
                continue;
            }

            var perMember = count / subscribers.Count;
            var extra = count % subscribers.Count;
            for (var i = 0; i < subscribers.Count; i++)
            {
                var start = (perMember * i) + Math.Min(i, extra);
                var length = perMember + (i < extra ? 1 : 0);
                for (var p = start; p < start + length; p++)
                {
                    result[subscribers[i].MemberId].Add(new TopicPartition(topic, p));
                }
            }
        }

        return result;
    }
}
