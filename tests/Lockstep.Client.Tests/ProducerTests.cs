using System.Text;
using Lockstep.Client.Producer;
using Lockstep.Client.Tests.Harness;
using Lockstep.Protocol.Records;
using static Lockstep.Client.Tests.Harness.TestToken;

namespace Lockstep.Client.Tests;

/// <summary>
/// Goal: the producer writes what it was given, where Java would put it, in order, with every codec, and reports
/// offsets that match the log. Method: produce to the embedded broker (in-memory transport), then read the
/// partitions back with raw Fetch requests through <see cref="KafkaClient"/>.
/// </summary>
public sealed class ProducerTests
{
    private static readonly Dictionary<string, string> ThreePartitions = new() { ["num.partitions"] = "3" };

    [Fact]
    public async Task Keyed_records_land_on_murmur2_partitions_with_reported_offsets()
    {
        await using var broker = await ClientTestBroker.StartAsync(ThreePartitions);
        var results = new List<(string Key, DeliveryResult Result)>();
        await using (var producer = new KafkaProducer(broker.ProducerOptions()))
        {
            var tasks = Enumerable.Range(0, 60)
                .Select(i => ($"key-{i % 12}", producer.ProduceAsync("keyed", Encoding.UTF8.GetBytes($"key-{i % 12}"),
                    Encoding.UTF8.GetBytes($"value-{i}"), Ct)))
                .ToList();
            foreach (var (key, task) in tasks)
            {
                results.Add((key, await task));
            }
        }

        await using var client = broker.RawClient();
        foreach (var (key, result) in results)
        {
            Assert.Equal(Partitioner.PartitionForKey(Encoding.UTF8.GetBytes(key), 3), result.Partition);
            Assert.Equal("keyed", result.Topic);
        }

        Assert.True(results.Select(r => r.Result.Partition).Distinct().Count() > 1, "12 keys should spread over partitions");
        for (var partition = 0; partition < 3; partition++)
        {
            var (records, _, _) = await LogReader.ReadAsync(client, "keyed", partition, isolationLevel: 0);
            var expected = results.Where(r => r.Result.Partition == partition).OrderBy(r => r.Result.Offset).ToList();
            Assert.Equal(expected.Count, records.Count);
            for (var i = 0; i < records.Count; i++)
            {
                Assert.Equal(expected[i].Result.Offset, records[i].Offset);
                Assert.Equal(expected[i].Key, Encoding.UTF8.GetString(records[i].Key!));
            }

            // Call order is preserved per partition: values increase.
            var values = records.Select(r => int.Parse(Encoding.UTF8.GetString(r.Value!)["value-".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(values.OrderBy(v => v), values);

            // Idempotent by default: batches carry a producer id and contiguous sequences from 0.
            Assert.All(records, r => Assert.True(r.ProducerId >= 0));
            Assert.Equal(Enumerable.Range(0, records.Count), records.Select(r => r.Sequence));
        }
    }

    [Fact]
    public async Task Keyless_records_stick_to_one_partition_per_batch()
    {
        await using var broker = await ClientTestBroker.StartAsync(ThreePartitions);
        var options = broker.ProducerOptions();
        options.Linger = TimeSpan.FromMilliseconds(50);
        await using var producer = new KafkaProducer(options);
        var tasks = Enumerable.Range(0, 20).Select(i => producer.ProduceAsync("sticky", null, new byte[10], Ct)).ToList();
        var results = await Task.WhenAll(tasks);

        // 20 small records are far below batch.size: sticky partitioning keeps them on one partition.
        Assert.Single(results.Select(r => r.Partition).Distinct());
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), results.Select(r => r.Offset));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("snappy")]
    [InlineData("lz4")]
    [InlineData("zstd")]
    public async Task Every_codec_round_trips(string codec)
    {
        await using var broker = await ClientTestBroker.StartAsync();
        var options = broker.ProducerOptions();
        options.Set("compression.type", codec);
        options.Linger = TimeSpan.FromMilliseconds(20);
        var payloads = Enumerable.Range(0, 200).Select(i => Encoding.UTF8.GetBytes(new string((char)('a' + (i % 26)), 100 + i))).ToList();
        await using (var producer = new KafkaProducer(options))
        {
            var tasks = payloads.Select(p => producer.ProduceAsync(new ProducerRecord("codec", null, p)
            {
                Partition = 0,
                Headers = [new RecordHeader("h", [1, 2])],
            }, Ct)).ToList();
            await producer.FlushAsync(Ct);
            Assert.All(tasks, t => Assert.True(t.IsCompletedSuccessfully));
        }

        await using var client = broker.RawClient();
        var (records, highWatermark, _) = await LogReader.ReadAsync(client, "codec", 0, isolationLevel: 0);
        Assert.Equal(200, highWatermark);
        Assert.Equal(payloads.Select(Convert.ToHexString), records.Select(r => Convert.ToHexString(r.Value!)));

        // The batches were really compressed with the codec asked for.
        var fetch = await RawFetchAsync(client, "codec");
        var batches = RecordBatch.ReadAll(fetch, Lockstep.Protocol.Compression.KafkaCompression.CreateRegistry(), true);
        Assert.All(batches, b => Assert.Equal(options.CompressionType, b.Header.Compression));
        Assert.All(batches.SelectMany(b => b.Records), r => Assert.Equal("h", Assert.Single(r.Headers).Key));
    }

    private static async Task<byte[]> RawFetchAsync(KafkaClient client, string topic)
    {
        var response = await client.SendAsync<Lockstep.Protocol.Messages.FetchRequest, Lockstep.Protocol.Messages.FetchResponse>(
            new Lockstep.Protocol.Messages.FetchRequest
            {
                ReplicaId = -1,
                MaxBytes = 1 << 26,
                Topics = [new() { Topic = topic, Partitions = [new() { Partition = 0, PartitionMaxBytes = 1 << 26 }] }],
            }, maxVersion: 12, cancellationToken: Ct);
        return response.Responses[0].Partitions[0].Records!.Value.ToArray();
    }

    [Fact]
    public async Task Full_buffer_makes_ProduceAsync_wait_then_time_out_after_max_block()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        var options = broker.ProducerOptions();
        options.BufferMemory = 4096;
        options.BatchSize = 1 << 20;
        options.Linger = TimeSpan.FromHours(1); // one open batch that is never full: nothing is sent until flushed
        options.DeliveryTimeout = TimeSpan.FromHours(2);
        options.MaxBlock = TimeSpan.FromMilliseconds(300);
        await using var producer = new KafkaProducer(options);

        var tasks = Enumerable.Range(0, 20)
            .Select(_ => producer.ProduceAsync(new ProducerRecord("bp", null, new byte[500]) { Partition = 0 }, Ct))
            .ToList();
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);

        // Each record reserves ~521 bytes, so about 7 fit in 4096; the rest waited max.block.ms and failed, saying
        // why. The accepted ones are still buffered (lingering), not lost.
        var accepted = tasks.TakeWhile(t => !t.IsCompleted).ToList();
        Assert.InRange(accepted.Count, 5, 8);
        var first = await Assert.ThrowsAsync<KafkaRetriableException>(() => tasks[accepted.Count]);
        Assert.Contains("buffer.memory", first.Message, StringComparison.Ordinal);
        foreach (var rejected in tasks.Skip(accepted.Count + 1))
        {
            // Later calls queued behind it (appends stay in call order) and gave up too.
            var ex = await Assert.ThrowsAsync<KafkaRetriableException>(() => rejected);
            Assert.Contains("max.block.ms", ex.Message, StringComparison.Ordinal);
        }

        // Flushing sends the batch; the accepted records are acknowledged in call order.
        await producer.FlushAsync(Ct);
        var offsets = new List<long>();
        foreach (var task in accepted)
        {
            offsets.Add((await task).Offset);
        }

        Assert.Equal(Enumerable.Range(0, accepted.Count).Select(i => (long)i), offsets);
    }

    [Fact]
    public async Task Producer_works_over_TCP_against_a_real_listener()
    {
        using var dir = new Lockstep.Testing.TempDirectory("client-tcp");
        var brokerOptions = new Lockstep.Broker.BrokerOptions { DataDirectory = dir.Path, Listen = "127.0.0.1:0" };
        await using var broker = await Lockstep.Broker.KafkaBroker.StartAsync(brokerOptions, Ct);
        var options = new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, Linger = TimeSpan.Zero };
        await using var producer = new KafkaProducer(options);
        var first = await producer.ProduceAsync("tcp", "k"u8.ToArray(), "v1"u8.ToArray(), Ct);
        var second = await producer.ProduceAsync("tcp", "k"u8.ToArray(), "v2"u8.ToArray(), Ct);
        Assert.Equal(first.Partition, second.Partition);
        Assert.Equal(first.Offset + 1, second.Offset);
    }
}
