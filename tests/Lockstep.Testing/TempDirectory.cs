namespace Lockstep.Testing;

/// <summary>
/// A fresh, empty directory for one test, deleted on <see cref="Dispose"/>. Each test gets its own so tests
/// can run in parallel without sharing on-disk state (style-guide.md §3.6: "per-test temp directory").
/// </summary>
public sealed class TempDirectory : IDisposable
{
    private bool _disposed;

    /// <summary>Creates <c>$TMPDIR/lockstep-tests/&lt;prefix&gt;-&lt;random&gt;</c>.</summary>
    /// <param name="prefix">A readable tag (usually the test class) that shows up in the path when debugging.</param>
    public TempDirectory(string prefix = "test")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        var root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lockstep-tests");
        Path = System.IO.Path.Combine(root, $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    /// <summary>Absolute path of the directory; it exists until this instance is disposed.</summary>
    public string Path { get; }

    /// <summary>Combines <see cref="Path"/> with relative segments (the result is not created).</summary>
    /// <param name="segments">Relative path segments.</param>
    /// <returns>The combined absolute path.</returns>
    public string Combine(params string[] segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        return System.IO.Path.Combine([Path, .. segments]);
    }

    /// <summary>
    /// Deletes the directory and everything in it. Idempotent; a directory already removed by the test is fine.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
