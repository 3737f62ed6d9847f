using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Lockstep.Storage.Internal;
using Microsoft.Win32.SafeHandles;

namespace Lockstep.Storage;

/// <summary>
/// <see cref="IFileSystem"/> over the real disk, using <see cref="RandomAccess"/> positional I/O on
/// <see cref="SafeFileHandle"/>s (no <see cref="FileStream"/> buffering, so a write is visible to concurrent readers
/// as soon as it returns).
/// </summary>
public sealed class PhysicalFileSystem : IFileSystem
{
    /// <summary>A shared instance; the type has no state.</summary>
    public static PhysicalFileSystem Instance { get; } = new();

    /// <inheritdoc/>
    public IStorageFile OpenFile(string path, FileOpenMode mode)
    {
        var fileMode = mode switch
        {
            FileOpenMode.OpenExisting => FileMode.Open,
            FileOpenMode.OpenOrCreate => FileMode.OpenOrCreate,
            FileOpenMode.CreateNew => FileMode.CreateNew,
            _ => throw new ArgumentOutOfRangeException(nameof(mode)),
        };

        // FileShare.Delete lets retention delete a segment that a concurrent fetch still has open, as POSIX allows.
        var handle = File.OpenHandle(path, fileMode, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        return new PhysicalFile(handle);
    }

    /// <inheritdoc/>
    public bool FileExists(string path) => File.Exists(path);

    /// <inheritdoc/>
    public bool DirectoryExists(string path) => Directory.Exists(path);

    /// <inheritdoc/>
    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    /// <inheritdoc/>
    public void DeleteFile(string path) => File.Delete(path);

    /// <inheritdoc/>
    public void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    /// <inheritdoc/>
    public void RenameFile(string source, string target) => File.Move(source, target, overwrite: true);

    /// <inheritdoc/>
    public IReadOnlyList<string> ListFiles(string directory) =>
        Directory.GetFiles(directory).Order(StringComparer.Ordinal).ToArray();

    /// <inheritdoc/>
    public IReadOnlyList<string> ListDirectories(string directory) =>
        Directory.GetDirectories(directory).Order(StringComparer.Ordinal).ToArray();

    /// <inheritdoc/>
    public void FlushDirectory(string directory)
    {
        // NTFS journals directory metadata; there is no directory handle to fsync on Windows.
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // .NET refuses to open a directory as a SafeFileHandle on Unix, so call open(2)/fsync(2) directly.
        var fd = NativeMethods.Open(directory, NativeMethods.ReadOnly);
        if (fd < 0)
        {
            throw new IOException($"open({directory}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }

        try
        {
            if (NativeMethods.Fsync(fd) != 0)
            {
                throw new IOException($"fsync({directory}) failed with errno {Marshal.GetLastPInvokeError()}.");
            }
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }

    private sealed class PhysicalFile(SafeFileHandle handle) : IStorageFile
    {
        public long Length => RandomAccess.GetLength(handle);

        public int Read(long position, Span<byte> buffer)
        {
            var total = 0;
            while (total < buffer.Length)
            {
                var read = RandomAccess.Read(handle, buffer[total..], position + total);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }

            return total;
        }

        public void Write(long position, ReadOnlySpan<byte> data) => RandomAccess.Write(handle, data, position);

        public void Append(ReadOnlySpan<byte> data) => RandomAccess.Write(handle, data, RandomAccess.GetLength(handle));

        public void Truncate(long length) => RandomAccess.SetLength(handle, length);

        public void FlushToDisk() => RandomAccess.FlushToDisk(handle);

        public void Dispose() => handle.Dispose();
    }
}
