using System.Collections.Concurrent;
using Confluent.Kafka;
using Lockstep.Interop.Tests.Infrastructure;
using Lockstep.Testing;

namespace Lockstep.Interop.Tests;

/// <summary>
/// Goal: nothing acknowledged is lost or duplicated when the broker process dies (issue 3 "Crash"). Method: the
/// `lockstep broker` CLI as a child process (default durability: produce acknowledged only after fsync); one
/// Confluent.Kafka idempotent producer (acks=all, message.timeout.ms 120 s so records in flight during the outage are
/// retried rather than failed) sends keyed records to 3 partitions at a steady rate; after 3,000 acknowledgements
/// the broker gets SIGKILL (no flush, no close), stays down for a second while the producer keeps queueing, and is
/// restarted on the same data directory and port. The SAME producer instance reconnects and continues; after 3,000
/// further acknowledgements it stops and flushes. Asserted: no delivery error; the log read back holds every
/// acknowledged record exactly once at its acknowledged partition and offset, nothing else (so no retried batch was
/// appended twice, which needs the producer state recovered from the log), in send order per partition.
/// </summary>
public sealed class CrashRecoveryTests
{
    private const string Topic = "crash";

    [Fact]
    public async Task Sigkill_while_an_idempotent_producer_sends_loses_and_duplicates_no_acknowledged_record()
    {
        var log = new TestLog();
        using var data = new TempDirectory("crash");
        var broker = await BrokerProcess.StartAsync(data.Path, log);
        try
        {
            Assert.Equal([$"listening on {broker.BootstrapServers}"], broker.StdoutLines);
            var bootstrap = broker.BootstrapServers;
            var port = broker.Port;
            await ConfluentClients.CreateTopicAsync(bootstrap, Topic, partitions: 3);

            var config = ConfluentClients.IdempotentProducer(bootstrap);
            config.MessageTimeoutMs = 120_000;
            var reports = new ConcurrentQueue<(long Index, DeliveryReport<string, string> Report)>();
            var acknowledged = 0;
            using var producer = ConfluentClients.BuildProducer(config, log);
            using var stop = new CancellationTokenSource();
            var sending = Task.Run(async () =>
            {
                for (long i = 0; !stop.IsCancellationRequested; i++)
                {
                    var index = i;
                    producer.Produce(Topic, new Message<string, string> { Key = $"key-{i % 40}", Value = $"crash-{i:D7}" },
                        report =>
                        {
                            reports.Enqueue((index, report));
                            if (!report.Error.IsError)
                            {
                                Interlocked.Increment(ref acknowledged);
                            }
                        });
                    if (i % 20 == 19)
                    {
                        await Task.Delay(5, CancellationToken.None);
                    }
                }
            }, CancellationToken.None);

            await ConfluentClients.WaitUntilAsync(() => Volatile.Read(ref acknowledged) >= 3_000, TimeSpan.FromSeconds(60),
                "3,000 records were acknowledged before the crash");
            await broker.KillAsync();
            var acknowledgedAtCrash = Volatile.Read(ref acknowledged);
            log.Write("test", $"killed the broker after {acknowledgedAtCrash} acknowledgements");
            await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);

            await broker.DisposeAsync();
            broker = await BrokerProcess.StartAsync(data.Path, log, port, bindRetry: TimeSpan.FromSeconds(30));
            await ConfluentClients.WaitUntilAsync(
                () => Volatile.Read(ref acknowledged) >= acknowledgedAtCrash + 3_000, TimeSpan.FromSeconds(120),
                "the same producer had 3,000 more records acknowledged after the restart");
            await stop.CancelAsync();
            await sending;
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(120)));

            var failed = reports.Where(r => r.Report.Error.IsError).ToList();
            Assert.True(failed.Count == 0,
                $"{failed.Count} delivery errors, first: {failed.FirstOrDefault().Report?.Error} ({failed.FirstOrDefault().Report?.Message.Value})");
            var sent = reports.OrderBy(r => r.Index)
                .Select(r => new Seen(r.Report.Partition.Value, r.Report.Offset.Value, r.Report.Message.Key, r.Report.Message.Value))
                .ToList();

            var stored = ConfluentClients.ReadAll(bootstrap, Topic, log, TimeSpan.FromSeconds(120));
            Verify.ExactlyOnceInOrder(sent, stored);
        }
        finally
        {
            await broker.DisposeAsync();
        }
    }
}
