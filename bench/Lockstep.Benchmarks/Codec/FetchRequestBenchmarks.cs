using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Benchmarks.Codec;

/// <summary>A consumer's FetchRequest for 1 topic x 4 partitions, each with a 1 MiB partition limit.</summary>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet disposes the buffers in [GlobalCleanup].")]
public class FetchRequestBenchmarks
{
    private readonly PooledBufferWriter _buffer = new(4 * 1024);
    private FetchRequest _request = null!;
    private ReadOnlyMemory<byte> _encoded;

    /// <summary>v11: the last non-flexible version (topic names); v16: flexible (KIP-482) with topic ids (KIP-516).</summary>
    [Params(11, 16)]
    public short Version { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // Topic and TopicId are both ignorable, so one message serves both versions: v11 writes the name, v16 the id.
        var topic = new FetchRequest.FetchTopic { Topic = BenchmarkData.Topic, TopicId = BenchmarkData.TopicId };
        for (var p = 0; p < BenchmarkData.Partitions; p++)
        {
            topic.Partitions.Add(new FetchRequest.FetchPartition
            {
                Partition = p,
                CurrentLeaderEpoch = 7,
                FetchOffset = 1_000_000 + (p * 16),
                LastFetchedEpoch = Version >= 12 ? 7 : -1,
                LogStartOffset = -1,
                PartitionMaxBytes = 1024 * 1024,
            });
        }

        _request = new FetchRequest
        {
            MaxWaitMs = 500,
            MinBytes = 1,
            MaxBytes = 50 * 1024 * 1024,
            IsolationLevel = 0,
            SessionId = 0,
            SessionEpoch = -1,
            Topics = [topic],
            RackId = "",
        };
        _encoded = MessageCodec.EncodeAndVerify(_request, Version);
    }

    [GlobalCleanup]
    public void Cleanup() => _buffer.Dispose();

    [Benchmark]
    public int Encode() => MessageCodec.Encode(_request, _buffer, Version);

    [Benchmark]
    public FetchRequest Decode() => MessageCodec.Decode<FetchRequest>(_encoded, Version);
}
