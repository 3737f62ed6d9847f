using System.Globalization;
using System.Text;

namespace Lockstep.Protocol.Generator;

/// <summary>
/// Emits the C# for one message (top-level class plus nested struct classes) following Kafka's
/// <c>generator/src/main/java/org/apache/kafka/message/MessageDataGenerator.java</c> wire rules:
/// version-gated fields, compact encodings in flexible versions, tagged fields in tag order with their size,
/// unknown tags preserved, and the non-default/nullability checks of <c>FieldSpec.java</c>.
/// </summary>
public sealed class MessageEmitter
{
    private static readonly HashSet<string> Keywords =
    [
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
        "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
        "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
        "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override",
        "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short",
        "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof",
        "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
    ];

    private readonly MessageSpec _m;
    private readonly CodeWriter _w;
    private readonly VersionSet _all;
    private readonly VersionSet _flex;

    private MessageEmitter(MessageSpec message, CodeWriter writer)
    {
        _m = message;
        _w = writer;
        _all = VersionSet.All(message.ValidVersions);
        _flex = _all.Intersect(message.FlexibleVersions);
    }

    /// <summary>True when the message has flexible versions, so every struct carries UnknownTaggedFields.</summary>
    private bool HasFlexible => !_m.FlexibleVersions.Intersect(_m.ValidVersions).IsEmpty;

    /// <summary>Emits one message class into <paramref name="writer"/>.</summary>
    public static void Emit(MessageSpec message, string? responseName, CodeWriter writer) =>
        new MessageEmitter(message, writer).EmitTop(responseName);

    /// <summary>A property name as C# source (keywords escaped with @).</summary>
    public static string Id(string name) => Keywords.Contains(name) ? "@" + name : name;

    /// <summary>Escapes text for an XML doc comment.</summary>
    public static string Xml(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal)
            .Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal)
            .Replace("\r", " ", StringComparison.Ordinal)
            .Replace("\n", " ", StringComparison.Ordinal);

    /// <summary>A C# string literal.</summary>
    public static string Literal(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in text)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ => c.ToString(),
            });
        }

        return sb.Append('"').ToString();
    }

    private string Qualified(StructSpec s) => $"{_m.Name}.{s.ClassName}";

    private void EmitTop(string? responseName)
    {
        var m = _m;
        var kindText = m.Kind switch
        {
            "request" => $"request (API key {m.ApiKey})",
            "response" => $"response (API key {m.ApiKey})",
            "coordinator-key" => $"coordinator record key (record type {m.ApiKey})",
            "coordinator-value" => $"coordinator record value (record type {m.ApiKey})",
            "header" => "header",
            _ => "data schema",
        };
        var flexText = m.FlexibleVersionsFrom < 0 ? "never flexible" : $"flexible from version {m.FlexibleVersionsFrom}";
        var versionsText = m.ValidVersions.IsEmpty
            ? "no valid versions (removed from Kafka; kept so the API key stays known)"
            : $"versions {m.ValidVersions}";
        _w.Line("/// <summary>");
        _w.Line($"/// Kafka {kindText} <c>{m.Name}</c>: {versionsText}, {flexText}. Generated from <c>{m.FileName}</c>.");
        _w.Line("/// </summary>");
        var iface = m.Kind == "request" && responseName is not null && m.ApiKey is not null
            ? $"IKafkaRequest<{m.Name}, {responseName}>"
            : $"IKafkaMessage<{m.Name}>";
        _w.Line($"public sealed partial class {m.Name} : {iface}");
        _w.Block(() =>
        {
            if (m.Kind is "request" or "response" && m.ApiKey is { } key)
            {
                _w.Line($"/// <summary>The API key of this message (<c>{key}</c>).</summary>");
                _w.Line($"public static ApiKey ApiKey => ApiKey.{ApiName(m)};");
                _w.Line();
            }

            if (m.Kind is "coordinator-key" or "coordinator-value" && m.ApiKey is { } recordType)
            {
                _w.Line("/// <summary>The record type (the JSON <c>apiKey</c>) written as the version prefix of the record key.</summary>");
                _w.Line($"public static short CoordinatorRecordType => {recordType};");
                _w.Line();
            }

            var lo = m.ValidVersions.IsEmpty ? (short)0 : m.ValidVersions.Lowest;
            var hi = m.ValidVersions.IsEmpty ? (short)-1 : m.ValidVersions.Highest;
            _w.Line("/// <summary>Lowest version in the schema's <c>validVersions</c>.</summary>");
            _w.Line($"public static short LowestSupportedVersion => {lo};");
            _w.Line();
            _w.Line("/// <summary>Highest version in the schema's <c>validVersions</c> (including an unstable latest version).</summary>");
            _w.Line($"public static short HighestSupportedVersion => {hi};");
            _w.Line();
            _w.Line("/// <summary>First version that uses the flexible encoding (KIP-482), or -1 if none does.</summary>");
            _w.Line($"public static short FlexibleVersionsFrom => {m.FlexibleVersionsFrom};");
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// True when the highest version is still under development (<c>latestVersionUnstable</c>): brokers do not");
            _w.Line("/// advertise it unless <c>unstable.api.versions.enable=true</c>.");
            _w.Line("/// </summary>");
            _w.Line($"public static bool LatestVersionUnstable => {(m.LatestVersionUnstable ? "true" : "false")};");
            _w.Line();
            EmitMembers(m.Root, isTop: true);
            foreach (var s in m.Structs)
            {
                _w.Line();
                EmitNested(s);
            }
        });
    }

    /// <summary>The ApiKey enum member name for a request or response.</summary>
    public static string ApiName(MessageSpec m) =>
        m.Name.EndsWith("Request", StringComparison.Ordinal) ? m.Name[..^"Request".Length]
        : m.Name.EndsWith("Response", StringComparison.Ordinal) ? m.Name[..^"Response".Length]
        : m.Name;

    private void EmitNested(StructSpec s)
    {
        _w.Line("/// <summary>");
        _w.Line(s.ClassName == s.Name
            ? $"/// The <c>{s.Name}</c> struct of <c>{_m.Name}</c>."
            : $"/// The <c>{s.Name}</c> struct of <c>{_m.Name}</c>, renamed because a property has the same name.");
        _w.Line("/// </summary>");
        _w.Line($"public sealed partial class {s.ClassName}");
        _w.Block(() => EmitMembers(s, isTop: false));
    }

    private void EmitMembers(StructSpec s, bool isTop)
    {
        foreach (var f in s.Fields)
        {
            var about = f.About.Length == 0 ? $"The <c>{f.Name}</c> field." : Xml(f.About);
            _w.Line("/// <summary>");
            _w.Line($"/// {about}");
            _w.Line("/// </summary>");
            _w.Line($"/// <remarks>{Xml(Describe(f))}</remarks>");
            var init = DefaultInitializer(f);
            _w.Line($"public {CsType(f)} {Id(f.Name)} {{ get; set; }}{(init is null ? "" : $" = {init};")}");
            _w.Line();
        }

        if (HasFlexible)
        {
            _w.Line("/// <summary>Tagged fields this version of Lockstep does not know, kept so a re-encode is byte-identical.</summary>");
            _w.Line("public List<TaggedField>? UnknownTaggedFields { get; set; }");
            _w.Line();
        }

        EmitWrite(s, isTop);
        _w.Line();
        EmitRead(s, isTop);
        if (!isTop)
        {
            _w.Line();
            EmitIsDefault(s);
        }
    }

    private static string Describe(FieldSpec f)
    {
        var parts = new List<string> { $"JSON type {f.Type.Text}", $"versions {f.Versions}" };
        if (!f.NullableVersions.IsEmpty)
        {
            parts.Add($"nullable {f.NullableVersions}");
        }

        if (!f.TaggedVersions.IsEmpty)
        {
            parts.Add($"tagged {f.TaggedVersions} with tag {f.Tag}");
        }

        if (f.Default is not null)
        {
            parts.Add($"default {f.Default}");
        }

        if (f.Ignorable)
        {
            parts.Add("ignorable");
        }

        return string.Join("; ", parts) + ".";
    }

    private string ElementType(FieldType t) => t.Kind switch
    {
        FieldKind.Int8 => "sbyte",
        FieldKind.Int16 => "short",
        FieldKind.UInt16 => "ushort",
        FieldKind.Int32 => "int",
        FieldKind.UInt32 => "uint",
        FieldKind.Int64 => "long",
        FieldKind.Float64 => "double",
        FieldKind.Bool => "bool",
        FieldKind.String => "string",
        FieldKind.Bytes => "byte[]",
        FieldKind.Records => "ReadOnlyMemory<byte>",
        FieldKind.Uuid => "Guid",
        FieldKind.Struct => _m.GetStruct(t.StructName!).ClassName,
        FieldKind.Array => $"List<{ElementType(t.Element!)}>",
        _ => throw new GeneratorException($"Unknown kind {t.Kind}"),
    };

    private string CsType(FieldSpec f)
    {
        if (f.Type.Element is { Kind: FieldKind.Records or FieldKind.Array })
        {
            throw new GeneratorException($"{_m.FileName}: unsupported array element type {f.Type.Text}.");
        }

        return ElementType(f.Type) + (f.IsNullableType ? "?" : "");
    }

    private string Context(FieldSpec f) => $"{_m.FileName}: {f.Name}";

    /// <summary>The property initializer, or null when the CLR default is the Kafka default.</summary>
    private string? DefaultInitializer(FieldSpec f)
    {
        var literal = DefaultLiteral(f);
        return literal is "0" or "false" or "null" or "Guid.Empty" or "0d" ? null : literal;
    }

    /// <summary>The field's default as a C# expression, following Kafka's FieldSpec rules.</summary>
    private string DefaultLiteral(FieldSpec f)
    {
        var d = f.Default;
        switch (f.Type.Kind)
        {
            case FieldKind.Int8:
            case FieldKind.Int16:
            case FieldKind.UInt16:
            case FieldKind.Int32:
            case FieldKind.UInt32:
            case FieldKind.Int64:
            {
                if (d is null || d.Length == 0)
                {
                    return "0";
                }

                var value = SchemaLoader.ParseIntegerDefault(d, Context(f));
                var (min, max) = f.Type.Kind switch
                {
                    FieldKind.Int8 => (sbyte.MinValue, sbyte.MaxValue),
                    FieldKind.Int16 => (short.MinValue, short.MaxValue),
                    FieldKind.UInt16 => (ushort.MinValue, ushort.MaxValue),
                    FieldKind.Int32 => (int.MinValue, int.MaxValue),
                    FieldKind.UInt32 => (uint.MinValue, uint.MaxValue),
                    _ => (long.MinValue, long.MaxValue),
                };
                if (value < min || value > max)
                {
                    throw new GeneratorException($"{Context(f)}: default {d} is out of range for {f.Type.Text}.");
                }

                if (f.Type.Kind == FieldKind.Int64 && value is long.MinValue or long.MaxValue)
                {
                    return value == long.MinValue ? "long.MinValue" : "long.MaxValue";
                }

                if (f.Type.Kind == FieldKind.Int32 && value == int.MinValue)
                {
                    return "int.MinValue";
                }

                return d.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && value >= 0
                    ? "0x" + value.ToString("x", CultureInfo.InvariantCulture)
                    : value.ToString(CultureInfo.InvariantCulture);
            }

            case FieldKind.Float64:
            {
                if (d is null || d.Length == 0)
                {
                    return "0d";
                }

                if (!double.TryParse(d, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    throw new GeneratorException($"{Context(f)}: invalid float64 default {d}.");
                }

                return value.ToString("R", CultureInfo.InvariantCulture) + "d";
            }

            case FieldKind.Bool:
                return d switch
                {
                    null or "" or "false" => "false",
                    "true" => "true",
                    _ => throw new GeneratorException($"{Context(f)}: invalid bool default {d}."),
                };
            case FieldKind.String:
                if (f.DefaultIsNull)
                {
                    RequireNullable(f);
                    return "null";
                }

                return Literal(d ?? "");
            case FieldKind.Bytes:
                if (f.DefaultIsNull)
                {
                    RequireNullable(f);
                    return "null";
                }

                return d is null || d.Length == 0
                    ? "[]"
                    : throw new GeneratorException($"{Context(f)}: bytes default must be null or empty.");
            case FieldKind.Records:
                // Kafka's FieldSpec gives records fields a null default in every case.
                return "null";
            case FieldKind.Uuid:
                return d is null || d.Length == 0
                    ? "Guid.Empty"
                    : throw new GeneratorException($"{Context(f)}: uuid defaults are not supported.");
            case FieldKind.Array:
                if (f.DefaultIsNull)
                {
                    RequireNullable(f);
                    return "null";
                }

                return d is null || d.Length == 0
                    ? "[]"
                    : throw new GeneratorException($"{Context(f)}: array default must be null or empty.");
            case FieldKind.Struct:
                if (f.DefaultIsNull)
                {
                    RequireNullable(f);
                    return "null";
                }

                return d is null || d.Length == 0
                    ? "new()"
                    : throw new GeneratorException($"{Context(f)}: struct default must be null.");
            default:
                throw new GeneratorException($"{Context(f)}: unknown type.");
        }
    }

    private void RequireNullable(FieldSpec f)
    {
        // FieldSpec.java: a null default is only allowed when the field is nullable in every version it has.
        var present = f.Versions.Intersect(_m.ValidVersions);
        if (!present.IsEmpty && present.Intersect(f.NullableVersions) != present)
        {
            throw new GeneratorException($"{Context(f)}: default null but not nullable in all versions.");
        }
    }

    /// <summary>A C# expression that is true when <paramref name="v"/> holds the field's default.</summary>
    private string IsDefaultExpr(FieldSpec f, string v)
    {
        var literal = DefaultLiteral(f);
        return f.Type.Kind switch
        {
            FieldKind.Bool => literal == "true" ? v : $"!{v}",
            FieldKind.String => literal == "null" ? $"{v} is null" : $"{v} == {literal}",
            FieldKind.Bytes => literal == "null" ? $"{v} is null" : $"{v} is {{ Length: 0 }}",
            FieldKind.Records => $"!{v}.HasValue",
            FieldKind.Array => literal == "null" ? $"{v} is null" : $"{v} is {{ Count: 0 }}",
            FieldKind.Struct => literal == "null" ? $"{v} is null" : $"{v} is not null && {v}.IsDefault()",
            _ => $"{v} == {literal}",
        };
    }

    /// <summary>The negation of <see cref="IsDefaultExpr"/>, written plainly.</summary>
    private string NotDefaultExpr(FieldSpec f, string v)
    {
        var literal = DefaultLiteral(f);
        return f.Type.Kind switch
        {
            FieldKind.Bool => literal == "true" ? $"!{v}" : v,
            FieldKind.String => literal == "null" ? $"{v} is not null" : $"{v} != {literal}",
            FieldKind.Bytes => literal == "null" ? $"{v} is not null" : $"{v} is not {{ Length: 0 }}",
            FieldKind.Records => $"{v}.HasValue",
            FieldKind.Array => literal == "null" ? $"{v} is not null" : $"{v} is not {{ Count: 0 }}",
            FieldKind.Struct => literal == "null" ? $"{v} is not null" : $"{v} is null || !{v}.IsDefault()",
            _ => $"{v} != {literal}",
        };
    }

    // ---- version-gated branches ----

    private void Branch(VersionSet ctx, VersionSet set, Action<VersionSet>? then, Action<VersionSet>? otherwise = null)
    {
        var yes = set.And(ctx);
        var no = ctx.Minus(set);
        if (yes.IsEmpty)
        {
            otherwise?.Invoke(ctx);
            return;
        }

        if (no.IsEmpty)
        {
            then?.Invoke(ctx);
            return;
        }

        var thenLines = then is null ? [] : _w.Capture(() => then(yes));
        var elseLines = otherwise is null ? [] : _w.Capture(() => otherwise(no));
        if (thenLines.Count == 0 && elseLines.Count == 0)
        {
            return;
        }

        if (thenLines.Count == 0)
        {
            _w.Line($"if ({no.Condition(ctx)})");
            _w.Line("{");
            _w.Raw(elseLines);
            _w.Line("}");
            return;
        }

        _w.Line($"if ({yes.Condition(ctx)})");
        _w.Line("{");
        _w.Raw(thenLines);
        _w.Line("}");
        if (elseLines.Count > 0)
        {
            _w.Line("else");
            _w.Line("{");
            _w.Raw(elseLines);
            _w.Line("}");
        }
    }

    private static string BoolExpr(VersionSet ctx, VersionSet set)
    {
        var yes = set.And(ctx);
        if (yes.IsEmpty)
        {
            return "false";
        }

        return ctx.Minus(set).IsEmpty ? "true" : yes.Condition(ctx);
    }

    private VersionSet Present(FieldSpec f) => _all.Intersect(f.Versions);

    private VersionSet Tagged(FieldSpec f) => Present(f).Intersect(f.TaggedVersions);

    private VersionSet Regular(FieldSpec f) => Present(f).Minus(Tagged(f));

    private VersionSet Nullable(FieldSpec f) => _all.Intersect(f.NullableVersions);

    private VersionSet Compact(FieldSpec f) => f.FlexibleVersions is { } fv ? _flex.Intersect(fv) : _flex;

    private static string WriteFixed(FieldKind kind) => kind switch
    {
        FieldKind.Int8 => "WriteInt8",
        FieldKind.Int16 => "WriteInt16",
        FieldKind.UInt16 => "WriteUInt16",
        FieldKind.Int32 => "WriteInt32",
        FieldKind.UInt32 => "WriteUInt32",
        FieldKind.Int64 => "WriteInt64",
        FieldKind.Float64 => "WriteFloat64",
        FieldKind.Bool => "WriteBoolean",
        FieldKind.Uuid => "WriteUuid",
        _ => throw new GeneratorException($"{kind} is not fixed-size"),
    };

    private static string ReadFixed(FieldKind kind) => "Read" + WriteFixed(kind)[5..];

    // ---- Write ----

    private void EmitWrite(StructSpec s, bool isTop)
    {
        if (isTop)
        {
            _w.Line("/// <inheritdoc />");
            _w.Line("public void Write(ref KafkaWriter writer, short version)");
        }
        else
        {
            _w.Line("/// <summary>Encodes this struct at <paramref name=\"version\"/> of the enclosing message.</summary>");
            _w.Line("internal void Write(ref KafkaWriter writer, short version)");
        }

        _w.Block(() =>
        {
            if (isTop)
            {
                EmitVersionCheck();
                if (_all.IsEmpty)
                {
                    return;
                }
            }

            foreach (var f in s.Fields)
            {
                EmitFieldWrite(f);
            }

            if (HasFlexible)
            {
                Branch(_all, _flex, ctx => EmitTaggedWrite(s, ctx), _ =>
                {
                    _w.Line("if (UnknownTaggedFields is { Count: > 0 })");
                    _w.Block(() => _w.Line(
                        $"ThrowHelper.ThrowProtocol($\"Tagged fields were set, but version {{version}} of {_m.Name} does not support them.\");"));
                });
            }
        });
    }

    private void EmitVersionCheck()
    {
        var lo = _m.ValidVersions.IsEmpty ? 0 : _m.ValidVersions.Lowest;
        var hi = _m.ValidVersions.IsEmpty ? -1 : _m.ValidVersions.Highest;
        _w.Line(lo == 0 ? $"if (version < 0 || version > {hi})" : $"if (version < {lo} || version > {hi})");
        _w.Block(() => _w.Line($"ThrowHelper.ThrowUnsupportedVersion(\"{_m.Name}\", version);"));
        _w.Line();
    }

    private void EmitFieldWrite(FieldSpec f)
    {
        var v = Id(f.Name);
        var absent = _all.Minus(Present(f));
        Branch(_all, Regular(f), ctx => WriteValue(f, v, "writer", ctx), ctx =>
        {
            if (f.Ignorable)
            {
                return;
            }

            // FieldSpec.java: writing a non-default value in a version that lacks a non-ignorable field fails.
            Branch(ctx, absent, _ =>
            {
                _w.Line($"if ({NotDefaultExpr(f, v)})");
                _w.Block(() => _w.Line($"ThrowHelper.ThrowNonDefaultField(\"{f.Name}\", version);"));
            });
        });
    }

    private void ThrowIfNullWhereNotNullable(FieldSpec f, string v, VersionSet ctx, string nullTest)
    {
        if (!f.Type.CanBeNull)
        {
            return;
        }

        Branch(ctx, Nullable(f), null, _ =>
        {
            _w.Line($"if ({nullTest})");
            _w.Block(() => _w.Line($"ThrowHelper.ThrowNullField(\"{f.Name}\", version);"));
        });
    }

    private void WriteValue(FieldSpec f, string v, string wv, VersionSet ctx)
    {
        var compact = Compact(f);
        switch (f.Type.Kind)
        {
            case FieldKind.String:
                ThrowIfNullWhereNotNullable(f, v, ctx, $"{v} is null");
                Branch(ctx, compact, _ => _w.Line($"{wv}.WriteCompactString({v});"), _ => _w.Line($"{wv}.WriteString({v});"));
                break;
            case FieldKind.Bytes:
                ThrowIfNullWhereNotNullable(f, v, ctx, $"{v} is null");
                Branch(ctx, compact, _ => _w.Line($"{wv}.WriteCompactBytes({v});"), _ => _w.Line($"{wv}.WriteBytes({v});"));
                break;
            case FieldKind.Records:
                ThrowIfNullWhereNotNullable(f, v, ctx, $"!{v}.HasValue");
                _w.Line($"{wv}.WriteRecords({v}, compact: {BoolExpr(ctx, compact)});");
                break;
            case FieldKind.Struct:
                Branch(ctx, Nullable(f), _ =>
                {
                    // MessageDataGenerator.java: a nullable struct is preceded by -1 (null) or 1 (present).
                    _w.Line($"if ({v} is null)");
                    _w.Block(() => _w.Line($"{wv}.WriteInt8(-1);"));
                    _w.Line("else");
                    _w.Block(() =>
                    {
                        _w.Line($"{wv}.WriteInt8(1);");
                        _w.Line($"{v}.Write(ref {wv}, version);");
                    });
                }, _ =>
                {
                    _w.Line($"if ({v} is null)");
                    _w.Block(() => _w.Line($"ThrowHelper.ThrowNullField(\"{f.Name}\", version);"));
                    _w.Line($"{v}.Write(ref {wv}, version);");
                });
                break;
            case FieldKind.Array:
                _w.Line($"if ({v} is null)");
                _w.Block(() => Branch(ctx, Nullable(f),
                    c => Branch(c, compact, _ => _w.Line($"{wv}.WriteCompactArrayLength(-1);"), _ => _w.Line($"{wv}.WriteArrayLength(-1);")),
                    _ => _w.Line($"ThrowHelper.ThrowNullField(\"{f.Name}\", version);")));
                _w.Line("else");
                _w.Block(() => WriteArrayBody(f, v, wv, ctx));

                break;
            default:
                _w.Line($"{wv}.{WriteFixed(f.Type.Kind)}({v});");
                break;
        }
    }

    private void WriteArrayBody(FieldSpec f, string v, string wv, VersionSet ctx)
    {
        var compact = Compact(f);
        var element = f.Type.Element!;
        Branch(ctx, compact, _ => _w.Line($"{wv}.WriteCompactArrayLength({v}.Count);"), _ => _w.Line($"{wv}.WriteArrayLength({v}.Count);"));
        _w.Line($"foreach (var element in {v})");
        _w.Block(() =>
        {
            if (element.CanBeNull)
            {
                _w.Line("if (element is null)");
                _w.Block(() => _w.Line($"ThrowHelper.ThrowNullField(\"{f.Name}[]\", version);"));
            }

            switch (element.Kind)
            {
                case FieldKind.String:
                    Branch(ctx, compact, _ => _w.Line($"{wv}.WriteCompactString(element);"), _ => _w.Line($"{wv}.WriteString(element);"));
                    break;
                case FieldKind.Bytes:
                    Branch(ctx, compact, _ => _w.Line($"{wv}.WriteCompactBytes(element);"), _ => _w.Line($"{wv}.WriteBytes(element);"));
                    break;
                case FieldKind.Struct:
                    _w.Line($"element.Write(ref {wv}, version);");
                    break;
                default:
                    _w.Line($"{wv}.{WriteFixed(element.Kind)}(element);");
                    break;
            }
        });
    }

    private void EmitTaggedWrite(StructSpec s, VersionSet ctx)
    {
        var tagged = s.Fields.Where(f => !Tagged(f).IsEmpty).OrderBy(f => f.Tag).ToList();
        if (tagged.Count == 0)
        {
            _w.Line("writer.WriteUnknownTaggedFields(UnknownTaggedFields);");
            return;
        }

        // KIP-482: only non-default tagged fields are written, in tag order, merged with unknown tags by number.
        _w.Line("var taggedFieldCount = UnknownTaggedFields?.Count ?? 0;");
        foreach (var f in tagged)
        {
            Branch(ctx, Tagged(f), _ =>
            {
                _w.Line($"if ({NotDefaultExpr(f, Id(f.Name))})");
                _w.Block(() => _w.Line("taggedFieldCount++;"));
            });
        }

        _w.Line("writer.WriteUnsignedVarInt(taggedFieldCount);");
        _w.Line("var unknownIndex = 0;");
        foreach (var f in tagged)
        {
            var v = Id(f.Name);
            Branch(ctx, Tagged(f), c =>
            {
                _w.Line($"if ({NotDefaultExpr(f, v)})");
                _w.Block(() =>
                {
                    _w.Line($"TaggedFieldWriter.WriteUnknownBefore(ref writer, UnknownTaggedFields, ref unknownIndex, {f.Tag});");
                    if (f.Type.IsFixedSize)
                    {
                        _w.Line($"writer.WriteUnsignedVarInt({f.Tag});");
                        _w.Line($"writer.WriteUnsignedVarInt({f.Type.FixedSize});");
                        WriteValue(f, v, "writer", c);
                    }
                    else
                    {
                        // The size prefix must be known first, so the value is encoded into scratch space.
                        _w.Line("using var scratch = PooledBufferWriter.RentScratch();");
                        _w.Line("var scratchWriter = new KafkaWriter(scratch);");
                        WriteValue(f, v, "scratchWriter", c);
                        _w.Line("scratchWriter.Flush();");
                        _w.Line($"writer.WriteTaggedField({f.Tag}, scratch.WrittenSpan);");
                    }
                });
            });
        }

        _w.Line("TaggedFieldWriter.WriteUnknownBefore(ref writer, UnknownTaggedFields, ref unknownIndex, int.MaxValue);");
    }

    // ---- Read ----

    private void EmitRead(StructSpec s, bool isTop)
    {
        var cls = isTop ? _m.Name : Qualified(s);
        if (isTop)
        {
            _w.Line("/// <inheritdoc />");
            _w.Line($"public static {_m.Name} Read(ref KafkaReader reader, short version)");
        }
        else
        {
            _w.Line("/// <summary>Decodes this struct at <paramref name=\"version\"/> of the enclosing message.</summary>");
            _w.Line($"internal static {cls} Read(ref KafkaReader reader, short version)");
        }

        _w.Block(() =>
        {
            if (isTop)
            {
                EmitVersionCheck();
                if (_all.IsEmpty)
                {
                    _w.Line("return null!;");
                    return;
                }
            }

            _w.Line($"var result = new {cls}();");
            foreach (var f in s.Fields)
            {
                Branch(_all, Regular(f), ctx => ReadValue(f, "result." + Id(f.Name), ctx));
            }

            if (HasFlexible)
            {
                Branch(_all, _flex, ctx => EmitTaggedRead(s, ctx));
            }

            _w.Line("return result;");
        });
    }

    private void ReadValue(FieldSpec f, string target, VersionSet ctx)
    {
        var compact = Compact(f);
        switch (f.Type.Kind)
        {
            case FieldKind.String:
                if (f.IsNullableType)
                {
                    Branch(ctx, compact, _ => _w.Line($"{target} = reader.ReadCompactNullableString();"), _ => _w.Line($"{target} = reader.ReadNullableString();"));
                    ThrowIfNullWhereNotNullable(f, target, ctx, $"{target} is null");
                }
                else
                {
                    Branch(ctx, compact, _ => _w.Line($"{target} = reader.ReadCompactString();"), _ => _w.Line($"{target} = reader.ReadString();"));
                }

                break;
            case FieldKind.Bytes:
                if (f.IsNullableType)
                {
                    Branch(ctx, compact, _ => _w.Line($"{target} = reader.ReadCompactNullableBytes();"), _ => _w.Line($"{target} = reader.ReadNullableBytes();"));
                    ThrowIfNullWhereNotNullable(f, target, ctx, $"{target} is null");
                }
                else
                {
                    Branch(ctx, compact, _ => _w.Line($"{target} = reader.ReadCompactBytes();"), _ => _w.Line($"{target} = reader.ReadBytes();"));
                }

                break;
            case FieldKind.Records:
                _w.Line($"{target} = reader.ReadRecords(compact: {BoolExpr(ctx, compact)});");
                ThrowIfNullWhereNotNullable(f, target, ctx, $"!{target}.HasValue");
                break;
            case FieldKind.Struct:
            {
                var cls = Qualified(_m.GetStruct(f.Type.StructName!));
                Branch(ctx, Nullable(f),
                    _ => _w.Line($"{target} = reader.ReadInt8() < 0 ? null : {cls}.Read(ref reader, version);"),
                    _ => _w.Line($"{target} = {cls}.Read(ref reader, version);"));
                break;
            }

            case FieldKind.Array:
                _w.Block(() => ReadArray(f, target, ctx));
                break;
            default:
                _w.Line($"{target} = reader.{ReadFixed(f.Type.Kind)}();");
                break;
        }
    }

    private void ReadArray(FieldSpec f, string target, VersionSet ctx)
    {
        var compact = Compact(f);
        var element = f.Type.Element!;
        var min = MinElementSize(f);
        _w.Line("int count;");
        Branch(ctx, compact, _ => _w.Line($"count = reader.ReadCompactArrayLength({min});"), _ => _w.Line($"count = reader.ReadArrayLength({min});"));
        _w.Line("if (count < 0)");
        _w.Block(() => Branch(ctx, Nullable(f),
            _ => _w.Line($"{target} = null;"),
            _ => _w.Line($"ThrowHelper.ThrowNullField(\"{f.Name}\", version);")));
        _w.Line("else");
        _w.Block(() =>
        {
            // The count was checked against the remaining input, so this capacity is bounded by the frame size.
            _w.Line($"var list = new List<{ElementType(element)}>(count);");
            _w.Line("for (var i = 0; i < count; i++)");
            _w.Block(() =>
            {
                switch (element.Kind)
                {
                    case FieldKind.String:
                        Branch(ctx, compact, _ => _w.Line("list.Add(reader.ReadCompactString());"), _ => _w.Line("list.Add(reader.ReadString());"));
                        break;
                    case FieldKind.Bytes:
                        Branch(ctx, compact, _ => _w.Line("list.Add(reader.ReadCompactBytes());"), _ => _w.Line("list.Add(reader.ReadBytes());"));
                        break;
                    case FieldKind.Struct:
                        _w.Line($"list.Add({Qualified(_m.GetStruct(element.StructName!))}.Read(ref reader, version));");
                        break;
                    default:
                        _w.Line($"list.Add(reader.{ReadFixed(element.Kind)}());");
                        break;
                }
            });
            _w.Line($"{target} = list;");
        });
    }

    private void EmitTaggedRead(StructSpec s, VersionSet ctx)
    {
        var tagged = s.Fields.Where(f => !Tagged(f).And(ctx).IsEmpty).OrderBy(f => f.Tag).ToList();
        _w.Line("List<TaggedField>? unknownTaggedFields = null;");
        if (tagged.Count == 0)
        {
            _w.Line("reader.ReadUnknownTaggedFields(ref unknownTaggedFields);");
        }
        else
        {
            _w.Line("var taggedFieldCount = reader.ReadTaggedFieldCount();");
            _w.Line("var lastTag = -1;");
            _w.Line("for (var tagIndex = 0; tagIndex < taggedFieldCount; tagIndex++)");
            _w.Block(() =>
            {
                _w.Line("var tag = reader.ReadTaggedFieldHeader(ref lastTag, out var size);");
                _w.Line("var start = reader.Position;");
                _w.Line("switch (tag)");
                _w.Block(() =>
                {
                    foreach (var f in tagged)
                    {
                        var set = Tagged(f).And(ctx);
                        var when = BoolExpr(ctx, set);
                        _w.Line(when == "true" ? $"case {f.Tag}:" : $"case {f.Tag} when {when}:");
                        _w.Block(() =>
                        {
                            ReadValue(f, "result." + Id(f.Name), set);
                            _w.Line("reader.EndTaggedField(tag, start, size);");
                            _w.Line("break;");
                        });
                    }

                    _w.Line("default:");
                    _w.Raw(_w.Capture(() =>
                    {
                        _w.Line("reader.ReadUnknownTaggedField(tag, size, ref unknownTaggedFields);");
                        _w.Line("break;");
                    }));
                });
            });
        }

        _w.Line("result.UnknownTaggedFields = unknownTaggedFields;");
    }

    private void EmitIsDefault(StructSpec s)
    {
        var terms = s.Fields.Select(f => IsDefaultExpr(f, Id(f.Name))).ToList();
        if (HasFlexible)
        {
            terms.Add("UnknownTaggedFields is not { Count: > 0 }");
        }

        _w.Line("/// <summary>True when every field holds its default (Kafka compares with a new instance).</summary>");
        if (terms.Count == 0)
        {
            _w.Line("internal bool IsDefault() => true;");
            return;
        }

        _w.Line("internal bool IsDefault() =>");
        for (var i = 0; i < terms.Count; i++)
        {
            var term = terms[i].Contains("&&", StringComparison.Ordinal) ? $"({terms[i]})" : terms[i];
            _w.Line($"    {(i == 0 ? "" : "&& ")}{term}{(i == terms.Count - 1 ? ";" : "")}");
        }
    }

    // ---- minimum sizes for array-count checks ----

    private int MinElementSize(FieldSpec f)
    {
        var min = int.MaxValue;
        foreach (var v in Present(f).Versions())
        {
            min = Math.Min(min, MinTypeSize(f.Type.Element!, Compact(f).Contains(v), v));
        }

        return min == int.MaxValue ? 1 : Math.Max(1, min);
    }

    private int MinTypeSize(FieldType t, bool compact, short v) => t.Kind switch
    {
        FieldKind.String => compact ? 1 : 2,
        FieldKind.Bytes or FieldKind.Records or FieldKind.Array => compact ? 1 : 4,
        FieldKind.Struct => MinStructSize(_m.GetStruct(t.StructName!), v),
        _ => t.FixedSize,
    };

    private int MinStructSize(StructSpec s, short v)
    {
        var size = _flex.Contains(v) ? 1 : 0;
        foreach (var f in s.Fields)
        {
            if (!Regular(f).Contains(v))
            {
                continue;
            }

            size += f.Type.Kind == FieldKind.Struct && Nullable(f).Contains(v)
                ? 1
                : MinTypeSize(f.Type, Compact(f).Contains(v), v);
        }

        return size;
    }
}
