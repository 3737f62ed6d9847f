namespace Lockstep.Testing;

/// <summary>
/// Locates the repository and the read-only <c>shared/</c> folder that sits beside it (locally /work/shared
/// next to /work/main; on CI a copy of shared/ next to the fresh clone). Tests never hard-code either path.
/// </summary>
public static class RepoPaths
{
    /// <summary>The file that marks the repository root.</summary>
    public const string SolutionFileName = "Lockstep.slnx";

    private static readonly Lazy<string> LazyRoot = new(() => FindRoot(AppContext.BaseDirectory));

    /// <summary>
    /// Absolute path of the repository root: the nearest directory at or above the test assembly's folder
    /// that contains <see cref="SolutionFileName"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tests run outside a Lockstep checkout.</exception>
    public static string Root => LazyRoot.Value;

    /// <summary><c>../shared</c> beside the repository root; it may be absent on a developer machine.</summary>
    public static string SharedDir => Path.GetFullPath(Path.Combine(Root, "..", "shared"));

    /// <summary>
    /// Apache Kafka's JSON schemas (<c>messages/</c>, <c>storage/</c>): the generator's input, which must never be
    /// copied into the repository (style-guide.md §3.3). Check existence and use <see cref="Peers"/> if absent.
    /// </summary>
    public static string SharedKafkaProtocolDir => Path.Combine(SharedDir, "kafka-protocol");

    /// <summary>Walks up from <paramref name="startDirectory"/> to the first directory holding the solution file.</summary>
    /// <param name="startDirectory">Where to start, usually the test assembly's output folder.</param>
    /// <returns>The absolute repository root.</returns>
    /// <exception cref="InvalidOperationException">No ancestor contains <see cref="SolutionFileName"/>.</exception>
    public static string FindRoot(string startDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(startDirectory);
        for (var dir = new DirectoryInfo(Path.GetFullPath(startDirectory)); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, SolutionFileName)))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No {SolutionFileName} found at or above '{startDirectory}'; tests must run from a Lockstep checkout.");
    }
}
