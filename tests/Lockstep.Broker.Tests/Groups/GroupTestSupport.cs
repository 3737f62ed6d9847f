using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Broker.Tests.Groups;

/// <summary>
/// A clock that moves only when a test calls <see cref="Advance"/>; timers due by then fire synchronously inside
/// Advance, in due order. The group coordinator's timers only enqueue work on its executor, so a request sent after
/// Advance returns is served after the expiry it caused (no sleeping, no races).
/// </summary>
internal sealed class ManualClock(long startMs = 1_700_000_000_000) : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private long _nowMs = startMs;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(_nowMs);
        }
    }

    public override long TimestampFrequency => 1000;

    public override long GetTimestamp()
    {
        lock (_lock)
        {
            return _nowMs;
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves time forward and fires every timer that came due.</summary>
    public void Advance(long milliseconds)
    {
        long target;
        lock (_lock)
        {
            target = _nowMs + milliseconds;
        }

        while (true)
        {
            ManualTimer? next;
            lock (_lock)
            {
                next = _timers.Where(t => t.DueMs <= target).OrderBy(t => t.DueMs).FirstOrDefault();
                if (next is null)
                {
                    _nowMs = target;
                    return;
                }

                _nowMs = Math.Max(_nowMs, next.DueMs);
                if (next.PeriodMs > 0)
                {
                    next.DueMs += next.PeriodMs;
                }
                else
                {
                    _timers.Remove(next);
                }
            }

            next.Fire();
        }
    }

    private sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
    {
        public long DueMs { get; set; }

        public long PeriodMs { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._lock)
            {
                clock._timers.Remove(this);
                if (dueTime == Timeout.InfiniteTimeSpan)
                {
                    return true;
                }

                DueMs = clock._nowMs + (long)dueTime.TotalMilliseconds;
                PeriodMs = period == Timeout.InfiniteTimeSpan ? 0 : (long)period.TotalMilliseconds;
                clock._timers.Add(this);
                return true;
            }
        }

        public void Dispose()
        {
            lock (clock._lock)
            {
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>Raw-protocol helpers for group tests.</summary>
internal static class Groups
{
    public const int SessionTimeoutMs = 10_000;
    public const int RebalanceTimeoutMs = 30_000;
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(15);

    /// <summary>A consumer-protocol subscription (v0 layout with its int16 version prefix), as Java clients send.</summary>
    public static byte[] Subscription(params string[] topics)
    {
        var buffer = new PooledBufferWriter();
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(0);
        new ConsumerProtocolSubscription { Topics = [.. topics] }.Write(ref writer, 0);
        writer.Flush();
        return buffer.ToArray();
    }

    public static JoinGroupRequest JoinRequest(
        string group, string memberId = "", string? instanceId = null, byte[]? metadata = null,
        int sessionTimeoutMs = SessionTimeoutMs, int rebalanceTimeoutMs = RebalanceTimeoutMs, string protocol = "range") => new()
    {
        GroupId = group,
        MemberId = memberId,
        GroupInstanceId = instanceId,
        SessionTimeoutMs = sessionTimeoutMs,
        RebalanceTimeoutMs = rebalanceTimeoutMs,
        ProtocolType = "consumer",
        Protocols = [new JoinGroupRequest.JoinGroupRequestProtocol { Name = protocol, Metadata = metadata ?? Subscription("t") }],
    };

    public static Task<JoinGroupResponse> JoinAsync(this RawKafkaClient client, JoinGroupRequest request, short version = 9) =>
        client.SendAsync<JoinGroupRequest, JoinGroupResponse>(request, version);

    /// <summary>Writes a JoinGroup whose response is parked; read it with <see cref="ReadJoinAsync"/>.</summary>
    public static Task<int> StartJoinAsync(this RawKafkaClient client, JoinGroupRequest request, short version = 9) =>
        client.WriteAsync<JoinGroupRequest, JoinGroupResponse>(request, version);

    public static Task<JoinGroupResponse> ReadJoinAsync(this RawKafkaClient client, int correlationId, short version = 9) =>
        client.ReadResponseAsync<JoinGroupResponse>(ApiKey.JoinGroup, version, correlationId);

    /// <summary>KIP-394 handshake (v4+): first join gets MEMBER_ID_REQUIRED, returns the assigned id.</summary>
    public static async Task<string> MemberIdAsync(this RawKafkaClient client, string group, string? instanceId = null)
    {
        if (instanceId is not null)
        {
            return "";
        }

        var first = await client.JoinAsync(JoinRequest(group));
        Assert.Equal((short)ErrorCode.MemberIdRequired, first.ErrorCode);
        return first.MemberId;
    }

    public static SyncGroupRequest SyncRequest(
        string group, int generation, string memberId, string? instanceId = null, params (string Member, byte[] Assignment)[] assignments) => new()
    {
        GroupId = group,
        GenerationId = generation,
        MemberId = memberId,
        GroupInstanceId = instanceId,
        ProtocolType = "consumer",
        ProtocolName = "range",
        Assignments = [.. assignments.Select(a => new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = a.Member, Assignment = a.Assignment })],
    };

    public static Task<SyncGroupResponse> SyncAsync(this RawKafkaClient client, SyncGroupRequest request, short version = 5) =>
        client.SendAsync<SyncGroupRequest, SyncGroupResponse>(request, version);

    public static async Task<ErrorCode> HeartbeatAsync(
        this RawKafkaClient client, string group, int generation, string memberId, string? instanceId = null)
    {
        var response = await client.SendAsync<HeartbeatRequest, HeartbeatResponse>(new HeartbeatRequest
        {
            GroupId = group,
            GenerationId = generation,
            MemberId = memberId,
            GroupInstanceId = instanceId,
        }, 4);
        return (ErrorCode)response.ErrorCode;
    }

    public static async Task<DescribeGroupsResponse.DescribedGroup> DescribeAsync(this RawKafkaClient client, string group)
    {
        var response = await client.SendAsync<DescribeGroupsRequest, DescribeGroupsResponse>(
            new DescribeGroupsRequest { Groups = [group], IncludeAuthorizedOperations = true }, 5);
        return Assert.Single(response.Groups);
    }

    /// <summary>Polls DescribeGroups until <paramref name="condition"/> holds (bounded; each poll is a round trip).</summary>
    public static async Task<DescribeGroupsResponse.DescribedGroup> WaitForGroupAsync(
        this RawKafkaClient client, string group, Func<DescribeGroupsResponse.DescribedGroup, bool> condition)
    {
        var deadline = DateTimeOffset.UtcNow + WaitLimit;
        while (true)
        {
            var described = await client.DescribeAsync(group);
            if (condition(described))
            {
                return described;
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, $"Group {group} never reached the expected state (last: {described.GroupState}, {described.Members.Count} members).");
            await Task.Delay(10);
        }
    }

    /// <summary>Polls heartbeats until the answer is <paramref name="expected"/> (bounded).</summary>
    public static async Task WaitForHeartbeatAsync(
        this RawKafkaClient client, string group, int generation, string memberId, ErrorCode expected)
    {
        var deadline = DateTimeOffset.UtcNow + WaitLimit;
        while (await client.HeartbeatAsync(group, generation, memberId) != expected)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"Heartbeat never answered {expected}.");
            await Task.Delay(10);
        }
    }

    public static async Task CreateTopicAsync(this RawKafkaClient client, string name, int partitions)
    {
        var response = await client.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
        {
            Topics = [new CreateTopicsRequest.CreatableTopic { Name = name, NumPartitions = partitions, ReplicationFactor = 1 }],
            timeoutMs = 10_000,
        }, 5);
        Assert.Equal((short)ErrorCode.None, Assert.Single(response.Topics).ErrorCode);
    }

    public static OffsetCommitRequest CommitRequest(
        string group, int generation, string memberId, params (string Topic, int Partition, long Offset, string? Metadata)[] offsets) => new()
    {
        GroupId = group,
        GenerationIdOrMemberEpoch = generation,
        MemberId = memberId,
        Topics = [.. offsets.GroupBy(o => o.Topic).Select(t => new OffsetCommitRequest.OffsetCommitRequestTopic
        {
            Name = t.Key,
            Partitions = [.. t.Select(p => new OffsetCommitRequest.OffsetCommitRequestPartition
            {
                PartitionIndex = p.Partition,
                CommittedOffset = p.Offset,
                CommittedLeaderEpoch = 0,
                CommittedMetadata = p.Metadata,
            })],
        })],
    };

    /// <summary>Commits and returns the error of every partition in request order.</summary>
    public static async Task<ErrorCode[]> CommitAsync(this RawKafkaClient client, OffsetCommitRequest request, short version = 9)
    {
        var response = await client.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(request, version);
        return [.. response.Topics.SelectMany(t => t.Partitions).Select(p => (ErrorCode)p.ErrorCode)];
    }

    /// <summary>OffsetFetch v8+ (batched shape) for one group.</summary>
    public static async Task<OffsetFetchResponse.OffsetFetchResponseGroup> FetchAsync(
        this RawKafkaClient client, string group, (string Topic, int[] Partitions)[]? topics, short version = 9)
    {
        var response = await client.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest
        {
            Groups =
            [
                new OffsetFetchRequest.OffsetFetchRequestGroup
                {
                    GroupId = group,
                    Topics = topics?.Select(t => new OffsetFetchRequest.OffsetFetchRequestTopics
                    {
                        Name = t.Topic,
                        PartitionIndexes = [.. t.Partitions],
                    }).ToList(),
                },
            ],
            RequireStable = true,
        }, version);
        return Assert.Single(response.Groups);
    }

    public static OffsetFetchResponse.OffsetFetchResponsePartitions Partition(
        this OffsetFetchResponse.OffsetFetchResponseGroup group, string topic, int partition) =>
        Assert.Single(Assert.Single(group.Topics, t => t.Name == topic).Partitions, p => p.PartitionIndex == partition);

    /// <summary>
    /// Forms a stable group of <paramref name="clients"/>.Length dynamic members through the initial-rebalance delay:
    /// every member's second join (KIP-394) is parked, the delay expires on <paramref name="clock"/>, the leader
    /// syncs <paramref name="assign"/>. <paramref name="admin"/> is a connection that is not a member. Returns the member ids (in client order), the generation and the leader id.
    /// </summary>
    public static async Task<(string[] MemberIds, int Generation, string Leader)> FormStableGroupAsync(
        ManualClock clock, int initialDelayMs, string group, RawKafkaClient admin, RawKafkaClient[] clients, Func<string, byte[]>? assign = null,
        string?[]? instanceIds = null)
    {
        var ids = new string[clients.Length];
        var pending = new int[clients.Length];
        for (var i = 0; i < clients.Length; i++)
        {
            var instance = instanceIds?[i];
            ids[i] = await clients[i].MemberIdAsync(group, instance);
            pending[i] = await clients[i].StartJoinAsync(JoinRequest(group, ids[i], instance, rebalanceTimeoutMs: initialDelayMs));
        }

        // Polled on a separate connection: the members' connections have a parked JoinGroup, and responses on a
        // connection are ordered.
        await admin.WaitForGroupAsync(group, g => g.Members.Count == clients.Length);
        clock.Advance(initialDelayMs);

        var joins = new JoinGroupResponse[clients.Length];
        for (var i = 0; i < clients.Length; i++)
        {
            joins[i] = await clients[i].ReadJoinAsync(pending[i]);
            Assert.Equal((short)ErrorCode.None, joins[i].ErrorCode);
            ids[i] = joins[i].MemberId;
        }

        var generation = joins[0].GenerationId;
        var leader = joins[0].Leader;
        assign ??= member => System.Text.Encoding.UTF8.GetBytes("assignment-of-" + member);
        var syncs = new Task<SyncGroupResponse>[clients.Length];
        var leaderIndex = Array.IndexOf(ids, leader);
        for (var i = 0; i < clients.Length; i++)
        {
            if (i != leaderIndex)
            {
                syncs[i] = clients[i].SyncAsync(SyncRequest(group, generation, ids[i], instanceIds?[i]));
            }
        }

        syncs[leaderIndex] = clients[leaderIndex].SyncAsync(
            SyncRequest(group, generation, leader, instanceIds?[leaderIndex], [.. ids.Select(id => (id, assign(id)))]));
        foreach (var (sync, i) in syncs.Select((s, i) => (s, i)))
        {
            var response = await sync.WaitAsync(WaitLimit);
            Assert.Equal((short)ErrorCode.None, response.ErrorCode);
            Assert.Equal(assign(ids[i]), response.Assignment);
        }

        return (ids, generation, leader);
    }

    /// <summary>Broker settings for group tests: a manual clock needs a non-zero initial delay to park joins.</summary>
    public static Dictionary<string, string> Settings(int initialDelayMs = 3000) => new()
    {
        ["group.initial.rebalance.delay.ms"] = initialDelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
