using System;
using System.Globalization;
using System.IO;

namespace Lockstep.Storage.Internal;

/// <summary>
/// Kafka's segment file naming (<c>LogFileUtils.java</c>): the base offset zero-padded to 20 digits plus a suffix.
/// </summary>
internal static class LogFileNames
{
    public const string LogSuffix = ".log";
    public const string OffsetIndexSuffix = ".index";
    public const string TimeIndexSuffix = ".timeindex";

    /// <summary>The aborted-transaction index (kip939-spec.md §8.6; <c>TransactionIndex</c>).</summary>
    public const string TransactionIndexSuffix = ".txnindex";

    public const string TempSuffix = ".tmp";

    public const string LogStartOffsetCheckpoint = "log-start-offset.checkpoint";

    public static string FileName(long baseOffset, string suffix) =>
        baseOffset.ToString("D20", CultureInfo.InvariantCulture) + suffix;

    /// <summary>Parses <c>00000000000000000042.log</c> into 42; false for any other name.</summary>
    public static bool TryParseBaseOffset(string path, string suffix, out long baseOffset)
    {
        var name = Path.GetFileName(path);
        baseOffset = -1;
        return name.Length == 20 + suffix.Length
            && name.EndsWith(suffix, StringComparison.Ordinal)
            && long.TryParse(name.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out baseOffset);
    }
}
