using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Lockstep.Storage;

namespace Lockstep.Broker;

/// <summary>
/// Broker settings under Apache Kafka's configuration names (so users can carry their <c>server.properties</c>
/// knowledge over), parsed and validated once at start-up. Unknown names are rejected with a suggestion instead of
/// being ignored, so a typo never silently changes behaviour.
/// </summary>
public sealed class BrokerConfig
{
    private static readonly Dictionary<string, (string Default, string About)> Known = new(StringComparer.Ordinal)
    {
        ["node.id"] = ("1", "The broker's node id (single node: any non-negative int)."),
        ["num.partitions"] = ("1", "Partitions of an auto-created topic."),
        ["default.replication.factor"] = ("1", "Accepted for compatibility; a single node always has replication factor 1."),
        ["auto.create.topics.enable"] = ("true", "Create unknown topics on Metadata/Produce."),
        ["log.retention.ms"] = ("604800000", "Delete segments older than this (-1: never)."),
        ["log.retention.bytes"] = ("-1", "Delete old segments while a partition is larger than this (-1: no limit)."),
        ["log.segment.bytes"] = ("1073741824", "Roll a new segment at this size."),
        ["log.roll.ms"] = ("604800000", "Roll a new segment after this age."),
        ["log.index.interval.bytes"] = ("4096", "Bytes between offset-index entries."),
        ["log.retention.check.interval.ms"] = ("300000", "How often retention runs."),
        ["message.max.bytes"] = ("1048588", "Largest record batch accepted (MESSAGE_TOO_LARGE above)."),
        ["socket.request.max.bytes"] = ("104857600", "Largest request frame; larger frames close the connection before any allocation."),
        ["lockstep.durability"] = ("fsync", "fsync: acknowledge produce (acks=1/all) only after fsync (group commit). os: leave flushing to the OS, as Kafka does by default."),
        ["group.min.session.timeout.ms"] = ("6000", "Smallest session timeout a group member may ask for."),
        ["group.max.session.timeout.ms"] = ("1800000", "Largest session timeout a group member may ask for."),
        ["group.initial.rebalance.delay.ms"] = ("0", "Delay of a new group's first rebalance. Kafka defaults to 3000; Lockstep, a single-node development default, uses 0 as Kafka's own quickstart configs do."),
        ["offsets.retention.minutes"] = ("10080", "How long committed offsets of an empty group are kept."),
        ["offsets.retention.check.interval.ms"] = ("600000", "How often expired committed offsets are removed."),
        ["producer.id.expiration.ms"] = ("86400000", "Forget idle idempotent producer state after this long."),
        ["transaction.max.timeout.ms"] = ("900000", "Largest transaction timeout a producer may ask for (INVALID_TRANSACTION_TIMEOUT above)."),
        ["transactional.id.expiration.ms"] = ("604800000", "Forget an idle transactional id after this long."),
        ["transaction.remove.expired.transaction.cleanup.interval.ms"] = ("3600000", "How often the coordinator removes transactional ids idle longer than transactional.id.expiration.ms."),
        ["transaction.abort.timed.out.transaction.cleanup.interval.ms"] = ("10000", "How often the coordinator aborts timed-out transactions."),
        ["transaction.two.phase.commit.enable"] = ("true", "KIP-939: allow two-phase-commit producers (InitProducerId v6 is advertised only when on). Apache Kafka defaults to false."),
        ["transaction.version"] = ("2", "Finalized transaction.version feature level advertised to clients (0, 1 or 2; 2 = KIP-890 transactions V2)."),
        ["unstable.api.versions.enable"] = ("false", "Accepted for compatibility; Lockstep advertises only versions it implements."),
    };

    private readonly Dictionary<string, string> _values;

    private BrokerConfig(Dictionary<string, string> values)
    {
        _values = values;
        NodeId = Int("node.id", min: 0);
        NumPartitions = Int("num.partitions", min: 1);
        AutoCreateTopics = Bool("auto.create.topics.enable");
        MessageMaxBytes = Int("message.max.bytes", min: 1);
        SocketRequestMaxBytes = Int("socket.request.max.bytes", min: 1024);
        RetentionCheckIntervalMs = Long("log.retention.check.interval.ms", min: 1);
        GroupMinSessionTimeoutMs = Int("group.min.session.timeout.ms", min: 0);
        GroupMaxSessionTimeoutMs = Int("group.max.session.timeout.ms", min: 0);
        GroupInitialRebalanceDelayMs = Int("group.initial.rebalance.delay.ms", min: 0);
        OffsetsRetentionMs = checked(Long("offsets.retention.minutes", min: 1) * 60_000);
        OffsetsRetentionCheckIntervalMs = Long("offsets.retention.check.interval.ms", min: 1);
        ProducerIdExpirationMs = Long("producer.id.expiration.ms", min: 1);
        TransactionMaxTimeoutMs = Int("transaction.max.timeout.ms", min: 1);
        TransactionalIdExpirationMs = Long("transactional.id.expiration.ms", min: 1);
        TransactionCleanupIntervalMs = Long("transaction.abort.timed.out.transaction.cleanup.interval.ms", min: 1);
        TransactionalIdExpirationCheckIntervalMs = Long("transaction.remove.expired.transaction.cleanup.interval.ms", min: 1);
        TwoPhaseCommitEnabled = Bool("transaction.two.phase.commit.enable");
        TransactionVersion = (short)Int("transaction.version", min: 0);
        if (TransactionVersion > 2)
        {
            throw new ArgumentException("transaction.version must be 0, 1 or 2.");
        }

        var durability = Get("lockstep.durability");
        DefaultLogConfig = new LogConfig
        {
            SegmentBytes = Int("log.segment.bytes", min: 1024),
            SegmentMs = Long("log.roll.ms", min: 1),
            IndexIntervalBytes = Int("log.index.interval.bytes", min: 0),
            RetentionMs = Long("log.retention.ms", min: -1),
            RetentionBytes = Long("log.retention.bytes", min: -1),
            Durability = durability switch
            {
                "fsync" => Durability.Fsync,
                "os" => Durability.OsFlush,
                _ => throw new ArgumentException($"lockstep.durability must be 'fsync' or 'os', not '{durability}'."),
            },
        };
        DefaultLogConfig.Validate();
    }

    /// <summary>The broker's node id.</summary>
    public int NodeId { get; }

    /// <summary>Partitions of auto-created topics (<c>num.partitions</c>).</summary>
    public int NumPartitions { get; }

    /// <summary><c>auto.create.topics.enable</c>.</summary>
    public bool AutoCreateTopics { get; }

    /// <summary><c>message.max.bytes</c>.</summary>
    public int MessageMaxBytes { get; }

    /// <summary><c>socket.request.max.bytes</c>.</summary>
    public int SocketRequestMaxBytes { get; }

    /// <summary><c>log.retention.check.interval.ms</c>.</summary>
    public long RetentionCheckIntervalMs { get; }

    /// <summary><c>group.min.session.timeout.ms</c>.</summary>
    public int GroupMinSessionTimeoutMs { get; }

    /// <summary><c>group.max.session.timeout.ms</c>.</summary>
    public int GroupMaxSessionTimeoutMs { get; }

    /// <summary><c>group.initial.rebalance.delay.ms</c>.</summary>
    public int GroupInitialRebalanceDelayMs { get; }

    /// <summary><c>offsets.retention.minutes</c>, in milliseconds.</summary>
    public long OffsetsRetentionMs { get; }

    /// <summary><c>offsets.retention.check.interval.ms</c>.</summary>
    public long OffsetsRetentionCheckIntervalMs { get; }

    /// <summary><c>producer.id.expiration.ms</c>.</summary>
    public long ProducerIdExpirationMs { get; }

    /// <summary><c>transaction.max.timeout.ms</c>.</summary>
    public int TransactionMaxTimeoutMs { get; }

    /// <summary><c>transactional.id.expiration.ms</c>.</summary>
    public long TransactionalIdExpirationMs { get; }

    /// <summary><c>transaction.abort.timed.out.transaction.cleanup.interval.ms</c>.</summary>
    public long TransactionCleanupIntervalMs { get; }

    /// <summary><c>transaction.remove.expired.transaction.cleanup.interval.ms</c>.</summary>
    public long TransactionalIdExpirationCheckIntervalMs { get; }

    /// <summary><c>transaction.two.phase.commit.enable</c> (KIP-939).</summary>
    public bool TwoPhaseCommitEnabled { get; }

    /// <summary>Finalized <c>transaction.version</c> feature level.</summary>
    public short TransactionVersion { get; }

    /// <summary>Log settings for topics without overrides.</summary>
    public LogConfig DefaultLogConfig { get; }

    /// <summary>Every known setting name with its effective value (for DescribeConfigs and logs).</summary>
    public IEnumerable<KeyValuePair<string, string>> EffectiveValues =>
        Known.Keys.Order(StringComparer.Ordinal).Select(k => KeyValuePair.Create(k, Get(k)));

    /// <summary>True when <paramref name="name"/> was set explicitly rather than defaulted.</summary>
    public bool IsExplicit(string name) => _values.ContainsKey(name);

    /// <summary>The documented default of a known setting.</summary>
    public static string DefaultOf(string name) => Known[name].Default;

    /// <summary>Every known setting name with its help text (for <c>lockstep broker --help-settings</c>).</summary>
    public static IEnumerable<(string Name, string Default, string About)> Describe() =>
        Known.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => (k.Key, k.Value.Default, k.Value.About));

    /// <summary>
    /// Parses <paramref name="settings"/> (Kafka names to values). Throws <see cref="ArgumentException"/> naming the
    /// offending setting for an unknown name or an invalid value.
    /// </summary>
    public static BrokerConfig Parse(IReadOnlyDictionary<string, string>? settings = null)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
        {
            if (!Known.ContainsKey(name))
            {
                var hint = Known.Keys
                    .OrderBy(k => Distance(k, name))
                    .First();
                throw new ArgumentException($"Unknown broker setting '{name}'. Did you mean '{hint}'?");
            }

            values[name] = value.Trim();
        }

        return new BrokerConfig(values);
    }

    private string Get(string name) => _values.TryGetValue(name, out var v) ? v : Known[name].Default;

    private int Int(string name, int min)
    {
        var text = Get(name);
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min)
        {
            throw new ArgumentException($"Broker setting {name}={text} must be an integer >= {min}.");
        }

        return value;
    }

    private long Long(string name, long min)
    {
        var text = Get(name);
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min)
        {
            throw new ArgumentException($"Broker setting {name}={text} must be an integer >= {min}.");
        }

        return value;
    }

    private bool Bool(string name)
    {
        var text = Get(name);
        return text switch
        {
            "true" => true,
            "false" => false,
            _ => throw new ArgumentException($"Broker setting {name}={text} must be true or false."),
        };
    }

    private static int Distance(string a, string b)
    {
        // Levenshtein distance, for the "did you mean" hint only.
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
