using Lockstep.Client.Consumer;

namespace Lockstep.Client.Tests.Consumer;

/// <summary>
/// Goal: the leader-side assignors give every partition to exactly one subscribed member; range matches Java's
/// RangeAssignor layout; cooperative-sticky is balanced, keeps partitions with their owners and withholds a moving
/// partition for one generation (KIP-429). Method: call the assignors directly with member subscriptions, and check
/// the consumer-protocol encoding round-trips.
/// </summary>
public sealed class AssignorTests
{
    private static GroupMemberSubscription Member(string id, params TopicPartition[] owned) =>
        new(id, null, ["t"], owned);

    private static TopicPartition P(int partition) => new("t", partition);

    [Fact]
    public void Range_gives_the_first_members_one_extra_partition_each()
    {
        var result = new RangeAssignor().Assign(
            new Dictionary<string, int> { ["t"] = 7 }, [Member("c"), Member("a"), Member("b")]);

        Assert.Equal([P(0), P(1), P(2)], result["a"]);
        Assert.Equal([P(3), P(4)], result["b"]);
        Assert.Equal([P(5), P(6)], result["c"]);
    }

    [Fact]
    public void Range_assigns_a_topic_only_to_its_subscribers()
    {
        var members = new List<GroupMemberSubscription>
        {
            new("a", null, ["t", "u"], []),
            new("b", null, ["t"], []),
        };
        var result = new RangeAssignor().Assign(new Dictionary<string, int> { ["t"] = 2, ["u"] = 2 }, members);

        Assert.Equal([P(0), new("u", 0), new("u", 1)], result["a"].OrderBy(p => p.Topic).ThenBy(p => p.Partition));
        Assert.Equal([P(1)], result["b"]);
    }

    [Fact]
    public void Cooperative_sticky_keeps_owned_partitions_and_withholds_moving_ones_until_revoked()
    {
        var assignor = new CooperativeStickyAssignor();
        var counts = new Dictionary<string, int> { ["t"] = 4 };

        // Generation 1: "a" owns everything, "b" joins. "a" keeps 2; the 2 that move to "b" are withheld.
        var first = assignor.Assign(counts, [Member("a", P(0), P(1), P(2), P(3)), Member("b")]);
        Assert.Equal([P(0), P(1)], first["a"]);
        Assert.Empty(first["b"]);

        // Generation 2: "a" revoked 2 and 3 and rejoined; now they are unowned and go to "b".
        var second = assignor.Assign(counts, [Member("a", P(0), P(1)), Member("b")]);
        Assert.Equal([P(0), P(1)], second["a"]);
        Assert.Equal([P(2), P(3)], second["b"]);
    }

    [Fact]
    public void Cooperative_sticky_is_balanced_and_assigns_each_partition_once()
    {
        var assignor = new CooperativeStickyAssignor();
        var result = assignor.Assign(new Dictionary<string, int> { ["t"] = 10 },
            [Member("a", P(0), P(1), P(2), P(3), P(4), P(5)), Member("b", P(6)), Member("c")]);

        var all = result.Values.SelectMany(p => p).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.All(result["a"], p => Assert.Contains(p, new[] { P(0), P(1), P(2), P(3), P(4), P(5) }));
        Assert.Contains(P(6), result["b"]);

        // Once the withheld partitions are released, the next generation is fully balanced (4/3/3).
        var next = assignor.Assign(new Dictionary<string, int> { ["t"] = 10 },
            result.Select(r => new GroupMemberSubscription(r.Key, null, ["t"], r.Value)).ToList());
        Assert.Equal(10, next.Values.Sum(p => p.Count));
        Assert.Equal([3, 3, 4], next.Values.Select(p => p.Count).Order());
        Assert.Equal(10, next.Values.SelectMany(p => p).Distinct().Count());
    }

    [Fact]
    public void Consumer_protocol_subscription_and_assignment_round_trip()
    {
        var metadata = ConsumerProtocol.EncodeSubscription(["b", "a"], [new("a", 1), new("a", 0)]);
        var subscription = ConsumerProtocol.DecodeSubscription(metadata);
        Assert.Equal(["a", "b"], subscription.Topics);
        Assert.Equal([new("a", 0), new TopicPartition("a", 1)], ConsumerProtocol.OwnedPartitions(subscription));

        var assignment = ConsumerProtocol.EncodeAssignment([new("x", 2), new("x", 0)]);
        Assert.Equal([new("x", 0), new TopicPartition("x", 2)], ConsumerProtocol.DecodeAssignment(assignment));
        Assert.Empty(ConsumerProtocol.DecodeAssignment([]));
    }
}
