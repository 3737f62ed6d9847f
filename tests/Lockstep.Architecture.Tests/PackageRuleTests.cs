using Lockstep.Architecture.Tests.Model;
using Lockstep.Testing;

namespace Lockstep.Architecture.Tests;

/// <summary>
/// Goal: package dependencies stay where §3.2 and §3.9 put them: Lockstep.Protocol is BCL-only, versions live only in
/// Directory.Packages.props (central package management), and every project is in the solution that test.sh builds.
/// Method: read the MSBuild files as XML.
/// </summary>
public sealed class PackageRuleTests
{
    /// <summary>MSBuild files that can declare PackageReference items: csproj plus Directory.Build.props/targets.</summary>
    private static IEnumerable<string> MsBuildFiles() => Repository.Files.Where(f =>
        f.EndsWith(".csproj", StringComparison.Ordinal)
        || Path.GetFileName(f) is "Directory.Build.props" or "Directory.Build.targets");

    [Fact]
    public void Protocol_project_declares_no_package_reference()
    {
        var protocol = Assert.Single(Repository.Projects, p => p.Name == "Lockstep.Protocol");

        Assert.Empty(protocol.PackageReferences);
    }

    [Fact]
    public void Packages_inherited_by_src_projects_are_private_assets()
    {
        // Protocol inherits these; PrivateAssets=all keeps analyzers from flowing to consumers as dependencies.
        string[] inherited = ["Directory.Build.props", "src/Directory.Build.props", "Directory.Build.targets", "src/Directory.Build.targets"];
        var present = inherited.Where(f => File.Exists(Repository.FullPath(f))).ToList();
        Assert.Contains("Directory.Build.props", present);

        var violations = present
            .SelectMany(f => ProjectGraphLoader.PackageReferencesOf(Repository.FullPath(f))
                .Where(p => !p.PrivateAssetsAll)
                .Select(p => $"{f}: PackageReference '{p.Include}' reaches every src project (Protocol included) without PrivateAssets=\"all\"."));
        Repository.AssertNone(violations, "inherited package");
    }

    [Fact]
    public void No_msbuild_file_sets_a_package_version()
    {
        var files = MsBuildFiles().ToList();
        Assert.Contains("src/Lockstep.Protocol/Lockstep.Protocol.csproj", files);

        var violations = files.SelectMany(f => ProjectGraphLoader.PackageReferencesOf(Repository.FullPath(f))
            .Where(p => p.HasVersion)
            .Select(p => $"{f}: PackageReference '{p.Include}' has a Version; put it in Directory.Packages.props."));
        Repository.AssertNone(violations, "central package management");
    }

    [Fact]
    public void Loader_detects_a_version_on_a_package_reference_and_private_assets()
    {
        using var temp = new TempDirectory(nameof(PackageRuleTests));
        var csproj = temp.Combine("Sample.csproj");
        File.WriteAllText(csproj, """
            <Project Sdk="Microsoft.NET.Sdk">
              <ItemGroup>
                <PackageReference Include="Pinned" Version="1.0.0" />
                <PackageReference Include="Overridden" VersionOverride="2.0.0" />
                <PackageReference Include="Nested"><Version>3.0.0</Version></PackageReference>
                <PackageReference Include="Central" PrivateAssets="All" />
              </ItemGroup>
            </Project>
            """);

        var packages = ProjectGraphLoader.PackageReferencesOf(csproj);

        Assert.Equal(
            [new("Pinned", true, false), new("Overridden", true, false), new("Nested", true, false), new PackageRef("Central", false, true)],
            packages);
    }

    [Fact]
    public void Every_project_is_in_the_solution()
    {
        // test.sh builds Lockstep.slnx once; a project outside it would be neither built nor tested.
        var solution = File.ReadAllText(Repository.FullPath("Lockstep.slnx")).Replace('\\', '/');

        var missing = Repository.Projects
            .Where(p => !solution.Contains($"\"{p.RelativePath}\"", StringComparison.Ordinal))
            .Select(p => $"{p.RelativePath} is not listed in Lockstep.slnx.");
        Repository.AssertNone(missing, "solution membership");
    }
}
