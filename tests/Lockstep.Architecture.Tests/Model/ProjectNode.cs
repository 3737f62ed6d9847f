namespace Lockstep.Architecture.Tests.Model;

/// <summary>One csproj as the checks see it: where it lives and what it declares.</summary>
/// <param name="Name">Project (and assembly) name, e.g. <c>Lockstep.Broker</c>.</param>
/// <param name="Area">First path segment under the repository root: src, tests, tools or bench.</param>
/// <param name="RelativePath">Repository-relative csproj path with forward slashes.</param>
/// <param name="ProjectReferences">Names of the referenced projects (file name without .csproj).</param>
/// <param name="PackageReferences">Package references written in this csproj itself.</param>
/// <param name="InternalsVisibleTo">Friend assemblies named by csproj items or assembly attributes.</param>
internal sealed record ProjectNode(
    string Name,
    string Area,
    string RelativePath,
    IReadOnlyList<string> ProjectReferences,
    IReadOnlyList<PackageRef> PackageReferences,
    IReadOnlyList<string> InternalsVisibleTo)
{
    /// <summary>A node with only references, for synthetic graphs in tests.</summary>
    public static ProjectNode Synthetic(string area, string name, params string[] references) =>
        new(name, area, $"{area}/{name}/{name}.csproj", references, [], []);
}

/// <summary>A <c>PackageReference</c> element.</summary>
/// <param name="Include">Package id.</param>
/// <param name="HasVersion">True when the element carries Version/VersionOverride (forbidden under CPM).</param>
/// <param name="PrivateAssetsAll">True when <c>PrivateAssets="all"</c>, i.e. the package does not flow to consumers.</param>
internal sealed record PackageRef(string Include, bool HasVersion, bool PrivateAssetsAll);
