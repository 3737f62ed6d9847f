using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client.Consumer;
using Lockstep.Client.Internal;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Client;

/// <summary>Fetching and position initialisation (Java's <c>Fetcher</c>, <c>OffsetFetcher</c>).</summary>
public sealed partial class KafkaConsumer
{
    /// <summary>ListOffsets timestamps meaning "earliest" and "latest" (ListOffsetsRequest.EARLIEST_TIMESTAMP /
    /// LATEST_TIMESTAMP). With read_committed, "latest" is the last stable offset.</summary>
    private const long EarliestTimestamp = -2;
    private const long LatestTimestamp = -1;

    /// <summary>Fetch v13+ names topics by id only; without ids from Metadata, stay at v12 (AbstractFetch.java).
    /// </summary>
    private const short LastFetchVersionWithTopicNames = 12;

    private bool ReadCommitted => _options.IsolationLevel == KafkaConsumerIsolationLevel.ReadCommitted;

    /// <summary>
    /// Gives every assigned partition without a position one: the group's committed offset when there is one
    /// (and no reset was forced by OFFSET_OUT_OF_RANGE), else the <c>auto.offset.reset</c> end via ListOffsets.
    /// </summary>
    private async Task InitializePositionsAsync(CancellationToken cancellationToken)
    {
        var missing = _assignment.Where(a => a.Value.FetchPosition is null).ToList();
        if (missing.Count == 0)
        {
            return;
        }

        if (_options.GroupId is { } groupId)
        {
            var lookup = missing.Where(a => !a.Value.ResetRequired).Select(a => a.Key).ToList();
            if (lookup.Count > 0)
            {
                var committed = await ConsumerCoordinator.FetchCommittedAsync(_groupCluster!, groupId, lookup,
                    requireStable: ReadCommitted, cancellationToken).ConfigureAwait(false);
                foreach (var (partition, offset) in committed)
                {
                    if (offset is { } o && _assignment.TryGetValue(partition, out var state) && state.FetchPosition is null)
                    {
                        state.FetchPosition = o.Offset;
                        state.LeaderEpoch = o.LeaderEpoch;
                    }
                }
            }
        }

        var reset = _assignment.Where(a => a.Value.FetchPosition is null).Select(a => a.Key).ToList();
        if (reset.Count == 0)
        {
            return;
        }

        if (_options.AutoOffsetReset == KafkaConsumerOffsetReset.None)
        {
            throw new KafkaException(ErrorCode.OffsetOutOfRange,
                $"No valid offset for {string.Join(", ", reset)} and auto.offset.reset=none.");
        }

        var timestamp = _options.AutoOffsetReset == KafkaConsumerOffsetReset.Earliest ? EarliestTimestamp : LatestTimestamp;
        foreach (var (leader, partitions) in await GroupByLeaderAsync(reset, cancellationToken).ConfigureAwait(false))
        {
            ListOffsetsResponse response;
            try
            {
                response = await _cluster.SendAsync<ListOffsetsRequest, ListOffsetsResponse>(leader, version =>
                    new ListOffsetsRequest
                    {
                        ReplicaId = -1,
                        IsolationLevel = version >= 2 ? (sbyte)_options.IsolationLevel : (sbyte)0,
                        Topics = partitions.GroupBy(p => p.Topic).Select(g => new ListOffsetsRequest.ListOffsetsTopic
                        {
                            Name = g.Key,
                            Partitions = g.Select(p => new ListOffsetsRequest.ListOffsetsPartition
                            {
                                PartitionIndex = p.Partition,
                                Timestamp = timestamp,
                            }).ToList(),
                        }).ToList(),
                    }, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaRetriableException ex)
            {
                ConsumerLog.FetchFailed(_logger, leader, ex.Message);
                _cluster.Metadata.RequestUpdate();
                continue;
            }

            foreach (var topic in response.Topics)
            {
                foreach (var p in topic.Partitions)
                {
                    var partition = new TopicPartition(topic.Name, p.PartitionIndex);
                    var error = (ErrorCode)p.ErrorCode;
                    if (error != ErrorCode.None)
                    {
                        if (!error.IsRetriable())
                        {
                            throw KafkaException.FromErrorCode(error, $"ListOffsets for {partition}");
                        }

                        _cluster.Metadata.RequestUpdate();
                        continue;
                    }

                    if (_assignment.TryGetValue(partition, out var state) && state.FetchPosition is null)
                    {
                        state.FetchPosition = p.Offset;
                        state.ResetRequired = false;
                    }
                }
            }
        }
    }

    /// <summary>
    /// One round of Fetch requests, one per leader, for the partitions that have a position, are not paused and
    /// have nothing buffered. Sessionless (SessionId 0, SessionEpoch -1, as kafkajs does): every request lists
    /// all its partitions, which keeps the consumer stateless towards the broker at a small cost in bytes.
    /// </summary>
    /// <returns>False when nothing could be fetched (the caller backs off).</returns>
    private async Task<bool> FetchOnceAsync(CancellationToken cancellationToken)
    {
        var fetchable = _assignment
            .Where(a => !a.Value.Paused && a.Value.FetchPosition is not null && a.Value.Buffered.Count == 0)
            .Select(a => a.Key)
            .ToList();
        if (fetchable.Count == 0)
        {
            return false;
        }

        var byLeader = await GroupByLeaderAsync(fetchable, cancellationToken).ConfigureAwait(false);
        if (byLeader.Count == 0)
        {
            return false;
        }

        var requests = byLeader.Select(l => FetchFromAsync(l.Key, l.Value, cancellationToken)).ToList();
        await Task.WhenAll(requests).ConfigureAwait(false);
        return true;
    }

    private async Task FetchFromAsync(int leader, List<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        // Snapshot the offsets asked for: a response is applied only if the position did not move meanwhile.
        var requested = partitions.ToDictionary(p => p, p => _assignment[p].FetchPosition!.Value);
        var topicIds = new Dictionary<string, Guid>(StringComparer.Ordinal);
        foreach (var topic in partitions.Select(p => p.Topic).Distinct(StringComparer.Ordinal))
        {
            topicIds[topic] = _cluster.Metadata.TryGetCached(topic)?.TopicId ?? Guid.Empty;
        }

        var namesById = topicIds.Where(t => t.Value != Guid.Empty).ToDictionary(t => t.Value, t => t.Key);
        var maxVersion = topicIds.Values.Any(id => id == Guid.Empty) ? LastFetchVersionWithTopicNames : (short?)null;
        FetchResponse response;
        var start = _cluster.Time.GetTimestamp();
        try
        {
            response = await _cluster.SendAsync<FetchRequest, FetchResponse>(leader, version => new FetchRequest
            {
                MaxWaitMs = (int)_options.FetchMaxWait.TotalMilliseconds,
                MinBytes = _options.FetchMinBytes,
                MaxBytes = _options.FetchMaxBytes,
                IsolationLevel = (sbyte)_options.IsolationLevel,
                SessionId = 0,
                SessionEpoch = -1,
                Topics = partitions.GroupBy(p => p.Topic).Select(g => new FetchRequest.FetchTopic
                {
                    Topic = version <= LastFetchVersionWithTopicNames ? g.Key : string.Empty,
                    TopicId = version > LastFetchVersionWithTopicNames ? topicIds[g.Key] : Guid.Empty,
                    Partitions = g.Select(p => new FetchRequest.FetchPartition
                    {
                        Partition = p.Partition,
                        FetchOffset = requested[p],
                        PartitionMaxBytes = _options.MaxPartitionFetchBytes,
                    }).ToList(),
                }).ToList(),
            }, maxVersion, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaRetriableException ex)
        {
            ConsumerLog.FetchFailed(_logger, leader, ex.Message);
            _cluster.Metadata.RequestUpdate();
            return;
        }

        var diagnostics = _cluster.Diagnostics;
        diagnostics.FetchLatency.Record(_cluster.Time.GetElapsedTime(start).TotalMilliseconds,
            ClientDiagnostics.ClientTags(_options.ClientId));
        if (response.ErrorCode != 0)
        {
            ConsumerLog.FetchFailed(_logger, leader, ((ErrorCode)response.ErrorCode).KafkaName());
            _cluster.Metadata.RequestUpdate();
            return;
        }

        foreach (var topic in response.Responses)
        {
            var name = topic.TopicId != Guid.Empty && namesById.TryGetValue(topic.TopicId, out var byId) ? byId : topic.Topic;
            foreach (var data in topic.Partitions)
            {
                var partition = new TopicPartition(name, data.PartitionIndex);
                if (data.Records is { Length: > 0 } fetched && diagnostics.BytesFetched.Enabled)
                {
                    // Counted whether or not the data is applied: these bytes crossed the network either way.
                    diagnostics.BytesFetched.Add(fetched.Length, ClientDiagnostics.TopicTags(_options.ClientId, name));
                }

                if (!requested.TryGetValue(partition, out var offset) || !_assignment.TryGetValue(partition, out var state)
                    || state.FetchPosition != offset || state.Buffered.Count > 0)
                {
                    continue;
                }

                ApplyPartitionData(partition, state, offset, data);
            }
        }
    }

    private void ApplyPartitionData(
        TopicPartition partition, PartitionFetchState state, long offset, FetchResponse.PartitionData data)
    {
        var error = (ErrorCode)data.ErrorCode;
        switch (error)
        {
            case ErrorCode.None:
                var records = new List<ConsumeResult>();
                var next = FetchDecoder.Decode(partition, data.Records is { } bytes ? bytes.Span : default,
                    data.AbortedTransactions, ReadCommitted, offset, _codecs, records);
                foreach (var record in records)
                {
                    state.Buffered.Enqueue(record);
                }

                state.FetchPosition = next;
                RecordLag(partition, data, next);
                break;
            case ErrorCode.OffsetOutOfRange:
                if (_options.AutoOffsetReset == KafkaConsumerOffsetReset.None)
                {
                    throw new KafkaException(error,
                        $"Fetch offset {offset} is out of range for {partition} and auto.offset.reset=none.");
                }

                ConsumerLog.OffsetReset(_logger, partition, offset, _options.AutoOffsetReset.ToString());
                state.FetchPosition = null;
                state.ResetRequired = true;
                break;
            case ErrorCode.NotLeaderOrFollower or ErrorCode.UnknownTopicOrPartition or ErrorCode.LeaderNotAvailable
                or ErrorCode.FencedLeaderEpoch or ErrorCode.UnknownLeaderEpoch or ErrorCode.KafkaStorageError
                or ErrorCode.OffsetNotAvailable or ErrorCode.UnknownTopicId or ErrorCode.InconsistentTopicId:
                // The leader moved or the metadata is stale: refresh and fetch again from the new leader.
                _cluster.Metadata.RequestUpdate();
                break;
            default:
                throw KafkaException.FromErrorCode(error, $"Fetch for {partition} at offset {offset}");
        }
    }

    /// <summary>
    /// Consumer lag at fetch time: the partition's end (the last stable offset under read_committed, else the high
    /// watermark, both from this response, as SubscriptionState.partitionLag chooses) minus the next offset to
    /// fetch, i.e. the records not fetched yet. Java's records-lag is recorded later, when FetchCollector hands
    /// records to poll(), against the consumed position, so it also counts records fetched but not yet returned;
    /// measuring here costs one measurement per partition per fetch instead of one per record, and a consumer that
    /// has fetched everything shows 0 in both.
    /// </summary>
    private void RecordLag(TopicPartition partition, FetchResponse.PartitionData data, long nextFetchOffset)
    {
        var lag = _cluster.Diagnostics.ConsumerLag;
        if (!lag.Enabled)
        {
            return;
        }

        // LastStableOffset is -1 before Fetch v4 (no transactions): the high watermark is the end then.
        var end = ReadCommitted && data.LastStableOffset >= 0 ? data.LastStableOffset : data.HighWatermark;
        if (end >= 0)
        {
            lag.Record(Math.Max(0, end - nextFetchOffset), ClientDiagnostics.PartitionTags(_options.ClientId, partition));
        }
    }

    /// <summary>The current leader of each partition; partitions without a known leader are skipped this round
    /// (their metadata is refreshed).</summary>
    private async Task<Dictionary<int, List<TopicPartition>>> GroupByLeaderAsync(
        List<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        var result = new Dictionary<int, List<TopicPartition>>();
        foreach (var group in partitions.GroupBy(p => p.Topic))
        {
            TopicMetadata metadata;
            using (var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                bound.CancelAfter(_options.FetchMaxWait);
                try
                {
                    metadata = await _cluster.Metadata.GetTopicAsync(group.Key, bound.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    continue;
                }
            }

            foreach (var partition in group)
            {
                if (partition.Partition < metadata.Partitions.Count
                    && metadata.Partitions[partition.Partition].LeaderId is var leader and >= 0)
                {
                    if (!result.TryGetValue(leader, out var list))
                    {
                        result[leader] = list = [];
                    }

                    list.Add(partition);
                }
                else
                {
                    _cluster.Metadata.RequestUpdate();
                }
            }
        }

        return result;
    }
}
