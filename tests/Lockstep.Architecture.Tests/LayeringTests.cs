using Lockstep.Architecture.Tests.Model;

namespace Lockstep.Architecture.Tests;

/// <summary>
/// Goal: the ProjectReference graph stays the one-way graph of style-guide.md §3.2. Method: parse every csproj in
/// the repository and check each edge against <see cref="LayeringRules"/>; synthetic graphs prove the checker
/// actually rejects forbidden edges (a checker that accepts everything would pass the repository test too).
/// </summary>
public sealed class LayeringTests
{
    private static ProjectNode Src(string name, params string[] refs) => ProjectNode.Synthetic("src", name, refs);

    /// <summary>The complete planned graph of §3.1/§3.2, every allowed edge present.</summary>
    private static List<ProjectNode> PlannedGraph() =>
    [
        Src("Lockstep.Protocol"),
        Src("Lockstep.Protocol.Compression", "Lockstep.Protocol"),
        Src("Lockstep.Transport", "Lockstep.Protocol"),
        Src("Lockstep.Storage", "Lockstep.Protocol"),
        Src("Lockstep.Broker", "Lockstep.Protocol", "Lockstep.Protocol.Compression", "Lockstep.Transport", "Lockstep.Storage"),
        Src("Lockstep.Client", "Lockstep.Protocol", "Lockstep.Protocol.Compression", "Lockstep.Transport"),
        Src("Lockstep.DualWrite", "Lockstep.Client"),
        Src("Lockstep.DualWrite.PostgreSql", "Lockstep.DualWrite", "Lockstep.Client"),
        Src("Lockstep.DualWrite.Sqlite", "Lockstep.DualWrite"),
        Src("Lockstep.DualWrite.Redis", "Lockstep.DualWrite"),
        Src("Lockstep.DualWrite.EntityFrameworkCore", "Lockstep.DualWrite"),
        Src("Lockstep.Cli", "Lockstep.Client", "Lockstep.Broker", "Lockstep.DualWrite", "Lockstep.DualWrite.PostgreSql"),
        ProjectNode.Synthetic("tools", "Lockstep.Protocol.Generator", "Lockstep.Protocol"),
        ProjectNode.Synthetic("tests", "Lockstep.Testing"),
        ProjectNode.Synthetic("tests", "Lockstep.Protocol.Tests", "Lockstep.Protocol", "Lockstep.Protocol.Generator", "Lockstep.Testing"),
        ProjectNode.Synthetic("tests", "Lockstep.Broker.Tests", "Lockstep.Broker", "Lockstep.Client", "Lockstep.Testing"),
        ProjectNode.Synthetic("bench", "Lockstep.Benchmarks", "Lockstep.Broker", "Lockstep.Client", "Lockstep.Testing"),
    ];

    [Fact]
    public void Repository_project_graph_obeys_the_layering_table()
    {
        var projects = Repository.Projects;

        // Guard against a loader that silently finds nothing: these projects exist since the foundation commit.
        Assert.Contains(projects, p => p.Name == "Lockstep.Protocol" && p.Area == "src");
        Assert.Contains(projects, p => p.Name == "Lockstep.Architecture.Tests" && p.Area == "tests");
        Assert.Contains(projects, p => p.Name == "Lockstep.Storage" && p.ProjectReferences.Contains("Lockstep.Protocol"));
        Repository.AssertNone(LayeringRules.Check(projects), "layering");
    }

    [Fact]
    public void Check_accepts_the_complete_planned_graph()
    {
        Assert.Empty(LayeringRules.Check(PlannedGraph()));
    }

    [Theory]
    [InlineData("Lockstep.Broker", "Lockstep.Client")]
    [InlineData("Lockstep.Client", "Lockstep.Broker")]
    [InlineData("Lockstep.Protocol", "Lockstep.Transport")]
    [InlineData("Lockstep.Protocol", "Lockstep.Protocol.Compression")]
    [InlineData("Lockstep.Transport", "Lockstep.Storage")]
    [InlineData("Lockstep.Storage", "Lockstep.Transport")]
    [InlineData("Lockstep.Client", "Lockstep.Storage")]
    [InlineData("Lockstep.DualWrite", "Lockstep.Broker")]
    [InlineData("Lockstep.DualWrite.Sqlite", "Lockstep.Transport")]
    [InlineData("Lockstep.Protocol", "Lockstep.Protocol.Generator")]
    [InlineData("Lockstep.Broker", "Lockstep.Testing")]
    [InlineData("Lockstep.Protocol.Tests", "Lockstep.Broker.Tests")]
    public void Check_reports_a_forbidden_edge(string from, string to)
    {
        var graph = PlannedGraph();
        var index = graph.FindIndex(p => p.Name == from);
        graph[index] = graph[index] with { ProjectReferences = [.. graph[index].ProjectReferences, to] };

        var violations = LayeringRules.Check(graph);

        Assert.Contains(violations, v => v.StartsWith($"{from} (", StringComparison.Ordinal) && v.Contains($"-> {to} (", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_reports_a_transitive_path_between_broker_and_client()
    {
        // Storage -> Client is itself illegal; the point here is that the hard rule also sees Broker -> Storage -> Client.
        var graph = PlannedGraph();
        var index = graph.FindIndex(p => p.Name == "Lockstep.Storage");
        graph[index] = graph[index] with { ProjectReferences = ["Lockstep.Protocol", "Lockstep.Client"] };

        var violations = LayeringRules.Check(graph);

        Assert.Contains(violations, v => v.StartsWith("Lockstep.Broker reaches Lockstep.Client", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_reports_a_src_project_missing_from_the_table()
    {
        List<ProjectNode> graph = [.. PlannedGraph(), Src("Lockstep.Metrics", "Lockstep.Protocol")];

        var violations = LayeringRules.Check(graph);

        Assert.Contains(violations, v => v.StartsWith("Lockstep.Metrics: src project missing", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.StartsWith("Lockstep.Metrics (src) -> Lockstep.Protocol", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_reports_a_reference_to_a_project_outside_the_repository_areas()
    {
        List<ProjectNode> graph = [.. PlannedGraph(), ProjectNode.Synthetic("tests", "Lockstep.Extra.Tests", "Lockstep.Samples")];

        var violations = LayeringRules.Check(graph);

        Assert.Equal(["Lockstep.Extra.Tests -> Lockstep.Samples: referenced project not found under src/tests/tools/bench."], violations);
    }
}
