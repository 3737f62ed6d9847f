using System.Text;
using System.Text.Json;

namespace Lockstep.Protocol.Generator;

/// <summary>The pinned schema source read from <c>manifest.json</c>.</summary>
public sealed record Manifest(string Commit, IReadOnlyList<string> Storage)
{
    /// <summary>Reads the manifest.</summary>
    public static Manifest Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new GeneratorException($"Manifest not found: {path}");
        }

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var commit = doc.RootElement.GetProperty("commit").GetString() ?? "";
        var storage = doc.RootElement.GetProperty("storage").EnumerateArray().Select(e => e.GetString() ?? "").ToList();
        return new Manifest(commit, storage);
    }
}

/// <summary>Turns the schema folder into the generated C# files (path relative to the output folder → content).</summary>
public static class CodeGenerator
{
    /// <summary>The namespace of wire messages.</summary>
    public const string MessagesNamespace = "Lockstep.Protocol.Messages";

    /// <summary>The namespace of persisted coordinator/log records.</summary>
    public const string StorageNamespace = "Lockstep.Protocol.Messages.Storage";

    /// <summary>Loads every schema the generator covers: all of messages/ plus the manifest's storage files.</summary>
    public static (List<MessageSpec> Messages, List<MessageSpec> Storage) LoadSchemas(string schemasDir, Manifest manifest)
    {
        var messagesDir = Path.Combine(schemasDir, "messages");
        if (!Directory.Exists(messagesDir))
        {
            throw new GeneratorException($"Schema folder not found: {messagesDir}. Pass --schemas <dir> pointing at the kafka-protocol folder.");
        }

        var messages = Directory.GetFiles(messagesDir, "*.json")
            .Order(StringComparer.Ordinal)
            .Select(SchemaLoader.Load)
            .ToList();
        var storage = manifest.Storage
            .Select(rel => Path.Combine(schemasDir, rel))
            .Select(p => File.Exists(p) ? SchemaLoader.Load(p) : throw new GeneratorException($"Storage schema not found: {p}"))
            .ToList();
        return (messages, storage);
    }

    /// <summary>Checks that the schema folder is the pinned commit (its README names the commit).</summary>
    public static void CheckPin(string schemasDir, Manifest manifest)
    {
        var readme = Path.Combine(schemasDir, "README.md");
        if (File.Exists(readme) && !File.ReadAllText(readme).Contains(manifest.Commit, StringComparison.Ordinal))
        {
            throw new GeneratorException(
                $"{readme} does not name the pinned commit {manifest.Commit} from manifest.json. Update the manifest " +
                "deliberately (and regenerate) when the schemas move.");
        }
    }

    /// <summary>Generates every file.</summary>
    public static SortedDictionary<string, string> Generate(string schemasDir, Manifest manifest)
    {
        CheckPin(schemasDir, manifest);
        var (messages, storage) = LoadSchemas(schemasDir, manifest);
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var shortCommit = manifest.Commit.Length > 12 ? manifest.Commit[..12] : manifest.Commit;

        void AddGroups(List<MessageSpec> specs, string ns, string folder, string[] suffixes)
        {
            var groups = specs
                .GroupBy(m => GroupName(m, suffixes), StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal);
            foreach (var group in groups)
            {
                var ordered = group.OrderBy(m => Array.FindIndex(suffixes, s => m.Name.EndsWith(s, StringComparison.Ordinal))).ToList();
                var path = folder + group.Key + ".g.cs";
                if (files.ContainsKey(path))
                {
                    throw new GeneratorException($"Two schemas map to {path}.");
                }

                files[path] = EmitFile(ordered, ns, shortCommit);
            }
        }

        AddGroups(messages, MessagesNamespace, "", ["Request", "Response"]);
        AddGroups(storage, StorageNamespace, "Storage/", ["Key", "Value"]);
        files["ApiKey.g.cs"] = TableEmitter.EmitApiKeys(messages, shortCommit);
        files["ApiMessages.g.cs"] = TableEmitter.EmitApiMessages(messages, shortCommit);
        files["MessageMetadata.g.cs"] = TableEmitter.EmitMetadata(messages, storage, shortCommit);
        return files;
    }

    private static string GroupName(MessageSpec m, string[] suffixes)
    {
        if (m.Kind is "request" or "response" or "coordinator-key" or "coordinator-value")
        {
            foreach (var suffix in suffixes)
            {
                if (m.Name.EndsWith(suffix, StringComparison.Ordinal) && m.Name.Length > suffix.Length)
                {
                    return m.Name[..^suffix.Length];
                }
            }
        }

        return m.Name;
    }

    /// <summary>The standard header of every generated file.</summary>
    public static string Header(string sources, string shortCommit) =>
        "// <auto-generated/>\n" +
        $"// Generated by tools/Lockstep.Protocol.Generator from Apache Kafka {sources} at commit {shortCommit}\n" +
        "// (tools/Lockstep.Protocol.Generator/manifest.json). Do not edit: rerun the generator.\n" +
        "#nullable enable\n";

    private static string EmitFile(List<MessageSpec> specs, string ns, string shortCommit)
    {
        var body = new CodeWriter();
        var first = true;
        foreach (var spec in specs)
        {
            if (!first)
            {
                body.Line();
            }

            first = false;
            var response = spec.Kind == "request"
                ? specs.FirstOrDefault(s => s.Kind == "response")?.Name
                : null;
            if (spec.Kind == "request" && response is null)
            {
                throw new GeneratorException($"{spec.FileName}: no matching response schema.");
            }

            MessageEmitter.Emit(spec, response, body);
        }

        var text = body.ToString();
        var sb = new StringBuilder();
        sb.Append(Header(string.Join(" and ", specs.Select(s => s.FileName)), shortCommit));
        if (text.Contains("Guid", StringComparison.Ordinal) || text.Contains("ReadOnlyMemory", StringComparison.Ordinal))
        {
            sb.Append("using System;\n");
        }

        if (text.Contains("List<", StringComparison.Ordinal))
        {
            sb.Append("using System.Collections.Generic;\n");
        }

        sb.Append("using Lockstep.Protocol.Primitives;\n\n");
        sb.Append("namespace ").Append(ns).Append(";\n\n");
        sb.Append(text);
        return sb.ToString();
    }

    /// <summary>
    /// Writes <paramref name="files"/> under <paramref name="outDir"/>, rewriting a file only when its content changes,
    /// and deletes generated (<c>*.g.cs</c>) files the run no longer produces. Returns (written, deleted) counts.
    /// </summary>
    public static (int Written, int Deleted) WriteOutput(string outDir, IReadOnlyDictionary<string, string> files)
    {
        Directory.CreateDirectory(outDir);
        var written = 0;
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        foreach (var (relative, content) in files)
        {
            var path = Path.Combine(outDir, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var bytes = utf8.GetBytes(content);
            if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
            {
                continue;
            }

            File.WriteAllBytes(path, bytes);
            written++;
        }

        var deleted = 0;
        foreach (var path in Directory.GetFiles(outDir, "*.g.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(outDir, path).Replace('\\', '/');
            if (!files.ContainsKey(relative))
            {
                File.Delete(path);
                deleted++;
            }
        }

        return (written, deleted);
    }

    /// <summary>Finds the repository root: the nearest folder at or above <paramref name="start"/> holding Lockstep.slnx.</summary>
    public static string? FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Lockstep.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
