using System.Globalization;
using System.Text;
using Lockstep.Client;
using Lockstep.Protocol.Records;

// Protocol on stdout, one line each (the test parses them):
//   "prepared <pid:epoch>"  after PrepareTransactionAsync (default), or
//   "ongoing"               after the records are flushed, with --no-prepare (the transaction is left open);
// then it waits on stdin. The test normally SIGKILLs it there. If it reads "commit" instead (the zombie case), it
// tries to finish its transaction (with --no-prepare: produce one more record, then commit) and prints
// "committed" or "failed <ExceptionType>: <message>". Exit code 2 = bad arguments.
string? bootstrap = null, transactionalId = null, topic = null, prefix = "record";
var count = 3;
var prepare = true;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--bootstrap": bootstrap = Next(); break;
        case "--transactional-id": transactionalId = Next(); break;
        case "--topic": topic = Next(); break;
        case "--prefix": prefix = Next(); break;
        case "--records": count = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--no-prepare": prepare = false; break;
        default:
            await Console.Error.WriteLineAsync($"unknown argument {args[i]}");
            return 2;
    }
}

if (bootstrap is null || transactionalId is null || topic is null)
{
    await Console.Error.WriteLineAsync(
        "usage: --bootstrap HOST:PORT --transactional-id ID --topic T [--prefix P] [--records N] [--no-prepare]");
    return 2;
}

var options = new KafkaProducerOptions
{
    BootstrapServers = bootstrap,
    ClientId = "crash-worker",
    TransactionalId = transactionalId,
    TransactionTwoPhaseCommitEnable = true,
    RetryBackoff = TimeSpan.FromMilliseconds(10),
    RetryBackoffMax = TimeSpan.FromMilliseconds(100),
    RequestTimeout = TimeSpan.FromSeconds(10),
    MaxBlock = TimeSpan.FromSeconds(20),
    DeliveryTimeout = TimeSpan.FromSeconds(30),
};

var producer = new KafkaProducer(options);
await producer.InitTransactionsAsync();
producer.BeginTransaction();
for (var i = 0; i < count; i++)
{
    await producer.ProduceAsync(Record(topic, prefix, i.ToString(CultureInfo.InvariantCulture)));
}

if (prepare)
{
    var token = await producer.PrepareTransactionAsync();
    Console.WriteLine($"prepared {token}");
}
else
{
    await producer.FlushAsync();
    Console.WriteLine("ongoing");
}

Console.Out.Flush();
var command = await Console.In.ReadLineAsync();
if (command != "commit")
{
    // stdin closed without a command: leave the transaction as it is, as a crash would.
    return 0;
}

try
{
    if (!prepare)
    {
        await producer.ProduceAsync(Record(topic, prefix, "late"));
    }

    await producer.CommitTransactionAsync();
    Console.WriteLine("committed");
}
#pragma warning disable CA1031 // The point is to report whatever the client threw, by type, to the test.
catch (Exception ex)
#pragma warning restore CA1031
{
    Console.WriteLine($"failed {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}");
}

Console.Out.Flush();

// Not disposed on purpose: a fenced producer has nothing to flush, and disposing would only add shutdown time.
return 0;

static ProducerRecord Record(string topic, string prefix, string suffix) =>
    new(topic, Encoding.UTF8.GetBytes($"key-{suffix}"), Encoding.UTF8.GetBytes($"{prefix}-{suffix}"))
    {
        Partition = 0,
        Headers = [new RecordHeader("worker", Encoding.UTF8.GetBytes(prefix))],
    };
