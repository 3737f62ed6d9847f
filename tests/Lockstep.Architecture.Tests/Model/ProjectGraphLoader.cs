using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Lockstep.Architecture.Tests.Model;

/// <summary>Builds <see cref="ProjectNode"/>s from the csproj files under src/, tests/, tools/ and bench/.</summary>
internal static partial class ProjectGraphLoader
{
    /// <summary>The top-level folders that hold projects (style-guide.md §3.1).</summary>
    public static readonly string[] Areas = ["src", "tests", "tools", "bench"];

    /// <summary>Loads every project of the repository at <paramref name="root"/>.</summary>
    public static IReadOnlyList<ProjectNode> Load(string root)
    {
        var files = RepoFiles.List(root);
        return files
            .Where(f => f.EndsWith(".csproj", StringComparison.Ordinal))
            .Where(f => Areas.Contains(f.Split('/')[0], StringComparer.Ordinal))
            .Select(f => Parse(root, f, files))
            .ToList();
    }

    /// <summary>Parses one csproj; <paramref name="repoFiles"/> supplies the .cs files for assembly attributes.</summary>
    public static ProjectNode Parse(string root, string relativePath, IReadOnlyList<string> repoFiles)
    {
        var fullPath = Path.Combine(root, relativePath);
        var doc = XDocument.Load(fullPath);

        var references = Elements(doc, "ProjectReference")
            .Select(e => (string?)e.Attribute("Include"))
            .OfType<string>()
            .Select(include => Path.GetFileNameWithoutExtension(include.Replace('\\', '/')))
            .ToList();

        var packages = Elements(doc, "PackageReference").Select(ToPackageRef).ToList();

        var friends = Elements(doc, "InternalsVisibleTo")
            .Select(e => (string?)e.Attribute("Include"))
            .OfType<string>()
            .ToList();
        var projectPrefix = Path.GetDirectoryName(relativePath)!.Replace('\\', '/') + "/";
        foreach (var source in repoFiles.Where(f => f.StartsWith(projectPrefix, StringComparison.Ordinal)
                                                    && f.EndsWith(".cs", StringComparison.Ordinal)))
        {
            var text = File.ReadAllText(Path.Combine(root, source));
            friends.AddRange(InternalsVisibleToAttribute().Matches(text).Select(m => m.Groups["name"].Value));
        }

        return new ProjectNode(
            Path.GetFileNameWithoutExtension(relativePath),
            relativePath.Split('/')[0],
            relativePath,
            references,
            packages,
            friends);
    }

    /// <summary>Package references of any MSBuild file (csproj, Directory.Build.props/targets).</summary>
    public static IReadOnlyList<PackageRef> PackageReferencesOf(string fullPath) =>
        Elements(XDocument.Load(fullPath), "PackageReference").Select(ToPackageRef).ToList();

    private static PackageRef ToPackageRef(XElement e)
    {
        // Version may be written as an attribute or as a child element; VersionOverride defeats CPM just as well.
        bool Has(string name) => e.Attribute(name) is not null || e.Elements().Any(c => c.Name.LocalName == name);
        var privateAssets = (string?)e.Attribute("PrivateAssets")
                            ?? e.Elements().FirstOrDefault(c => c.Name.LocalName == "PrivateAssets")?.Value;
        return new PackageRef(
            (string?)e.Attribute("Include") ?? (string?)e.Attribute("Update") ?? "?",
            Has("Version") || Has("VersionOverride"),
            string.Equals(privateAssets?.Trim(), "all", StringComparison.OrdinalIgnoreCase));
    }

    private static IEnumerable<XElement> Elements(XDocument doc, string localName) =>
        doc.Descendants().Where(e => e.Name.LocalName == localName);

    [GeneratedRegex("""InternalsVisibleTo\s*\(\s*"(?<name>[^",]+)""")]
    private static partial Regex InternalsVisibleToAttribute();
}
