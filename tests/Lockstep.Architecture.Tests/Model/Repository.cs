using Lockstep.Testing;

namespace Lockstep.Architecture.Tests.Model;

/// <summary>The checked-out repository, loaded once per test run.</summary>
internal static class Repository
{
    private static readonly Lazy<IReadOnlyList<string>> LazyFiles = new(() => RepoFiles.List(RepoPaths.Root));
    private static readonly Lazy<IReadOnlyList<ProjectNode>> LazyProjects = new(() => ProjectGraphLoader.Load(RepoPaths.Root));

    /// <summary>Repository-relative paths of tracked and addable files.</summary>
    public static IReadOnlyList<string> Files => LazyFiles.Value;

    /// <summary>Every project under src/, tests/, tools/ and bench/.</summary>
    public static IReadOnlyList<ProjectNode> Projects => LazyProjects.Value;

    /// <summary>Absolute path of a repository-relative file.</summary>
    public static string FullPath(string relativePath) => Path.Combine(RepoPaths.Root, relativePath);

    /// <summary>Fails with every violation on its own line, so one run shows all of them.</summary>
    public static void AssertNone(IEnumerable<string> violations, string what)
    {
        var list = violations.ToList();
        if (list.Count > 0)
        {
            Assert.Fail($"{list.Count} {what} violation(s):{Environment.NewLine}  "
                        + string.Join(Environment.NewLine + "  ", list));
        }
    }
}
