using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Internal;
using Lockstep.Protocol;
using Lockstep.Storage;
using Microsoft.Extensions.Logging;

namespace Lockstep.Broker.Topics;

/// <summary>
/// The topic registry: names, ids, partition counts and config overrides, persisted in
/// <c>DataDirectory/topics.json</c>, plus the <see cref="Partition"/> objects over their logs.
/// </summary>
/// <remarks>
/// <para><b>Concurrency.</b> Mutations (create, delete, add partitions, alter configs) are serialized by
/// <c>_lock</c>; each publishes new immutable maps, so lookups on the request path take no lock.</para>
/// <para><b>Durability.</b> The metadata file is replaced atomically before a change becomes visible: a topic
/// acknowledged by CreateTopics survives a crash. Creating a topic writes the metadata first and then creates the
/// partition logs, so a crash in between leaves a topic whose missing log directories are created on restart; a log
/// directory without metadata (a crash during delete) is ignored and reported.</para>
/// </remarks>
internal sealed partial class TopicManager : IBrokerComponent
{
    /// <summary>Kafka's limit on topic name length (<c>Topic.MAX_NAME_LENGTH</c>).</summary>
    public const int MaxNameLength = 249;

    private readonly BrokerCore _core;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private ImmutableDictionary<string, TopicInfo> _byName = ImmutableDictionary.Create<string, TopicInfo>(StringComparer.Ordinal);
    private ImmutableDictionary<Guid, TopicInfo> _byId = ImmutableDictionary<Guid, TopicInfo>.Empty;

    /// <summary>Creates the manager; <see cref="Open"/> loads what is on disk.</summary>
    public TopicManager(BrokerCore core)
    {
        _core = core;
        _logger = core.LoggerFactory.CreateLogger<TopicManager>();
    }

    private string MetadataPath => Path.Combine(_core.DataDirectory, "topics.json");

    /// <summary>Every topic, in name order.</summary>
    public IReadOnlyList<TopicInfo> Topics => _byName.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();

    /// <summary>Looks up a topic by name.</summary>
    public bool TryGetTopic(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TopicInfo? topic) =>
        _byName.TryGetValue(name, out topic);

    /// <summary>Looks up a topic by id (KIP-516).</summary>
    /// <remarks>
    /// <see cref="Publish"/> replaces the two maps one after the other; checking the id's entry against the name map
    /// means a lock-free reader never sees a deleted (or replaced) topic by its old id.
    /// </remarks>
    public bool TryGetTopic(Guid topicId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TopicInfo? topic)
    {
        if (_byId.TryGetValue(topicId, out var byId) && _byName.TryGetValue(byId.Name, out topic) && topic.TopicId == topicId)
        {
            return true;
        }

        topic = null;
        return false;
    }

    /// <summary>Looks up a partition.</summary>
    public bool TryGetPartition(string topic, int partition, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Partition? result)
    {
        if (_byName.TryGetValue(topic, out var info) && partition >= 0 && partition < info.Partitions.Count)
        {
            result = info.Partitions[partition];
            return true;
        }

        result = null;
        return false;
    }

    /// <summary>
    /// Returns the topic, creating it with broker defaults when <c>auto.create.topics.enable</c> allows
    /// (Metadata and Produce, Kafka's <c>AutoTopicCreationManager</c>). Error is UNKNOWN_TOPIC_OR_PARTITION when
    /// auto-creation is off and INVALID_TOPIC_EXCEPTION for an illegal name.
    /// </summary>
    public (TopicInfo? Topic, ErrorCode Error) GetOrAutoCreate(string name, bool allowAutoCreate = true)
    {
        if (_byName.TryGetValue(name, out var existing))
        {
            return (existing, ErrorCode.None);
        }

        if (!allowAutoCreate || !_core.Config.AutoCreateTopics)
        {
            return (null, ErrorCode.UnknownTopicOrPartition);
        }

        var (topic, error, _) = CreateTopic(name, -1, new Dictionary<string, string?>(), validateOnly: false);
        return error == ErrorCode.TopicAlreadyExists && _byName.TryGetValue(name, out existing)
            ? (existing, ErrorCode.None)
            : (topic, error);
    }

    /// <summary>
    /// Validates Kafka's topic-name rules (<c>Topic.validate</c>): 1-249 characters of <c>[a-zA-Z0-9._-]</c>, not
    /// "." or "..". Returns a message or null.
    /// </summary>
    public static string? ValidateName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "Topic name is empty.";
        }

        if (name is "." or "..")
        {
            return $"Topic name cannot be '{name}'.";
        }

        if (name.Length > MaxNameLength)
        {
            return $"Topic name is longer than {MaxNameLength} characters.";
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return $"Topic name '{name}' contains '{c}'; legal characters are ASCII letters, digits, '.', '_' and '-'.";
            }
        }

        return null;
    }

    /// <summary>
    /// Kafka refuses a topic whose name differs from an existing one only by '.' versus '_' (<c>Topic.hasCollisionChars</c>
    /// in ReplicationControlManager.validateNewTopicNames), because both map to the same metric names. Returns the
    /// existing name, or null. Caller holds <c>_lock</c>.
    /// </summary>
    private string? FindCollision(string name)
    {
        if (!name.Contains('.', StringComparison.Ordinal) && !name.Contains('_', StringComparison.Ordinal))
        {
            return null;
        }

        var unified = name.Replace('.', '_');
        foreach (var existing in _byName.Keys)
        {
            if (existing != name && existing.Length == name.Length && existing.Replace('.', '_') == unified)
            {
                return existing;
            }
        }

        return null;
    }

    /// <summary>
    /// Creates a topic (CreateTopics). <paramref name="partitions"/> of -1 means <c>num.partitions</c>. Returns the
    /// topic, or an error code with a message as CreateTopics reports them.
    /// </summary>
    public (TopicInfo? Topic, ErrorCode Error, string? Message) CreateTopic(
        string name, int partitions, IReadOnlyDictionary<string, string?> configs, bool validateOnly)
    {
        if (ValidateName(name) is { } nameError)
        {
            return (null, ErrorCode.InvalidTopicException, nameError);
        }

        if (_byName.ContainsKey(name))
        {
            // Kafka checks existence before configs (ReplicationControlManager.createTopics).
            return (null, ErrorCode.TopicAlreadyExists, $"Topic '{name}' already exists.");
        }

        if (partitions == -1)
        {
            partitions = _core.Config.NumPartitions;
        }

        if (partitions < 1)
        {
            return (null, ErrorCode.InvalidPartitions, $"Number of partitions must be at least 1 (got {partitions}).");
        }

        var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in configs)
        {
            if (TopicConfigs.Validate(key, value) is { } problem)
            {
                return (null, ErrorCode.InvalidConfig, problem);
            }

            overrides[key] = value!;
        }

        lock (_lock)
        {
            if (_byName.ContainsKey(name))
            {
                return (null, ErrorCode.TopicAlreadyExists, $"Topic '{name}' already exists.");
            }

            if (FindCollision(name) is { } colliding)
            {
                return (null, ErrorCode.InvalidTopicException, $"Topic '{name}' collides with existing topic: {colliding}");
            }

            if (validateOnly)
            {
                return (new TopicInfo(name, Guid.Empty, [], overrides), ErrorCode.None, null);
            }

            var topicId = Guid.NewGuid();
            var stored = new StoredTopic(name, topicId, partitions, overrides);
            Persist(Snapshot().Append(stored));
            var topic = Materialize(stored);
            Publish(_byName.SetItem(name, topic));
            LogCreated(name, partitions);
            return (topic, ErrorCode.None, null);
        }
    }

    /// <summary>Deletes a topic and its logs (DeleteTopics). Returns UNKNOWN_TOPIC_OR_PARTITION when absent.</summary>
    public ErrorCode DeleteTopic(string name)
    {
        lock (_lock)
        {
            if (!_byName.TryGetValue(name, out var topic))
            {
                return ErrorCode.UnknownTopicOrPartition;
            }

            Persist(Snapshot().Where(t => t.Name != name));
            Publish(_byName.Remove(name));
            foreach (var partition in topic.Partitions)
            {
                partition.Dispose();
                _core.Logs.DeleteLog(partition.Id);
            }

            LogDeleted(name);
            return ErrorCode.None;
        }
    }

    /// <summary>
    /// Grows a topic to <paramref name="totalCount"/> partitions (CreatePartitions). Shrinking is
    /// INVALID_PARTITIONS, as in Kafka.
    /// </summary>
    public (ErrorCode Error, string? Message) CreatePartitions(string name, int totalCount, bool validateOnly)
    {
        lock (_lock)
        {
            if (!_byName.TryGetValue(name, out var topic))
            {
                return (ErrorCode.UnknownTopicOrPartition, $"Topic '{name}' does not exist.");
            }

            if (totalCount <= topic.Partitions.Count)
            {
                return (ErrorCode.InvalidPartitions,
                    $"Topic currently has {topic.Partitions.Count} partitions, which is higher than or equal to the requested {totalCount}.");
            }

            if (validateOnly)
            {
                return (ErrorCode.None, null);
            }

            var stored = new StoredTopic(topic.Name, topic.TopicId, totalCount, new Dictionary<string, string>(topic.Configs));
            Persist(Snapshot().Select(t => t.Name == name ? stored : t));
            var partitions = topic.Partitions.ToList();
            for (var i = topic.Partitions.Count; i < totalCount; i++)
            {
                partitions.Add(OpenPartition(stored, i));
            }

            Publish(_byName.SetItem(name, topic with { Partitions = partitions }));
            return (ErrorCode.None, null);
        }
    }

    /// <summary>
    /// Replaces a topic's config overrides (IncrementalAlterConfigs computes the new set). Validates every entry,
    /// persists, and applies the log settings to the open partitions.
    /// </summary>
    public (ErrorCode Error, string? Message) ReplaceConfigs(string name, IReadOnlyDictionary<string, string> overrides, bool validateOnly)
    {
        foreach (var (key, value) in overrides)
        {
            if (TopicConfigs.Validate(key, value) is { } problem)
            {
                return (ErrorCode.InvalidConfig, problem);
            }
        }

        lock (_lock)
        {
            if (!_byName.TryGetValue(name, out var topic))
            {
                return (ErrorCode.UnknownTopicOrPartition, $"Topic '{name}' does not exist.");
            }

            if (validateOnly)
            {
                return (ErrorCode.None, null);
            }

            var copy = new Dictionary<string, string>(overrides, StringComparer.Ordinal);
            var stored = new StoredTopic(topic.Name, topic.TopicId, topic.Partitions.Count, copy);
            Persist(Snapshot().Select(t => t.Name == name ? stored : t));
            var logConfig = TopicConfigs.ToLogConfig(copy, _core.Config);
            foreach (var partition in topic.Partitions)
            {
                partition.Log.UpdateConfig(logConfig);
            }

            Publish(_byName.SetItem(name, topic with { Configs = copy }));
            return (ErrorCode.None, null);
        }
    }

    /// <summary>Log settings for a partition of a known topic (broker defaults otherwise).</summary>
    public LogConfig LogConfigFor(TopicPartition topicPartition) =>
        _byName.TryGetValue(topicPartition.Topic, out var topic)
            ? TopicConfigs.ToLogConfig(topic.Configs, _core.Config)
            : _core.Config.DefaultLogConfig;

    /// <inheritdoc />
    public void Open()
    {
        var bytes = AtomicFile.TryRead(_core.FileSystem, MetadataPath);
        var stored = bytes is null ? [] : Deserialize(bytes);
        var map = ImmutableDictionary.CreateBuilder<string, TopicInfo>(StringComparer.Ordinal);
        foreach (var topic in stored)
        {
            map[topic.Name] = Materialize(topic);
        }

        Publish(map.ToImmutable());
        LogLoaded(map.Count);
    }

    /// <inheritdoc />
    public void Start(CancellationToken stopping)
    {
    }

    /// <inheritdoc />
    public IEnumerable<IApiHandler> CreateHandlers() => [];

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        foreach (var topic in _byName.Values)
        {
            foreach (var partition in topic.Partitions)
            {
                partition.Dispose();
            }
        }

        return ValueTask.CompletedTask;
    }

    private TopicInfo Materialize(StoredTopic stored)
    {
        var partitions = new Partition[stored.Partitions];
        for (var i = 0; i < stored.Partitions; i++)
        {
            partitions[i] = OpenPartition(stored, i);
        }

        return new TopicInfo(stored.Name, stored.TopicId, partitions, stored.Configs);
    }

    private Partition OpenPartition(StoredTopic topic, int index)
    {
        var id = new TopicPartition(topic.Name, index);
        var log = _core.Logs.GetOrCreateLog(id, TopicConfigs.ToLogConfig(topic.Configs, _core.Config));
        return new Partition(_core, id, topic.TopicId, log);
    }

    private void Publish(ImmutableDictionary<string, TopicInfo> byName)
    {
        _byName = byName;
        _byId = byName.Values.ToImmutableDictionary(t => t.TopicId);
    }

    private IEnumerable<StoredTopic> Snapshot() =>
        _byName.Values.Select(t => new StoredTopic(t.Name, t.TopicId, t.Partitions.Count, new Dictionary<string, string>(t.Configs)));

    private void Persist(IEnumerable<StoredTopic> topics)
    {
        var file = new StoredTopics(1, topics.OrderBy(t => t.Name, StringComparer.Ordinal).ToList());
        AtomicFile.Write(_core.FileSystem, MetadataPath, JsonSerializer.SerializeToUtf8Bytes(file, TopicsJson.Default.StoredTopics));
    }

    private static List<StoredTopic> Deserialize(byte[] bytes)
    {
        try
        {
            var file = JsonSerializer.Deserialize(bytes, TopicsJson.Default.StoredTopics)
                ?? throw new InvalidDataException("topics.json is empty.");
            if (file.Version != 1)
            {
                throw new InvalidDataException($"topics.json has unknown version {file.Version}.");
            }

            // A hand-edited or foreign file must fail start-up with a clear message, not a NullReferenceException
            // later on the request path.
            foreach (var topic in file.Topics ?? throw new InvalidDataException("topics.json has no topic list."))
            {
                if (topic is null || ValidateName(topic.Name) is not null || topic.Partitions < 1 || topic.Configs is null || topic.TopicId == Guid.Empty)
                {
                    throw new InvalidDataException($"topics.json has an invalid topic entry ({topic?.Name ?? "null"}).");
                }
            }

            return file.Topics;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("topics.json is not valid: " + e.Message, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "created topic {Topic} with {Partitions} partition(s)")]
    private partial void LogCreated(string topic, int partitions);

    [LoggerMessage(Level = LogLevel.Information, Message = "deleted topic {Topic}")]
    private partial void LogDeleted(string topic);

    [LoggerMessage(Level = LogLevel.Information, Message = "loaded {Count} topic(s)")]
    private partial void LogLoaded(int count);
}

/// <summary>The persisted form of topics.json (version 1).</summary>
internal sealed record StoredTopics(int Version, List<StoredTopic> Topics);

/// <summary>One persisted topic.</summary>
internal sealed record StoredTopic(string Name, Guid TopicId, int Partitions, Dictionary<string, string> Configs);

/// <summary>Source-generated JSON metadata for topics.json (no reflection at run time).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(StoredTopics))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class TopicsJson : System.Text.Json.Serialization.JsonSerializerContext;
