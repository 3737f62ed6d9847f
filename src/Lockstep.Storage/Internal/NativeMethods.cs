using System.Runtime.InteropServices;

namespace Lockstep.Storage.Internal;

/// <summary>
/// libc calls for fsync of a directory, which .NET cannot open as a file handle on Unix (see
/// <see cref="PhysicalFileSystem.FlushDirectory"/>).
/// </summary>
internal static partial class NativeMethods
{
    public const int ReadOnly = 0;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
