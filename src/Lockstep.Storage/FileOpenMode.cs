namespace Lockstep.Storage;

/// <summary>How <see cref="IFileSystem.OpenFile"/> treats an existing or missing file.</summary>
public enum FileOpenMode
{
    /// <summary>Open the file; fail with <see cref="System.IO.FileNotFoundException"/> when it is missing.</summary>
    OpenExisting = 0,

    /// <summary>Open the file, creating an empty one when it is missing.</summary>
    OpenOrCreate = 1,

    /// <summary>Create an empty file; fail with <see cref="System.IO.IOException"/> when it already exists.</summary>
    CreateNew = 2,
}
