using System.Globalization;
using System.Text.Json;

namespace Lockstep.Protocol.Generator;

/// <summary>The primitive or composite kinds of a Kafka JSON field <c>type</c>.</summary>
public enum FieldKind
{
    /// <summary>int8.</summary>
    Int8,
    /// <summary>int16.</summary>
    Int16,
    /// <summary>uint16.</summary>
    UInt16,
    /// <summary>int32.</summary>
    Int32,
    /// <summary>uint32.</summary>
    UInt32,
    /// <summary>int64.</summary>
    Int64,
    /// <summary>float64.</summary>
    Float64,
    /// <summary>bool.</summary>
    Bool,
    /// <summary>string.</summary>
    String,
    /// <summary>bytes.</summary>
    Bytes,
    /// <summary>records.</summary>
    Records,
    /// <summary>uuid.</summary>
    Uuid,
    /// <summary>A struct, inline or from commonStructs.</summary>
    Struct,
    /// <summary>An array <c>[]T</c>.</summary>
    Array,
}

/// <summary>A parsed field type: <c>int32</c>, <c>[]string</c>, <c>[]Topic</c>, <c>Cursor</c>.</summary>
public sealed record FieldType(FieldKind Kind, string Text, FieldType? Element, string? StructName)
{
    /// <summary>Parses a JSON <c>type</c> string.</summary>
    public static FieldType Parse(string text)
    {
        if (text.StartsWith("[]", StringComparison.Ordinal))
        {
            var element = Parse(text[2..]);
            if (element.Kind == FieldKind.Array)
            {
                throw new GeneratorException($"Nested arrays are not supported: {text}");
            }

            return new FieldType(FieldKind.Array, text, element, null);
        }

        FieldKind? kind = text switch
        {
            "int8" => FieldKind.Int8,
            "int16" => FieldKind.Int16,
            "uint16" => FieldKind.UInt16,
            "int32" => FieldKind.Int32,
            "uint32" => FieldKind.UInt32,
            "int64" => FieldKind.Int64,
            "float64" => FieldKind.Float64,
            "bool" => FieldKind.Bool,
            "string" => FieldKind.String,
            "bytes" => FieldKind.Bytes,
            "records" => FieldKind.Records,
            "uuid" => FieldKind.Uuid,
            _ => null,
        };
        return kind is { } k
            ? new FieldType(k, text, null, null)
            : new FieldType(FieldKind.Struct, text, null, text);
    }

    /// <summary>True for the fixed-size number, bool and uuid kinds.</summary>
    public bool IsFixedSize => FixedSize > 0;

    /// <summary>The encoded size of a fixed-size kind, else 0.</summary>
    public int FixedSize => Kind switch
    {
        FieldKind.Int8 or FieldKind.Bool => 1,
        FieldKind.Int16 or FieldKind.UInt16 => 2,
        FieldKind.Int32 or FieldKind.UInt32 => 4,
        FieldKind.Int64 or FieldKind.Float64 => 8,
        FieldKind.Uuid => 16,
        _ => 0,
    };

    /// <summary>True when the C# type is a reference type (or, for records, a nullable value).</summary>
    public bool CanBeNull => Kind is FieldKind.String or FieldKind.Bytes or FieldKind.Records or FieldKind.Struct
        or FieldKind.Array;
}

/// <summary>One field of a message or struct, as in Kafka's <c>FieldSpec.java</c>.</summary>
public sealed class FieldSpec
{
    /// <summary>The JSON name, used verbatim as the C# property name.</summary>
    public required string Name { get; init; }

    /// <summary>The parsed type.</summary>
    public required FieldType Type { get; init; }

    /// <summary>Versions that carry the field (regular or tagged).</summary>
    public required VersionRange Versions { get; init; }

    /// <summary>Versions in which the field may be null.</summary>
    public required VersionRange NullableVersions { get; init; }

    /// <summary>Versions in which the field is a tagged field (KIP-482).</summary>
    public required VersionRange TaggedVersions { get; init; }

    /// <summary>Versions in which strings/bytes/arrays use the compact encoding, if the field overrides it.</summary>
    public VersionRange? FlexibleVersions { get; init; }

    /// <summary>The tag, for tagged fields.</summary>
    public int? Tag { get; init; }

    /// <summary>Whether a non-default value may be silently dropped in versions that lack the field.</summary>
    public bool Ignorable { get; init; }

    /// <summary>The JSON <c>default</c>, normalised to a string (JSON null becomes "null"), or null.</summary>
    public string? Default { get; init; }

    /// <summary>The <c>about</c> text.</summary>
    public string About { get; init; } = "";

    /// <summary>Fields of an inline struct declared by this field.</summary>
    public IReadOnlyList<FieldSpec>? Fields { get; init; }

    /// <summary>True when the default is null (Kafka: <c>"default": "null"</c>).</summary>
    public bool DefaultIsNull => Default == "null";

    /// <summary>True when the C# property is nullable.</summary>
    public bool IsNullableType =>
        Type.Kind == FieldKind.Records || (Type.CanBeNull && (!NullableVersions.IsEmpty || DefaultIsNull));
}

/// <summary>A struct: the message itself, an inline struct, or a common struct.</summary>
public sealed class StructSpec
{
    /// <summary>The JSON struct type name.</summary>
    public required string Name { get; init; }

    /// <summary>
    /// The C# class name: the JSON name, or the JSON name plus "Data" where the JSON name is also a property of the
    /// class that would contain it (C# forbids a nested type and a member with the same name, CS0102/CS0542).
    /// </summary>
    public string ClassName { get; set; } = "";

    /// <summary>The fields, in wire order.</summary>
    public required IReadOnlyList<FieldSpec> Fields { get; init; }
}

/// <summary>One JSON schema file.</summary>
public sealed class MessageSpec
{
    /// <summary>The message name, e.g. <c>InitProducerIdRequest</c>.</summary>
    public required string Name { get; init; }

    /// <summary>request, response, header, data, coordinator-key or coordinator-value.</summary>
    public required string Kind { get; init; }

    /// <summary>The API key (requests/responses) or record type (coordinator records).</summary>
    public short? ApiKey { get; init; }

    /// <summary>The valid versions.</summary>
    public required VersionRange ValidVersions { get; init; }

    /// <summary>The flexible versions.</summary>
    public required VersionRange FlexibleVersions { get; init; }

    /// <summary>Whether the top version is unstable (requests only).</summary>
    public bool LatestVersionUnstable { get; init; }

    /// <summary>The listeners (broker, controller) that serve the API.</summary>
    public IReadOnlyList<string> Listeners { get; init; } = [];

    /// <summary>The top-level struct.</summary>
    public required StructSpec Root { get; init; }

    /// <summary>Every nested struct, inline ones in declaration order (depth first) then common structs.</summary>
    public required IReadOnlyList<StructSpec> Structs { get; init; }

    /// <summary>The source file name, e.g. <c>InitProducerIdRequest.json</c>.</summary>
    public required string FileName { get; init; }

    /// <summary>First flexible version, or -1.</summary>
    public short FlexibleVersionsFrom => FlexibleVersions.IsEmpty ? (short)-1 : FlexibleVersions.Lowest;

    /// <summary>Looks up a struct by its JSON name.</summary>
    public StructSpec GetStruct(string name) =>
        Structs.FirstOrDefault(s => s.Name == name)
        ?? throw new GeneratorException($"{FileName}: unknown struct type '{name}'.");
}

/// <summary>Reads Kafka JSON schema files (which carry <c>//</c> comment lines) into <see cref="MessageSpec"/>.</summary>
public static class SchemaLoader
{
    private static readonly JsonDocumentOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Loads one file.</summary>
    public static MessageSpec Load(string path)
    {
        var fileName = Path.GetFileName(path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path), Options);
            return Parse(doc.RootElement, fileName);
        }
        catch (JsonException e)
        {
            throw new GeneratorException($"{fileName}: invalid JSON: {e.Message}", e);
        }
    }

    private static MessageSpec Parse(JsonElement root, string fileName)
    {
        var name = GetString(root, "name") ?? throw new GeneratorException($"{fileName}: missing name.");
        var valid = VersionRange.Parse(GetString(root, "validVersions"), VersionRange.None);
        var flexible = VersionRange.Parse(GetString(root, "flexibleVersions"), VersionRange.None);
        var fields = ParseFields(root, fileName);
        var structs = new List<StructSpec>();
        CollectInline(fields, structs, fileName);
        if (root.TryGetProperty("commonStructs", out var common))
        {
            foreach (var cs in common.EnumerateArray())
            {
                var csName = GetString(cs, "name") ?? throw new GeneratorException($"{fileName}: unnamed common struct.");
                var csFields = ParseFields(cs, fileName);
                AddStruct(structs, new StructSpec { Name = csName, Fields = csFields }, fileName);
                CollectInline(csFields, structs, fileName);
            }
        }

        var listeners = root.TryGetProperty("listeners", out var l)
            ? l.EnumerateArray().Select(e => e.GetString() ?? "").ToList()
            : [];
        var message = new MessageSpec
        {
            Name = name,
            Kind = GetString(root, "type") ?? throw new GeneratorException($"{fileName}: missing type."),
            ApiKey = root.TryGetProperty("apiKey", out var key) ? key.GetInt16() : null,
            ValidVersions = valid,
            FlexibleVersions = flexible,
            LatestVersionUnstable = root.TryGetProperty("latestVersionUnstable", out var u) && u.GetBoolean(),
            Listeners = listeners,
            Root = new StructSpec { Name = name, ClassName = name, Fields = fields },
            Structs = structs,
            FileName = fileName,
        };
        AssignClassNames(message);
        Validate(message);
        return message;
    }

    private static void AddStruct(List<StructSpec> structs, StructSpec spec, string fileName)
    {
        if (structs.Any(s => s.Name == spec.Name))
        {
            // Kafka's StructRegistry rejects the same struct name twice in one file.
            throw new GeneratorException($"{fileName}: struct '{spec.Name}' is declared twice.");
        }

        structs.Add(spec);
    }

    private static void CollectInline(IReadOnlyList<FieldSpec> fields, List<StructSpec> structs, string fileName)
    {
        foreach (var f in fields)
        {
            if (f.Fields is null)
            {
                continue;
            }

            var structName = (f.Type.Element ?? f.Type).StructName
                ?? throw new GeneratorException($"{fileName}: field {f.Name} has fields but type {f.Type.Text}.");
            AddStruct(structs, new StructSpec { Name = structName, Fields = f.Fields }, fileName);
            CollectInline(f.Fields, structs, fileName);
        }
    }

    private static void AssignClassNames(MessageSpec message)
    {
        // Nested classes are members of the top-level class (as in Kafka's Java output), so a struct name that is
        // also a property of the top-level class, or a property of the struct itself, needs another C# name.
        var topNames = message.Root.Fields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var taken = message.Structs.Select(s => s.Name).Append(message.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var s in message.Structs)
        {
            var clash = topNames.Contains(s.Name) || s.Fields.Any(f => f.Name == s.Name);
            var className = s.Name;
            while (clash)
            {
                className += "Data";
                clash = taken.Contains(className) || topNames.Contains(className);
            }

            s.ClassName = className;
            taken.Add(className);
        }
    }

    private static readonly HashSet<string> ReservedMembers =
        ["Write", "Read", "IsDefault", "UnknownTaggedFields", "LowestSupportedVersion", "HighestSupportedVersion",
         "FlexibleVersionsFrom", "LatestVersionUnstable", "CoordinatorRecordType", "Equals", "GetHashCode",
         "ToString", "GetType", "MemberwiseClone"];

    private static void Validate(MessageSpec message)
    {
        foreach (var s in message.Structs.Prepend(message.Root))
        {
            var tags = new HashSet<int>();
            foreach (var f in s.Fields)
            {
                if (ReservedMembers.Contains(f.Name) || (s == message.Root && f.Name == "ApiKey"))
                {
                    throw new GeneratorException($"{message.FileName}: field {s.Name}.{f.Name} clashes with a generated member.");
                }

                var baseType = f.Type.Element ?? f.Type;
                if (baseType.Kind == FieldKind.Struct)
                {
                    message.GetStruct(baseType.StructName!);
                }

                if (!f.TaggedVersions.IsEmpty)
                {
                    if (f.Tag is not { } tag || !tags.Add(tag))
                    {
                        throw new GeneratorException($"{message.FileName}: tagged field {f.Name} has a missing or repeated tag.");
                    }

                    if (f.TaggedVersions.Intersect(message.ValidVersions) != f.TaggedVersions.Intersect(message.ValidVersions).Intersect(message.FlexibleVersions))
                    {
                        throw new GeneratorException($"{message.FileName}: field {f.Name} is tagged in a non-flexible version.");
                    }
                }
            }
        }
    }

    private static List<FieldSpec> ParseFields(JsonElement owner, string fileName)
    {
        var list = new List<FieldSpec>();
        if (!owner.TryGetProperty("fields", out var fields))
        {
            return list;
        }

        foreach (var f in fields.EnumerateArray())
        {
            var name = GetString(f, "name") ?? throw new GeneratorException($"{fileName}: unnamed field.");
            var tagged = VersionRange.Parse(GetString(f, "taggedVersions"), VersionRange.None);

            // A field given only taggedVersions exists exactly in those versions (e.g. TransactionLogValue).
            var versions = VersionRange.Parse(GetString(f, "versions"), tagged);
            if (versions.IsEmpty && tagged.IsEmpty && GetString(f, "versions") is null)
            {
                throw new GeneratorException($"{fileName}: field {name} has no versions.");
            }

            list.Add(new FieldSpec
            {
                Name = name,
                Type = FieldType.Parse(GetString(f, "type") ?? throw new GeneratorException($"{fileName}: {name} has no type.")),
                Versions = versions,
                NullableVersions = VersionRange.Parse(GetString(f, "nullableVersions"), VersionRange.None),
                TaggedVersions = tagged,
                FlexibleVersions = f.TryGetProperty("flexibleVersions", out var fv)
                    ? VersionRange.Parse(fv.GetString(), VersionRange.None)
                    : null,
                Tag = f.TryGetProperty("tag", out var tag) ? tag.GetInt32() : null,
                Ignorable = f.TryGetProperty("ignorable", out var ig) && ig.GetBoolean(),
                Default = f.TryGetProperty("default", out var d) ? DefaultText(d) : null,
                About = GetString(f, "about") ?? "",
                Fields = f.TryGetProperty("fields", out _) ? ParseFields(f, fileName) : null,
            });
        }

        return list;
    }

    private static string DefaultText(JsonElement d) => d.ValueKind switch
    {
        JsonValueKind.Null => "null",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Number => d.GetRawText(),
        JsonValueKind.String => d.GetString()!,
        _ => throw new GeneratorException($"Unsupported default {d.GetRawText()}."),
    };

    private static string? GetString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>Parses an integer default: decimal or <c>0x</c> hexadecimal, as Kafka's FieldSpec does.</summary>
    public static long ParseIntegerDefault(string text, string context)
    {
        var negative = text.StartsWith('-');
        var body = negative ? text[1..] : text;
        if (body.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            if (!long.TryParse(body[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hex))
            {
                throw new GeneratorException($"{context}: invalid default '{text}'.");
            }

            return negative ? -hex : hex;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new GeneratorException($"{context}: invalid default '{text}'.");
    }
}
