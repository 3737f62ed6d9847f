namespace Lockstep.Protocol.Generator;

/// <summary>Emits the cross-message tables: the ApiKey enum, the per-API table and the field metadata table.</summary>
public static class TableEmitter
{
    private static IEnumerable<(MessageSpec Request, MessageSpec Response)> Apis(IReadOnlyList<MessageSpec> messages)
    {
        var responses = messages.Where(m => m.Kind == "response").ToDictionary(m => m.ApiKey!.Value);
        foreach (var request in messages.Where(m => m.Kind == "request").OrderBy(m => m.ApiKey))
        {
            if (!responses.TryGetValue(request.ApiKey!.Value, out var response))
            {
                throw new GeneratorException($"{request.FileName}: no response schema with apiKey {request.ApiKey}.");
            }

            yield return (request, response);
        }
    }

    /// <summary>ApiKey.g.cs.</summary>
    public static string EmitApiKeys(IReadOnlyList<MessageSpec> messages, string shortCommit)
    {
        var w = new CodeWriter();
        w.Line("/// <summary>");
        w.Line("/// Kafka API keys, one per request schema (<c>messages/*Request.json</c>). APIs whose <c>validVersions</c> is");
        w.Line("/// <c>none</c> were removed from Kafka and are listed only so their keys stay recognisable.");
        w.Line("/// </summary>");
        w.Line("public enum ApiKey : short");
        w.Block(() =>
        {
            var first = true;
            foreach (var (request, _) in Apis(messages))
            {
                if (!first)
                {
                    w.Line();
                }

                first = false;
                var versions = request.ValidVersions.IsEmpty ? "removed (no valid versions)" : $"versions {request.ValidVersions}";
                w.Line($"/// <summary><c>{MessageEmitter.ApiName(request)}</c>: {versions}.</summary>");
                w.Line($"{MessageEmitter.ApiName(request)} = {request.ApiKey},");
            }
        });
        return CodeGenerator.Header("messages/*Request.json", shortCommit) +
            "\nnamespace Lockstep.Protocol.Messages;\n\n" + w;
    }

    /// <summary>ApiMessages.g.cs.</summary>
    public static string EmitApiMessages(IReadOnlyList<MessageSpec> messages, string shortCommit)
    {
        var w = new CodeWriter();
        w.Line("public static partial class ApiMessages");
        w.Block(() =>
        {
            w.Line("/// <summary>Every API key with its request schema's version facts, ordered by key.</summary>");
            w.Line("public static IReadOnlyList<ApiMessageInfo> All { get; } =");
            w.Line("[");
            foreach (var (request, response) in Apis(messages))
            {
                if (request.ValidVersions != response.ValidVersions || request.FlexibleVersions != response.FlexibleVersions)
                {
                    throw new GeneratorException($"{request.FileName} and {response.FileName} disagree on versions.");
                }

                var lo = request.ValidVersions.IsEmpty ? 0 : request.ValidVersions.Lowest;
                var hi = request.ValidVersions.IsEmpty ? -1 : request.ValidVersions.Highest;
                var listeners = string.Join(", ", request.Listeners.Select(MessageEmitter.Literal));
                var name = MessageEmitter.ApiName(request);
                w.Line($"    new(ApiKey.{name}, \"{name}\", {lo}, {hi}, {request.FlexibleVersionsFrom}, " +
                    $"{(request.LatestVersionUnstable ? "true" : "false")}, [{listeners}], typeof({request.Name}), typeof({response.Name})),");
            }

            w.Line("];");
        });
        return CodeGenerator.Header("messages/*Request.json and *Response.json", shortCommit) +
            "using System.Collections.Generic;\n\nnamespace Lockstep.Protocol.Messages;\n\n" + w;
    }

    /// <summary>MessageMetadata.g.cs: per class (top-level and nested) the JSON facts of each field.</summary>
    public static string EmitMetadata(IReadOnlyList<MessageSpec> messages, IReadOnlyList<MessageSpec> storage, string shortCommit)
    {
        var w = new CodeWriter();
        w.Line("/// <summary>");
        w.Line("/// The JSON facts of every generated class's fields (versions, nullability, tags), so tests and diagnostics can");
        w.Line("/// reason about a message without the schema files.");
        w.Line("/// </summary>");
        w.Line("internal static class MessageMetadata");
        w.Block(() =>
        {
            var all = messages.Select(m => (Spec: m, Prefix: "")).Concat(storage.Select(m => (Spec: m, Prefix: "Storage."))).ToList();
            w.Line("/// <summary>Every generated top-level message type.</summary>");
            w.Line("internal static IReadOnlyList<Type> MessageTypes { get; } =");
            w.Line("[");
            foreach (var (spec, prefix) in all)
            {
                w.Line($"    typeof({prefix}{spec.Name}),");
            }

            w.Line("];");
            w.Line();
            w.Line("/// <summary>Field facts per generated class, in wire order.</summary>");
            w.Line("internal static IReadOnlyDictionary<Type, MessageFieldInfo[]> Fields { get; } = new Dictionary<Type, MessageFieldInfo[]>");
            w.Line("{");
            foreach (var (spec, prefix) in all)
            {
                foreach (var s in spec.Structs.Prepend(spec.Root))
                {
                    var typeName = s == spec.Root ? $"{prefix}{spec.Name}" : $"{prefix}{spec.Name}.{s.ClassName}";
                    w.Line($"    [typeof({typeName})] =");
                    w.Line("    [");
                    foreach (var f in s.Fields)
                    {
                        w.Line($"        new({MessageEmitter.Literal(f.Name)}, {MessageEmitter.Literal(f.Type.Text)}, {Range(f.Versions)}, " +
                            $"{Range(f.NullableVersions)}, {Range(f.TaggedVersions)}, {f.Tag ?? -1}, {(f.Ignorable ? "true" : "false")}),");
                    }

                    w.Line("    ],");
                }
            }

            w.Line("};");
        });
        return CodeGenerator.Header("messages/*.json and the manifest's storage schemas", shortCommit) +
            "using System;\nusing System.Collections.Generic;\n\nnamespace Lockstep.Protocol.Messages;\n\n" + w;
    }

    private static string Range(VersionRange r) => r.IsEmpty ? "new(0, -1)" : $"new({r.Lowest}, {r.Highest})";
}
