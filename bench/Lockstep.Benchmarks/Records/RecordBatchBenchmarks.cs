using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;

namespace Lockstep.Benchmarks.Records;

/// <summary>
/// Builds and reads one 16 KiB batch of 16 x 1 KiB records, uncompressed and with each of Kafka's codecs.
/// </summary>
/// <remarks>
/// Build = append the 16 records to a reused builder, compress, write header and CRC-32C into a reused output
/// buffer (a producer's steady state). Read = validate the CRC, decompress into a reused buffer and walk every
/// record (a consumer's steady state; <see cref="RecordView"/> does not copy keys or values).
/// </remarks>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet disposes the buffers in [GlobalCleanup].")]
public class RecordBatchBenchmarks
{
    private readonly CompressionCodecRegistry _codecs = KafkaCompression.CreateRegistry();
    private readonly PooledBufferWriter _output = new(64 * 1024);
    private readonly PooledBufferWriter _decompressed = new(64 * 1024);
    private RecordBatchBuilder _builder = null!;
    private byte[] _batch = [];

    [Params(CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd)]
    public CompressionType Compression { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _builder = new RecordBatchBuilder(Compression, _codecs);
        _batch = BenchmarkData.CreateBatch(Compression, _codecs);

        // Sanity check before timing: the batch reads back as the records that went in.
        var values = 0L;
        var count = ReadAll(ref values);
        if (count != BenchmarkData.RecordsPerBatch || values != (long)count * BenchmarkData.ValueSize)
        {
            throw new InvalidOperationException($"{Compression} batch read back {count} records, {values} bytes.");
        }

        // The builder reuses its compression buffer between WriteTo calls; building twice must give the same bytes.
        for (var i = 0; i < 2; i++)
        {
            Build();
            if (!_output.WrittenSpan.SequenceEqual(_batch))
            {
                throw new InvalidOperationException($"{Compression} batch differs when the builder is reused.");
            }
        }

        Console.WriteLine($"// {Compression}: batch of {count} records is {_batch.Length} bytes on the wire");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _builder.Dispose();
        _output.Dispose();
        _decompressed.Dispose();
    }

    [Benchmark]
    public int Build()
    {
        _builder.Reset();
        BenchmarkData.AppendRecords(_builder);
        _output.Clear();
        return _builder.WriteTo(_output);
    }

    [Benchmark]
    public long Read()
    {
        var values = 0L;
        ReadAll(ref values);
        return values;
    }

    private int ReadAll(ref long valueBytes)
    {
        // Not `using var`: a using variable is read-only, so TryReadNext would advance a defensive copy.
        var reader = RecordBatchReader.Create(_batch, _codecs, _decompressed);
        try
        {
            var count = 0;
            while (reader.TryReadNext(out var record))
            {
                valueBytes += record.Value.Length;
                count++;
            }

            return count;
        }
        finally
        {
            reader.Dispose();
        }
    }
}
