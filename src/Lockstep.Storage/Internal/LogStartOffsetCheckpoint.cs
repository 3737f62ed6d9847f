using System.Globalization;
using System.IO;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Lockstep.Storage.Internal;

/// <summary>
/// The per-partition <c>log-start-offset.checkpoint</c> file: <c>0\n&lt;offset&gt;\n</c> (a version line, then
/// the offset). Kafka keeps one such file per log directory for all partitions
/// (<c>LogManager.checkpointLogStartOffsets</c>); one per partition keeps a partition directory self-contained.
/// Written to a temp file, fsynced, renamed over the old one and the directory fsynced, so a crash leaves either
/// the old or the new value (Kafka's <c>CheckpointFile</c> does the same).
/// </summary>
internal static class LogStartOffsetCheckpoint
{
    private const string Version = "0";

    public static void Write(IFileSystem fs, string directory, long logStartOffset)
    {
        var path = Path.Combine(directory, LogFileNames.LogStartOffsetCheckpoint);
        var temp = path + LogFileNames.TempSuffix;
        var content = Encoding.ASCII.GetBytes(
            string.Create(CultureInfo.InvariantCulture, $"{Version}\n{logStartOffset}\n"));
        using (var file = fs.OpenFile(temp, FileOpenMode.OpenOrCreate))
        {
            file.Truncate(0);
            file.Write(0, content);
            file.FlushToDisk();
        }

        fs.RenameFile(temp, path);
        fs.FlushDirectory(directory);
    }

    /// <summary>Reads the checkpoint; null when it is missing or unreadable (then the first segment decides).</summary>
    public static long? TryRead(IFileSystem fs, string directory, ILogger logger)
    {
        var path = Path.Combine(directory, LogFileNames.LogStartOffsetCheckpoint);
        if (!fs.FileExists(path))
        {
            return null;
        }

        using var file = fs.OpenFile(path, FileOpenMode.OpenExisting);

        // The valid content is at most 2 + 20 + 1 bytes; anything longer is damaged.
        var buffer = new byte[64];
        var read = file.Read(0, buffer);
        var lines = Encoding.ASCII.GetString(buffer, 0, read).Split('\n');
        if (lines.Length == 3 && lines[0] == Version && lines[2].Length == 0
            && long.TryParse(lines[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            return offset;
        }

        logger.LogWarning("Ignoring unreadable log start offset checkpoint {Path}", path);
        return null;
    }
}
