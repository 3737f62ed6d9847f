using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Benchmarks.Codec;

/// <summary>ProduceResponse acknowledging the 1 topic x 4 partitions of <see cref="ProduceRequestBenchmarks"/>.</summary>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet disposes the buffers in [GlobalCleanup].")]
public class ProduceResponseBenchmarks
{
    private readonly PooledBufferWriter _buffer = new(4 * 1024);
    private ProduceResponse _response = null!;
    private ReadOnlyMemory<byte> _encoded;

    /// <summary>Same versions as the request: v8 non-flexible, v11 flexible.</summary>
    [Params(8, 11)]
    public short Version { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var topic = new ProduceResponse.TopicProduceResponse { Name = BenchmarkData.Topic };
        for (var p = 0; p < BenchmarkData.Partitions; p++)
        {
            topic.PartitionResponses.Add(new ProduceResponse.PartitionProduceResponse
            {
                Index = p,
                ErrorCode = 0,
                BaseOffset = 1_000_000 + (p * 16),
                LogAppendTimeMs = -1,
                LogStartOffset = 0,
            });
        }

        _response = new ProduceResponse { Responses = [topic], ThrottleTimeMs = 0 };
        _encoded = MessageCodec.EncodeAndVerify(_response, Version);
    }

    [GlobalCleanup]
    public void Cleanup() => _buffer.Dispose();

    [Benchmark]
    public int Encode() => MessageCodec.Encode(_response, _buffer, Version);

    [Benchmark]
    public ProduceResponse Decode() => MessageCodec.Decode<ProduceResponse>(_encoded, Version);
}
