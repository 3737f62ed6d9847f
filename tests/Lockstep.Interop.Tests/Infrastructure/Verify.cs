namespace Lockstep.Interop.Tests.Infrastructure;

/// <summary>The exactly-once, in-order checks shared by the tests, each failing with a message naming the record.</summary>
public static class Verify
{
    /// <summary>
    /// <paramref name="consumed"/> (in consumption order) holds every <paramref name="acknowledged"/> record exactly
    /// once, at the partition and offset of its delivery report, with its key, and nothing else; per partition the
    /// offsets were consumed in increasing order; and per partition the acknowledged records' offsets follow the
    /// order in which <paramref name="acknowledged"/> lists them (the producer's send order).
    /// </summary>
    public static void ExactlyOnceInOrder(IReadOnlyList<Seen> acknowledged, IReadOnlyList<Seen> consumed)
    {
        AcknowledgedInSendOrder(acknowledged);
        ConsumedInOffsetOrder(consumed);

        var byValue = new Dictionary<string, Seen>(StringComparer.Ordinal);
        foreach (var record in consumed)
        {
            Assert.True(byValue.TryAdd(record.Value, record),
                $"{record.Value} consumed twice: at {byValue.GetValueOrDefault(record.Value)} and {record}");
        }

        foreach (var record in acknowledged)
        {
            Assert.True(byValue.TryGetValue(record.Value, out var seen), $"acknowledged {record} was never consumed");
            Assert.Equal(record, seen);
        }

        Assert.Equal(acknowledged.Count, consumed.Count);
    }

    /// <summary>Per partition, delivery-report offsets increase in send order (idempotence keeps order).</summary>
    public static void AcknowledgedInSendOrder(IReadOnlyList<Seen> acknowledgedInSendOrder)
    {
        foreach (var partition in acknowledgedInSendOrder.GroupBy(r => r.Partition))
        {
            var previous = -1L;
            foreach (var record in partition)
            {
                Assert.True(record.Offset > previous,
                    $"partition {partition.Key}: {record.Value} acknowledged at offset {record.Offset} after an offset {previous} of a record sent before it");
                previous = record.Offset;
            }
        }
    }

    /// <summary>Per partition, offsets appear in strictly increasing order.</summary>
    public static void ConsumedInOffsetOrder(IReadOnlyList<Seen> consumed)
    {
        foreach (var partition in consumed.GroupBy(r => r.Partition))
        {
            var previous = -1L;
            foreach (var record in partition)
            {
                Assert.True(record.Offset > previous,
                    $"partition {partition.Key}: offset {record.Offset} ({record.Value}) consumed after offset {previous}");
                previous = record.Offset;
            }
        }
    }
}
