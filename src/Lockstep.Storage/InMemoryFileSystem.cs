using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;

namespace Lockstep.Storage;

/// <summary>
/// A deterministic in-memory <see cref="IFileSystem"/> that models what survives a power loss, with fault
/// injection for storage tests and the simulation (style-guide.md §3.6 "Storage faults").
/// </summary>
/// <remarks>
/// <para>Model. Every file keeps its current bytes and its durable bytes (the content at its last
/// <see cref="IStorageFile.FlushToDisk"/>). The namespace is kept twice as well: the current name → file map and
/// the durable one, which copies a directory's current entries when <see cref="FlushDirectory"/> is called on it.
/// <see cref="Crash"/> reverts both: files not durably linked vanish, deleted or renamed ones come back under their
/// durable names, and every file keeps only its durable bytes (plus, optionally, a prefix of its unsynced tail, as
/// when the OS wrote back some dirty pages in order before the power went). Directories themselves are treated as
/// durable as soon as they are created or deleted, a simplification: the log only ever creates them up front.</para>
/// <para>Faults: <see cref="FailNextWrite"/>, <see cref="TearNextWrite"/>, <see cref="FailNextFlush"/>,
/// <see cref="Crash"/>, and a gate (<see cref="PauseFlushes"/>/<see cref="ResumeFlushes"/>) that blocks fsync so a
/// test can pile up work for one group commit without timing assumptions.</para>
/// <para>Thread-safety: every member is safe to call concurrently; one lock guards all state, and the flush gate is
/// waited on outside it.</para>
/// </remarks>
public sealed class InMemoryFileSystem : IFileSystem, IDisposable
{
    private readonly Lock _lock = new();

    // All fields below are guarded by _lock.
    private readonly HashSet<string> _directories = new(StringComparer.Ordinal);
    private readonly ManualResetEventSlim _flushGate = new(initialState: true);
    private Dictionary<string, Node> _files = new(StringComparer.Ordinal);
    private Dictionary<string, Node> _durableFiles = new(StringComparer.Ordinal);

    // Incremented by Crash(); a handle opened in an older generation belongs to a dead process and fails.
    private int _generation;
    private bool _failNextWrite;
    private bool _failNextFlush;
    private int _tearNextWriteKeepBytes = -1;
    private int _fileFlushCount;
    private int _directoryFlushCount;

    /// <summary>Number of successful <see cref="IStorageFile.FlushToDisk"/> calls so far (fsyncs of files).</summary>
    public int FileFlushCount
    {
        get
        {
            lock (_lock)
            {
                return _fileFlushCount;
            }
        }
    }

    /// <summary>Number of successful <see cref="FlushDirectory"/> calls so far.</summary>
    public int DirectoryFlushCount
    {
        get
        {
            lock (_lock)
            {
                return _directoryFlushCount;
            }
        }
    }

    /// <summary>The next file write throws <see cref="IOException"/> and writes nothing.</summary>
    public void FailNextWrite()
    {
        lock (_lock)
        {
            _failNextWrite = true;
        }
    }

    /// <summary>
    /// The next file write stores only its first <paramref name="keepBytes"/> bytes and then throws
    /// <see cref="IOException"/>, like a disk-full or EIO error part-way through a write.
    /// </summary>
    public void TearNextWrite(int keepBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keepBytes);
        lock (_lock)
        {
            _tearNextWriteKeepBytes = keepBytes;
        }
    }

    /// <summary>The next file fsync throws <see cref="IOException"/> and makes nothing durable.</summary>
    public void FailNextFlush()
    {
        lock (_lock)
        {
            _failNextFlush = true;
        }
    }

    /// <summary>Blocks every file fsync until <see cref="ResumeFlushes"/> (models a slow disk).</summary>
    public void PauseFlushes() => _flushGate.Reset();

    /// <summary>Lets blocked and future fsyncs proceed.</summary>
    public void ResumeFlushes() => _flushGate.Set();

    /// <summary>
    /// Simulates power loss: every byte and directory entry not made durable is discarded, except that the first
    /// <paramref name="keepUnsyncedBytes"/> unsynced bytes appended past each file's durable length survive (a torn
    /// tail). Handles opened before the crash fail with <see cref="IOException"/> from then on.
    /// </summary>
    public void Crash(int keepUnsyncedBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keepUnsyncedBytes);
        lock (_lock)
        {
            _generation++;
            _files = new Dictionary<string, Node>(_durableFiles, StringComparer.Ordinal);
            foreach (var node in _files.Values.Distinct())
            {
                node.RevertToDurable(keepUnsyncedBytes);
            }

            _failNextWrite = false;
            _failNextFlush = false;
            _tearNextWriteKeepBytes = -1;
        }
    }

    /// <summary>Returns a copy of a file's current bytes (test inspection).</summary>
    public byte[] ReadAllBytes(string path)
    {
        lock (_lock)
        {
            return GetNode(Normalize(path)).Current.ToArray();
        }
    }

    /// <inheritdoc/>
    public IStorageFile OpenFile(string path, FileOpenMode mode)
    {
        path = Normalize(path);
        lock (_lock)
        {
            var exists = _files.TryGetValue(path, out var node);
            if (exists && mode == FileOpenMode.CreateNew)
            {
                throw new IOException($"File '{path}' already exists.");
            }

            if (!exists)
            {
                if (mode == FileOpenMode.OpenExisting)
                {
                    throw new FileNotFoundException($"File '{path}' does not exist.", path);
                }

                RequireDirectory(ParentOf(path));
                node = new Node();
                _files.Add(path, node);
            }

            return new MemoryFile(this, node!, _generation);
        }
    }

    /// <inheritdoc/>
    public bool FileExists(string path)
    {
        lock (_lock)
        {
            return _files.ContainsKey(Normalize(path));
        }
    }

    /// <inheritdoc/>
    public bool DirectoryExists(string path)
    {
        lock (_lock)
        {
            return _directories.Contains(Normalize(path));
        }
    }

    /// <inheritdoc/>
    public void CreateDirectory(string path)
    {
        path = Normalize(path);
        lock (_lock)
        {
            for (var dir = path; !string.IsNullOrEmpty(dir); dir = ParentOf(dir))
            {
                _directories.Add(dir);
            }
        }
    }

    /// <inheritdoc/>
    public void DeleteFile(string path)
    {
        lock (_lock)
        {
            _files.Remove(Normalize(path));
        }
    }

    /// <inheritdoc/>
    public void DeleteDirectory(string path)
    {
        path = Normalize(path);
        var prefix = path + Path.DirectorySeparatorChar;
        lock (_lock)
        {
            _directories.RemoveWhere(d => d == path || d.StartsWith(prefix, StringComparison.Ordinal));
            foreach (var map in new[] { _files, _durableFiles })
            {
                foreach (var key in map.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
                {
                    map.Remove(key);
                }
            }
        }
    }

    /// <inheritdoc/>
    public void RenameFile(string source, string target)
    {
        source = Normalize(source);
        target = Normalize(target);
        lock (_lock)
        {
            var node = GetNode(source);
            RequireDirectory(ParentOf(target));
            _files.Remove(source);
            _files[target] = node;
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> ListFiles(string directory)
    {
        directory = Normalize(directory);
        lock (_lock)
        {
            RequireDirectory(directory);
            return _files.Keys.Where(k => ParentOf(k) == directory).Order(StringComparer.Ordinal).ToArray();
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> ListDirectories(string directory)
    {
        directory = Normalize(directory);
        lock (_lock)
        {
            RequireDirectory(directory);
            return _directories.Where(k => ParentOf(k) == directory).Order(StringComparer.Ordinal).ToArray();
        }
    }

    /// <inheritdoc/>
    public void FlushDirectory(string directory)
    {
        directory = Normalize(directory);
        lock (_lock)
        {
            RequireDirectory(directory);
            foreach (var key in _durableFiles.Keys.Where(k => ParentOf(k) == directory).ToList())
            {
                _durableFiles.Remove(key);
            }

            foreach (var (key, node) in _files.Where(e => ParentOf(e.Key) == directory))
            {
                _durableFiles[key] = node;
            }

            _directoryFlushCount++;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _flushGate.Dispose();

    private static string Normalize(string path) => Path.TrimEndingDirectorySeparator(path);

    private static string ParentOf(string path) => Path.GetDirectoryName(path) ?? string.Empty;

    private void RequireDirectory(string directory)
    {
        if (directory.Length > 0 && !_directories.Contains(directory))
        {
            throw new DirectoryNotFoundException($"Directory '{directory}' does not exist.");
        }
    }

    private Node GetNode(string path) =>
        _files.TryGetValue(path, out var node) ? node : throw new FileNotFoundException($"No file '{path}'.", path);

    /// <summary>One file's bytes; guarded by the file system's lock.</summary>
    private sealed class Node
    {
        public List<byte> Current { get; } = [];

        public byte[] Durable { get; private set; } = [];

        public void MakeDurable() => Durable = Current.ToArray();

        public void RevertToDurable(int keepUnsyncedBytes)
        {
            // Only bytes past the durable length can survive as a torn tail; an unsynced truncation is lost.
            var tail = Current.Count > Durable.Length
                ? Current.Skip(Durable.Length).Take(keepUnsyncedBytes).ToArray()
                : [];
            Current.Clear();
            Current.AddRange(Durable);
            Current.AddRange(tail);
            Durable = Current.ToArray();
        }
    }

    private sealed class MemoryFile(InMemoryFileSystem fs, Node node, int generation) : IStorageFile
    {
        private bool _disposed;

        public long Length
        {
            get
            {
                lock (fs._lock)
                {
                    Check();
                    return node.Current.Count;
                }
            }
        }

        public int Read(long position, Span<byte> buffer)
        {
            lock (fs._lock)
            {
                Check();
                var available = (int)Math.Max(0, Math.Min(buffer.Length, node.Current.Count - position));
                for (var i = 0; i < available; i++)
                {
                    buffer[i] = node.Current[(int)position + i];
                }

                return available;
            }
        }

        public void Write(long position, ReadOnlySpan<byte> data)
        {
            lock (fs._lock)
            {
                Check();
                if (fs._failNextWrite)
                {
                    fs._failNextWrite = false;
                    throw new IOException("Injected write failure.");
                }

                var keep = data.Length;
                var tear = fs._tearNextWriteKeepBytes >= 0;
                if (tear)
                {
                    keep = Math.Min(keep, fs._tearNextWriteKeepBytes);
                    fs._tearNextWriteKeepBytes = -1;
                }

                while (node.Current.Count < position)
                {
                    node.Current.Add(0);
                }

                for (var i = 0; i < keep; i++)
                {
                    var at = (int)position + i;
                    if (at < node.Current.Count)
                    {
                        node.Current[at] = data[i];
                    }
                    else
                    {
                        node.Current.Add(data[i]);
                    }
                }

                if (tear)
                {
                    throw new IOException($"Injected torn write: {keep} of {data.Length} bytes written.");
                }
            }
        }

        public void Append(ReadOnlySpan<byte> data)
        {
            lock (fs._lock)
            {
                Check();
                Write(node.Current.Count, data);
            }
        }

        public void Truncate(long length)
        {
            lock (fs._lock)
            {
                Check();
                if (length < node.Current.Count)
                {
                    node.Current.RemoveRange((int)length, node.Current.Count - (int)length);
                }

                while (node.Current.Count < length)
                {
                    node.Current.Add(0);
                }
            }
        }

        public void FlushToDisk()
        {
            // Wait outside the lock so that writes, reads and Crash() proceed while an fsync is "in flight".
            fs._flushGate.Wait();
            lock (fs._lock)
            {
                Check();
                if (fs._failNextFlush)
                {
                    fs._failNextFlush = false;
                    throw new IOException("Injected fsync failure.");
                }

                node.MakeDurable();
                fs._fileFlushCount++;
            }
        }

        public void Dispose()
        {
            lock (fs._lock)
            {
                _disposed = true;
            }
        }

        private void Check()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (generation != fs._generation)
            {
                throw new IOException("The file system crashed; this handle belongs to a dead process.");
            }
        }
    }
}
