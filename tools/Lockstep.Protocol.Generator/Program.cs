using Lockstep.Protocol.Generator;

// Kafka JSON message specs -> src/Lockstep.Protocol/Messages/Generated (style-guide.md §3.3).
// Usage: dotnet run --project tools/Lockstep.Protocol.Generator -- [--schemas DIR] [--out DIR]
string? schemas = null;
string? output = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--schemas" when i + 1 < args.Length:
            schemas = args[++i];
            break;
        case "--out" when i + 1 < args.Length:
            output = args[++i];
            break;
        case "-h" or "--help":
            Console.WriteLine("Usage: Lockstep.Protocol.Generator [--schemas DIR] [--out DIR]");
            Console.WriteLine("  --schemas  Kafka schema folder holding messages/ and storage/ (default: ../shared/kafka-protocol");
            Console.WriteLine("             relative to the repository root)");
            Console.WriteLine("  --out      output folder (default: src/Lockstep.Protocol/Messages/Generated)");
            return 0;
        default:
            Console.Error.WriteLine($"Unknown or incomplete argument '{args[i]}'. Use --help.");
            return 2;
    }
}

var root = CodeGenerator.FindRepositoryRoot(Directory.GetCurrentDirectory())
    ?? CodeGenerator.FindRepositoryRoot(AppContext.BaseDirectory);
if (root is null)
{
    Console.Error.WriteLine("error: cannot find the repository root (a folder holding Lockstep.slnx).");
    return 1;
}

schemas = Path.GetFullPath(schemas ?? Path.Combine(root, "..", "shared", "kafka-protocol"));
output = Path.GetFullPath(output ?? Path.Combine(root, "src", "Lockstep.Protocol", "Messages", "Generated"));
if (!Directory.Exists(schemas))
{
    Console.Error.WriteLine($"error: schema folder '{schemas}' does not exist. Pass --schemas <dir> pointing at Apache Kafka's " +
        "schema files (messages/ and storage/); see tools/Lockstep.Protocol.Generator/manifest.json for the pinned commit.");
    return 1;
}

try
{
    var manifest = Manifest.Load(Path.Combine(root, "tools", "Lockstep.Protocol.Generator", "manifest.json"));
    var files = CodeGenerator.Generate(schemas, manifest);
    var (written, deleted) = CodeGenerator.WriteOutput(output, files);
    Console.WriteLine($"{files.Count} file(s) generated into {output}: {written} rewritten, {deleted} stale deleted.");
    return 0;
}
catch (GeneratorException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
