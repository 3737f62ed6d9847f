using System;
using System.Globalization;

namespace Lockstep.Storage;

/// <summary>
/// A topic name and partition index, the domain key below the broker's handlers (style-guide.md §3.2 rule 3).
/// </summary>
/// <param name="Topic">Topic name; Kafka restricts it to <c>[a-zA-Z0-9._-]</c>, at most 249 characters.</param>
/// <param name="Partition">Partition index, zero-based.</param>
public readonly record struct TopicPartition(string Topic, int Partition)
{
    /// <summary>The directory name, <c>topic-partition</c>, as Kafka's <c>UnifiedLog.logDirName</c> makes it.</summary>
    public string DirectoryName => string.Create(CultureInfo.InvariantCulture, $"{Topic}-{Partition}");

    /// <summary>
    /// Parses a directory name made by <see cref="DirectoryName"/>. Topic names may contain '-', so the partition is
    /// whatever follows the last '-'.
    /// </summary>
    public static bool TryParseDirectoryName(string name, out TopicPartition topicPartition)
    {
        ArgumentNullException.ThrowIfNull(name);
        var dash = name.LastIndexOf('-');
        if (dash > 0
            && int.TryParse(name.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
        {
            topicPartition = new TopicPartition(name[..dash], partition);
            return true;
        }

        topicPartition = default;
        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => DirectoryName;
}
