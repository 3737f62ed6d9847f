using System.Globalization;

namespace Lockstep.Protocol.Generator;

/// <summary>
/// A contiguous Kafka version range as written in the JSON specs: <c>"none"</c>, <c>"3"</c>, <c>"3+"</c> or
/// <c>"0-5"</c> (the same grammar as Kafka's <c>generator/src/main/java/org/apache/kafka/message/Versions.java</c>).
/// </summary>
public readonly record struct VersionRange(short Lowest, short Highest)
{
    /// <summary>The empty range (<c>"none"</c>).</summary>
    public static readonly VersionRange None = new(0, -1);

    /// <summary>True when no version is in the range.</summary>
    public bool IsEmpty => Lowest > Highest;

    /// <summary>True when <paramref name="version"/> is in the range.</summary>
    public bool Contains(int version) => version >= Lowest && version <= Highest;

    /// <summary>The versions in both ranges.</summary>
    public VersionRange Intersect(VersionRange other)
    {
        var lo = Math.Max(Lowest, other.Lowest);
        var hi = Math.Min(Highest, other.Highest);
        return lo > hi ? None : new VersionRange((short)lo, (short)hi);
    }

    /// <summary>Parses the spec grammar; <paramref name="fallback"/> is used when the attribute is absent.</summary>
    public static VersionRange Parse(string? text, VersionRange fallback)
    {
        if (text is null)
        {
            return fallback;
        }

        text = text.Trim();
        if (text.Length == 0 || text == "none")
        {
            return None;
        }

        if (text.EndsWith('+'))
        {
            return new VersionRange(ParseShort(text[..^1]), short.MaxValue);
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash > 0)
        {
            return new VersionRange(ParseShort(text[..dash]), ParseShort(text[(dash + 1)..]));
        }

        var single = ParseShort(text);
        return new VersionRange(single, single);
    }

    private static short ParseShort(string text) =>
        short.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new GeneratorException($"Invalid version range element '{text}'.");

    /// <inheritdoc />
    public override string ToString() =>
        IsEmpty ? "none" : Highest == short.MaxValue ? $"{Lowest}+" : Lowest == Highest ? $"{Lowest}" : $"{Lowest}-{Highest}";
}

/// <summary>
/// A set of versions inside one message's <c>validVersions</c>, used to print the plainest possible
/// <c>if (version &gt;= N)</c> gate. Sets are bit masks over the offsets from the message's lowest version.
/// </summary>
public readonly record struct VersionSet(short Base, int Count, ulong Mask)
{
    /// <summary>All of <paramref name="valid"/>.</summary>
    public static VersionSet All(VersionRange valid)
    {
        if (valid.IsEmpty)
        {
            return new VersionSet(0, 0, 0);
        }

        var count = valid.Highest - valid.Lowest + 1;
        if (count > 63)
        {
            throw new GeneratorException($"Version range {valid} is too wide.");
        }

        return new VersionSet(valid.Lowest, count, (1UL << count) - 1);
    }

    /// <summary>The versions of <paramref name="range"/> that are also in this set.</summary>
    public VersionSet Intersect(VersionRange range)
    {
        ulong mask = 0;
        for (var i = 0; i < Count; i++)
        {
            if ((Mask & (1UL << i)) != 0 && range.Contains(Base + i))
            {
                mask |= 1UL << i;
            }
        }

        return this with { Mask = mask };
    }

    /// <summary>Set intersection.</summary>
    public VersionSet And(VersionSet other) => this with { Mask = Mask & other.Mask };

    /// <summary>Set difference.</summary>
    public VersionSet Minus(VersionSet other) => this with { Mask = Mask & ~other.Mask };

    /// <summary>True when the set has no version.</summary>
    public bool IsEmpty => Mask == 0;

    /// <summary>True when <paramref name="version"/> is in the set.</summary>
    public bool Contains(int version) =>
        version >= Base && version < Base + Count && (Mask & (1UL << (version - Base))) != 0;

    /// <summary>The versions in the set, ascending.</summary>
    public IEnumerable<short> Versions()
    {
        for (var i = 0; i < Count; i++)
        {
            if ((Mask & (1UL << i)) != 0)
            {
                yield return (short)(Base + i);
            }
        }
    }

    /// <summary>
    /// A C# condition on <c>version</c> that is true for the members of this set, assuming the version is already
    /// known to be in <paramref name="context"/> (so bounds that the context implies are left out).
    /// </summary>
    public string Condition(VersionSet context)
    {
        var inside = And(context);
        var parts = new List<string>();
        short? start = null;
        short previous = 0;
        foreach (var v in inside.Versions().Append(short.MinValue))
        {
            if (start is not null && v != previous + 1)
            {
                parts.Add(Interval(start.Value, previous, context));
                start = null;
            }

            if (v != short.MinValue && start is null)
            {
                start = v;
            }

            previous = v;
        }

        return parts.Count == 1 ? parts[0] : string.Join(" || ", parts.Select(p => $"({p})"));
    }

    private static string Interval(short lo, short hi, VersionSet context)
    {
        var needLower = context.Versions().Any(v => v < lo);
        var needUpper = context.Versions().Any(v => v > hi);
        if (needLower && needUpper)
        {
            return lo == hi ? $"version == {lo}" : $"version >= {lo} && version <= {hi}";
        }

        if (needLower)
        {
            return $"version >= {lo}";
        }

        return needUpper ? $"version <= {hi}" : "true";
    }
}

/// <summary>A schema the generator cannot handle; reported to the user without a stack trace.</summary>
public sealed class GeneratorException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GeneratorException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public GeneratorException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public GeneratorException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
