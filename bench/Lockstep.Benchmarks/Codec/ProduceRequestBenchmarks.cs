using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;

namespace Lockstep.Benchmarks.Codec;

/// <summary>
/// ProduceRequest with 1 topic x 4 partitions, each carrying a 16 KiB uncompressed batch of 16 x 1 KiB records:
/// what a producer with a 16 KiB <c>batch.size</c> sends to one broker leading four partitions.
/// </summary>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet disposes the buffers in [GlobalCleanup].")]
public class ProduceRequestBenchmarks
{
    private readonly PooledBufferWriter _buffer = new(128 * 1024);
    private ProduceRequest _request = null!;
    private ReadOnlyMemory<byte> _encoded;

    /// <summary>v8: the last non-flexible version; v11: flexible (KIP-482) with TRANSACTION_ABORTABLE (KIP-890).</summary>
    [Params(8, 11)]
    public short Version { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var batch = BenchmarkData.CreateBatch(CompressionType.None, CompressionCodecRegistry.None);
        var topic = new ProduceRequest.TopicProduceData { Name = BenchmarkData.Topic };
        for (var p = 0; p < BenchmarkData.Partitions; p++)
        {
            topic.PartitionData.Add(new ProduceRequest.PartitionProduceData { Index = p, Records = batch });
        }

        _request = new ProduceRequest { Acks = -1, TimeoutMs = 30_000, TopicData = [topic] };
        _encoded = MessageCodec.EncodeAndVerify(_request, Version);
    }

    [GlobalCleanup]
    public void Cleanup() => _buffer.Dispose();

    [Benchmark]
    public int Encode() => MessageCodec.Encode(_request, _buffer, Version);

    [Benchmark]
    public ProduceRequest Decode() => MessageCodec.Decode<ProduceRequest>(_encoded, Version);
}
