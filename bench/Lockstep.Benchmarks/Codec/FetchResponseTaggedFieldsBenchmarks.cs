using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Benchmarks.Codec;

/// <summary>
/// FetchResponse v16 that sets tagged fields, so the encode path goes through <c>PooledBufferWriter.RentScratch</c>
/// (a tagged field's size prefix must be known before its value, KIP-482): the KIP-951 answer to a fetch sent to
/// a stale leader, where each of the 4 partitions carries NOT_LEADER_OR_FOLLOWER with a CurrentLeader (tag 1), no
/// records, and the response lists the new leader's endpoint in NodeEndpoints (tag 0).
/// </summary>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet disposes the buffers in [GlobalCleanup].")]
public class FetchResponseTaggedFieldsBenchmarks
{
    /// <summary>First version with NodeEndpoints (KIP-951).</summary>
    private const short Version = 16;

    /// <summary>NOT_LEADER_OR_FOLLOWER (Kafka's Errors.java).</summary>
    private const short NotLeaderOrFollower = 6;

    private readonly PooledBufferWriter _buffer = new(4 * 1024);
    private FetchResponse _response = null!;
    private ReadOnlyMemory<byte> _encoded;

    [GlobalSetup]
    public void Setup()
    {
        var topic = new FetchResponse.FetchableTopicResponse
        {
            Topic = BenchmarkData.Topic,
            TopicId = BenchmarkData.TopicId,
        };
        for (var p = 0; p < BenchmarkData.Partitions; p++)
        {
            topic.Partitions.Add(new FetchResponse.PartitionData
            {
                PartitionIndex = p,
                ErrorCode = NotLeaderOrFollower,
                HighWatermark = -1,
                CurrentLeader = new FetchResponse.LeaderIdAndEpoch { LeaderId = 2, LeaderEpoch = 8 },
                AbortedTransactions = null,
                Records = ReadOnlyMemory<byte>.Empty,
            });
        }

        _response = new FetchResponse
        {
            Responses = [topic],
            NodeEndpoints = [new FetchResponse.NodeEndpoint { NodeId = 2, Host = "broker-2.internal", Port = 9092 }],
        };
        _encoded = MessageCodec.EncodeAndVerify(_response, Version);
    }

    [GlobalCleanup]
    public void Cleanup() => _buffer.Dispose();

    [Benchmark]
    public int Encode() => MessageCodec.Encode(_response, _buffer, Version);

    [Benchmark]
    public FetchResponse Decode() => MessageCodec.Decode<FetchResponse>(_encoded, Version);
}
