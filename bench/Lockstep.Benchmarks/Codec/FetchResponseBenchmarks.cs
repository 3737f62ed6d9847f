using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;

namespace Lockstep.Benchmarks.Codec;

/// <summary>
/// FetchResponse answering <see cref="FetchRequestBenchmarks"/>: 1 topic x 4 partitions, each returning one 16 KiB
/// uncompressed batch of 16 x 1 KiB records (read_uncommitted, so no aborted-transaction list).
/// </summary>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet disposes the buffers in [GlobalCleanup].")]
public class FetchResponseBenchmarks
{
    private readonly PooledBufferWriter _buffer = new(128 * 1024);
    private FetchResponse _response = null!;
    private ReadOnlyMemory<byte> _encoded;

    /// <summary>v11: the last non-flexible version; v16: flexible (KIP-482) with topic ids (KIP-516).</summary>
    [Params(11, 16)]
    public short Version { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var batch = BenchmarkData.CreateBatch(CompressionType.None, CompressionCodecRegistry.None);
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
                ErrorCode = 0,
                HighWatermark = 1_000_016 + (p * 16),
                LastStableOffset = 1_000_016 + (p * 16),
                LogStartOffset = 0,
                AbortedTransactions = null,
                PreferredReadReplica = -1,
                Records = batch,
            });
        }

        _response = new FetchResponse { ThrottleTimeMs = 0, ErrorCode = 0, SessionId = 0, Responses = [topic] };
        _encoded = MessageCodec.EncodeAndVerify(_response, Version);
    }

    [GlobalCleanup]
    public void Cleanup() => _buffer.Dispose();

    [Benchmark]
    public int Encode() => MessageCodec.Encode(_response, _buffer, Version);

    [Benchmark]
    public FetchResponse Decode() => MessageCodec.Decode<FetchResponse>(_encoded, Version);
}
