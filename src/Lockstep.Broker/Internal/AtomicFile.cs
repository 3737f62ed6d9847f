using System;
using System.IO;
using Lockstep.Storage;

namespace Lockstep.Broker.Internal;

/// <summary>
/// Whole-file replace that survives a crash at any point: write a temp file, fsync it, rename over the target,
/// fsync the directory. A reader sees either the old or the new content, never a torn mix (Kafka's
/// <c>CheckpointFile</c> / <c>Utils.atomicMoveWithFallback</c> do the same).
/// </summary>
internal static class AtomicFile
{
    public static void Write(IFileSystem fs, string path, ReadOnlySpan<byte> content)
    {
        var directory = Path.GetDirectoryName(path) ?? ".";
        fs.CreateDirectory(directory);
        var temp = path + ".tmp";
        if (fs.FileExists(temp))
        {
            fs.DeleteFile(temp); // Left by a crash mid-write; never read.
        }

        using (var file = fs.OpenFile(temp, FileOpenMode.CreateNew))
        {
            file.Write(0, content);
            file.FlushToDisk();
        }

        fs.RenameFile(temp, path);
        fs.FlushDirectory(directory);
    }

    public static byte[]? TryRead(IFileSystem fs, string path)
    {
        if (!fs.FileExists(path))
        {
            return null;
        }

        using var file = fs.OpenFile(path, FileOpenMode.OpenExisting);
        var length = checked((int)file.Length);
        var bytes = new byte[length];
        var read = 0;
        while (read < length)
        {
            var n = file.Read(read, bytes.AsSpan(read));
            if (n <= 0)
            {
                break;
            }

            read += n;
        }

        return bytes.AsSpan(0, read).ToArray();
    }
}
