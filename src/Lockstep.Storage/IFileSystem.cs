using System.Collections.Generic;

namespace Lockstep.Storage;

/// <summary>
/// The storage layer's only access to files, injected so that tests and the simulation can use
/// <see cref="InMemoryFileSystem"/> with fault injection (style-guide.md §3.2 rule 5). Paths are ordinary
/// <see cref="System.IO.Path"/> strings.
/// </summary>
/// <remarks>
/// Durability contract, modelled on POSIX: file contents become durable through
/// <see cref="IStorageFile.FlushToDisk"/>; creating, deleting or renaming a directory entry becomes durable only after
/// <see cref="FlushDirectory"/> on the parent directory (ext4/xfs need the directory fsync; on Windows it is a
/// no-op because NTFS journals metadata).
/// </remarks>
public interface IFileSystem
{
    /// <summary>Opens or creates a file for reading and writing.</summary>
    IStorageFile OpenFile(string path, FileOpenMode mode);

    /// <summary>Whether a file exists at <paramref name="path"/>.</summary>
    bool FileExists(string path);

    /// <summary>Whether a directory exists at <paramref name="path"/>.</summary>
    bool DirectoryExists(string path);

    /// <summary>Creates a directory and its missing parents; does nothing when it exists.</summary>
    void CreateDirectory(string path);

    /// <summary>Deletes a file; does nothing when it is missing.</summary>
    void DeleteFile(string path);

    /// <summary>Deletes an empty or non-empty directory tree; does nothing when it is missing.</summary>
    void DeleteDirectory(string path);

    /// <summary>
    /// Renames <paramref name="source"/> to <paramref name="target"/>, atomically replacing an existing target
    /// (rename(2)); used for write-temp-then-rename checkpoints.
    /// </summary>
    void RenameFile(string source, string target);

    /// <summary>Full paths of the files directly inside <paramref name="directory"/>, in ordinal order.</summary>
    IReadOnlyList<string> ListFiles(string directory);

    /// <summary>Full paths of the directories directly inside <paramref name="directory"/>, in ordinal order.</summary>
    IReadOnlyList<string> ListDirectories(string directory);

    /// <summary>Makes the directory's entries (creations, deletions, renames) durable.</summary>
    void FlushDirectory(string directory);
}
