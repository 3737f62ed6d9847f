using System;
using System.Collections.Generic;
using System.Linq;

namespace Lockstep.Client.Consumer;

/// <summary>
/// <c>cooperative-sticky</c> (KIP-429 on top of KIP-54's sticky goals): a balanced assignment that keeps as many
/// partitions as possible with their current owner, then withholds every partition that changes owner so the
/// previous owner can revoke it first; the revoking member rejoins and a follow-up rebalance hands the partition to
/// its new owner (Java's <c>CooperativeStickyAssignor</c> / <c>AbstractStickyAssignor</c>, simplified).
/// </summary>
/// <remarks>
/// Balance: with <c>n</c> partitions and <c>m</c> members subscribed to the same topics, everyone ends with
/// <c>floor(n/m)</c> or <c>ceil(n/m)</c> partitions and at most <c>n % m</c> members hold the ceiling. With differing
/// subscriptions every partition still goes to a subscribed member (the least loaded one), but balance is
/// best-effort. Ownership claimed by two members (a stale member) is granted to the first in member order.
/// </remarks>
internal sealed class CooperativeStickyAssignor : IPartitionAssignor
{
    public string Name => "cooperative-sticky";

    public bool IsCooperative => true;

    public Dictionary<string, List<TopicPartition>> Assign(
        IReadOnlyDictionary<string, int> partitionsPerTopic, IReadOnlyList<GroupMemberSubscription> members)
    {
        var sorted = members.OrderBy(m => m.SortKey, StringComparer.Ordinal).ToList();
        var result = sorted.ToDictionary(m => m.MemberId, _ => new List<TopicPartition>(), StringComparer.Ordinal);
        if (sorted.Count == 0)
        {
            return result;
        }

        var all = partitionsPerTopic.OrderBy(t => t.Key, StringComparer.Ordinal)
            .Where(t => sorted.Any(m => m.Topics.Contains(t.Key)))
            .SelectMany(t => Enumerable.Range(0, t.Value).Select(p => new TopicPartition(t.Key, p)))
            .ToList();
        var total = all.Count;
        var minQuota = total / sorted.Count;
        var maxQuota = minQuota + (total % sorted.Count == 0 ? 0 : 1);
        var ceilingSlots = total % sorted.Count;
        var valid = all.ToHashSet();
        var taken = new HashSet<TopicPartition>();

        // 1. Stickiness: each member keeps up to minQuota of the still-valid partitions it owns, lowest first.
        var surplus = new Dictionary<string, List<TopicPartition>>(StringComparer.Ordinal);
        foreach (var member in sorted)
        {
            var keep = member.OwnedPartitions
                .Where(p => valid.Contains(p) && member.Topics.Contains(p.Topic) && !taken.Contains(p))
                .Order(Comparer<TopicPartition>.Create(Compare))
                .ToList();
            foreach (var partition in keep.Take(minQuota))
            {
                result[member.MemberId].Add(partition);
                taken.Add(partition);
            }

            surplus[member.MemberId] = keep.Skip(minQuota).ToList();
        }

        // 2. Members that owned more may keep one more, while ceiling slots remain.
        foreach (var member in sorted)
        {
            if (ceilingSlots == 0 || maxQuota == minQuota)
            {
                break;
            }

            var extra = surplus[member.MemberId].FirstOrDefault(p => !taken.Contains(p));
            if (extra.Topic is not null && result[member.MemberId].Count < maxQuota)
            {
                result[member.MemberId].Add(extra);
                taken.Add(extra);
                ceilingSlots--;
            }
        }

        // 3. Everything else goes to the least-loaded subscribed member, filling to minQuota first and granting the
        //    ceiling only while slots remain (so the result is balanced for equal subscriptions).
        foreach (var partition in all.Where(p => !taken.Contains(p)))
        {
            var candidates = sorted.Where(m => m.Topics.Contains(partition.Topic)).ToList();
            var chosen = candidates
                .Where(m => result[m.MemberId].Count < minQuota || (ceilingSlots > 0 && result[m.MemberId].Count < maxQuota))
                .OrderBy(m => result[m.MemberId].Count)
                .FirstOrDefault()
                ?? candidates.OrderBy(m => result[m.MemberId].Count).First();
            if (result[chosen.MemberId].Count >= minQuota && result[chosen.MemberId].Count < maxQuota && ceilingSlots > 0)
            {
                ceilingSlots--;
            }

            result[chosen.MemberId].Add(partition);
            taken.Add(partition);
        }

        // 4. KIP-429: a partition moving from one owner to another is withheld this generation. The old owner sees
        //    it revoked, gives it up and rejoins; the next rebalance assigns it, now unowned, to the new owner.
        var owner = new Dictionary<TopicPartition, string>();
        foreach (var member in sorted)
        {
            foreach (var partition in member.OwnedPartitions)
            {
                owner.TryAdd(partition, member.MemberId);
            }
        }

        foreach (var (memberId, partitions) in result)
        {
            partitions.RemoveAll(p => owner.TryGetValue(p, out var previous) && previous != memberId);
            partitions.Sort(Compare);
        }

        return result;
    }

    private static int Compare(TopicPartition a, TopicPartition b)
    {
        var byTopic = string.CompareOrdinal(a.Topic, b.Topic);
        return byTopic != 0 ? byTopic : a.Partition.CompareTo(b.Partition);
    }
}
