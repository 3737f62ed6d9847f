namespace Lockstep.Storage.Tests;

/// <summary>
/// Goal: the in-memory file system models power loss the way the log's durability argument assumes (only fsynced
/// bytes and directory entries made durable by a directory fsync survive), its faults behave as documented, and
/// the physical file system implements the same contract on a real disk. Method: direct calls, then
/// <see cref="InMemoryFileSystem.Crash"/>; for the physical one, a per-test temp directory.
/// </summary>
public sealed class FileSystemTests
{
    [Fact]
    public void Crash_keeps_fsynced_bytes_and_discards_the_rest()
    {
        using var fs = new InMemoryFileSystem();
        fs.CreateDirectory("/d");
        using (var file = fs.OpenFile("/d/a", FileOpenMode.CreateNew))
        {
            file.Append([1, 2, 3]);
            file.FlushToDisk();
            file.Append([4, 5]);
        }

        fs.FlushDirectory("/d");
        fs.Crash();

        Assert.Equal([1, 2, 3], fs.ReadAllBytes("/d/a"));
    }

    [Fact]
    public void Crash_can_keep_a_torn_prefix_of_the_unsynced_tail()
    {
        using var fs = new InMemoryFileSystem();
        fs.CreateDirectory("/d");
        using (var file = fs.OpenFile("/d/a", FileOpenMode.CreateNew))
        {
            file.Append([1, 2]);
            file.FlushToDisk();
            file.Append([3, 4, 5, 6]);
        }

        fs.FlushDirectory("/d");
        fs.Crash(keepUnsyncedBytes: 3);

        Assert.Equal([1, 2, 3, 4, 5], fs.ReadAllBytes("/d/a"));
    }

    [Fact]
    public void Directory_entries_need_a_directory_fsync_to_survive()
    {
        using var fs = new InMemoryFileSystem();
        fs.CreateDirectory("/d");
        using (var file = fs.OpenFile("/d/synced-entry", FileOpenMode.CreateNew))
        {
            file.Append([1]);
            file.FlushToDisk();
        }

        fs.FlushDirectory("/d");
        using (var file = fs.OpenFile("/d/unsynced-entry", FileOpenMode.CreateNew))
        {
            file.Append([2]);
            file.FlushToDisk(); // the content is durable, the name is not
        }

        fs.RenameFile("/d/synced-entry", "/d/renamed");
        fs.Crash();

        Assert.Equal(["/d/synced-entry"], fs.ListFiles("/d"));
    }

    [Fact]
    public void Faults_fail_once_and_torn_writes_leave_a_prefix()
    {
        using var fs = new InMemoryFileSystem();
        fs.CreateDirectory("/d");
        using var file = fs.OpenFile("/d/a", FileOpenMode.CreateNew);

        fs.FailNextWrite();
        Assert.Throws<IOException>(() => file.Append([1, 2, 3]));
        Assert.Equal(0, file.Length);

        fs.TearNextWrite(keepBytes: 2);
        Assert.Throws<IOException>(() => file.Append([1, 2, 3]));
        Assert.Equal([1, 2], fs.ReadAllBytes("/d/a"));

        fs.FailNextFlush();
        Assert.Throws<IOException>(file.FlushToDisk);
        file.FlushToDisk();
        Assert.Equal(1, fs.FileFlushCount);
    }

    [Fact]
    public void Handles_opened_before_a_crash_fail_afterwards()
    {
        using var fs = new InMemoryFileSystem();
        fs.CreateDirectory("/d");
        using var file = fs.OpenFile("/d/a", FileOpenMode.CreateNew);
        fs.FlushDirectory("/d");

        fs.Crash();

        Assert.Throws<IOException>(() => file.Append([1]));
        Assert.Throws<IOException>(file.FlushToDisk);
        using var reopened = fs.OpenFile("/d/a", FileOpenMode.OpenExisting);
        Assert.Equal(0, reopened.Length);
    }

    [Fact]
    public void Physical_file_system_supports_the_contract_in_a_temp_directory()
    {
        var root = Path.Combine(Path.GetTempPath(), "lockstep-tests", "storage-fs-" + Guid.NewGuid().ToString("N"));
        var fs = PhysicalFileSystem.Instance;
        try
        {
            fs.CreateDirectory(Path.Combine(root, "sub"));
            var path = Path.Combine(root, "sub", "a.log");
            using (var file = fs.OpenFile(path, FileOpenMode.CreateNew))
            {
                file.Append([1, 2, 3, 4]);
                file.Write(1, [9]);
                file.Truncate(3);
                file.FlushToDisk();
                Assert.Equal(3, file.Length);
                var buffer = new byte[10];
                Assert.Equal(3, file.Read(0, buffer));
                Assert.Equal([1, 9, 3], buffer[..3]);
            }

            Assert.Throws<IOException>(() => fs.OpenFile(path, FileOpenMode.CreateNew).Dispose());
            fs.FlushDirectory(Path.Combine(root, "sub"));
            var renamed = Path.Combine(root, "sub", "b.log");
            fs.RenameFile(path, renamed);
            Assert.Equal([renamed], fs.ListFiles(Path.Combine(root, "sub")));
            Assert.Equal([Path.Combine(root, "sub")], fs.ListDirectories(root));
            fs.DeleteFile(renamed);
            Assert.False(fs.FileExists(renamed));
        }
        finally
        {
            fs.DeleteDirectory(root);
        }

        Assert.False(fs.DirectoryExists(root));
    }
}
