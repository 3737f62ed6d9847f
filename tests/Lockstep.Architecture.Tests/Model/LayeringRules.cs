namespace Lockstep.Architecture.Tests.Model;

/// <summary>
/// The project graph allowed by style-guide.md §3.2. Every src project must appear in <see cref="AllowedSrcReferences"/>:
/// a new project fails the check until someone decides, here, what it may depend on.
/// </summary>
internal static class LayeringRules
{
    private const string Protocol = "Lockstep.Protocol";
    private const string Compression = "Lockstep.Protocol.Compression";
    private const string Transport = "Lockstep.Transport";
    private const string Storage = "Lockstep.Storage";
    private const string Broker = "Lockstep.Broker";
    private const string Client = "Lockstep.Client";
    private const string DualWrite = "Lockstep.DualWrite";

    /// <summary>The shared test-helper library: the only tests/ project others may reference.</summary>
    public const string TestingLibrary = "Lockstep.Testing";

    /// <summary>
    /// Small console programs (not test executables) that a test project references only so their dll is built and
    /// copied next to it, to be started as a child process and SIGKILLed (e.g. the 2PC crash worker).
    /// </summary>
    public static readonly string[] TestChildProcesses = ["Lockstep.Client.CrashWorker"];

    /// <summary>DualWrite store dialects; each sits on DualWrite (and may use the Client directly).</summary>
    public static readonly string[] DualWriteBackends =
    [
        "Lockstep.DualWrite.PostgreSql",
        "Lockstep.DualWrite.Sqlite",
        "Lockstep.DualWrite.Redis",
        "Lockstep.DualWrite.EntityFrameworkCore",
        "Lockstep.DualWrite.Hosting",
    ];

    /// <summary>src project → the src projects it may reference directly.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> AllowedSrcReferences = BuildTable();

    /// <summary>
    /// Pairs that must not be connected even transitively (§3.2 hard rule 1: a single node has no inter-broker
    /// traffic, so Broker and Client share only Protocol, as kfake and kgo share kmsg).
    /// </summary>
    public static readonly (string From, string To)[] ForbiddenPaths = [(Broker, Client), (Client, Broker)];

    /// <summary>Returns one readable message per violation; empty when the graph obeys the rules.</summary>
    public static IReadOnlyList<string> Check(IReadOnlyList<ProjectNode> projects)
    {
        var byName = projects.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var violations = new List<string>();

        foreach (var project in projects.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            if (project.Area == "src" && !AllowedSrcReferences.ContainsKey(project.Name))
            {
                violations.Add($"{project.Name}: src project missing from the layering table in "
                               + "tests/Lockstep.Architecture.Tests/Model/LayeringRules.cs (decide its allowed references there).");
            }

            foreach (var target in project.ProjectReferences)
            {
                if (!byName.TryGetValue(target, out var targetNode))
                {
                    violations.Add($"{project.Name} -> {target}: referenced project not found under {string.Join('/', ProjectGraphLoader.Areas)}.");
                    continue;
                }

                if (!IsAllowed(project, targetNode))
                {
                    violations.Add($"{project.Name} ({project.Area}) -> {target} ({targetNode.Area}): edge not allowed by style-guide.md §3.2.");
                }
            }
        }

        foreach (var (from, to) in ForbiddenPaths)
        {
            if (byName.ContainsKey(from) && Reaches(byName, from, to))
            {
                violations.Add($"{from} reaches {to} (possibly transitively): Broker and Client must never depend on each other.");
            }
        }

        return violations;
    }

    private static bool IsAllowed(ProjectNode source, ProjectNode target) => source.Area switch
    {
        // src depends only on src, along the table; src never references tests, tools or bench.
        "src" => target.Area == "src"
                 && AllowedSrcReferences.TryGetValue(source.Name, out var allowed)
                 && allowed.Contains(target.Name, StringComparer.Ordinal),
        // Tests may use anything shipped, the tools they verify (e.g. generated-is-current) and the helper library,
        // but never another test executable.
        "tests" => target.Area is "src" or "tools" || target.Name == TestingLibrary
                   || TestChildProcesses.Contains(target.Name, StringComparer.Ordinal),
        "bench" => target.Area == "src" || target.Name == TestingLibrary,
        "tools" => target.Area == "src",
        _ => false,
    };

    private static bool Reaches(Dictionary<string, ProjectNode> byName, string from, string to)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push(from);
        while (pending.Count > 0)
        {
            var current = pending.Pop();
            if (!seen.Add(current) || !byName.TryGetValue(current, out var node))
            {
                continue;
            }

            foreach (var next in node.ProjectReferences)
            {
                if (next == to)
                {
                    return true;
                }

                pending.Push(next);
            }
        }

        return false;
    }

    private static Dictionary<string, string[]> BuildTable()
    {
        var table = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            [Protocol] = [],
            [Compression] = [Protocol],
            [Transport] = [Protocol],
            [Storage] = [Protocol],
            [Broker] = [Protocol, Compression, Transport, Storage],
            [Client] = [Protocol, Compression, Transport],
            [DualWrite] = [Client],
            ["Lockstep.Cli"] = [Client, Broker, DualWrite, .. DualWriteBackends],
        };
        foreach (var backend in DualWriteBackends)
        {
            table[backend] = [DualWrite, Client];
        }

        return table;
    }
}
