using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace Lockstep.Cli;

/// <summary>
/// Reads broker settings in Kafka's <c>server.properties</c> format (java.util.Properties): one <c>key=value</c>
/// (or <c>key: value</c>) per line, <c>#</c> and <c>!</c> comment lines, blank lines ignored, a trailing backslash
/// continuing the value on the next line. Unlike java.util.Properties a line without a separator is an error, not
/// a key with an empty value: in a broker config that is always a typo.
/// </summary>
internal static class ServerProperties
{
    /// <summary>Parses <paramref name="text"/>; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="FormatException">A line is not <c>key=value</c>.</exception>
    public static Dictionary<string, string> Parse(string text, string source)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var lineNumber = i + 1;
            var line = lines[i].TrimStart();
            if (line.Length == 0 || line[0] is '#' or '!')
            {
                continue;
            }

            // java.util.Properties: an odd number of trailing backslashes joins the next line, whose leading
            // whitespace is dropped.
            var logical = new StringBuilder();
            while (EndsWithContinuation(line) && i + 1 < lines.Length)
            {
                logical.Append(line.AsSpan(0, line.Length - 1));
                line = lines[++i].TrimStart();
            }

            logical.Append(line);
            var entry = logical.ToString().TrimEnd();
            var separator = entry.IndexOfAny(['=', ':']);
            if (separator <= 0)
            {
                throw new FormatException(string.Create(
                    CultureInfo.InvariantCulture, $"{source}:{lineNumber}: expected key=value, got '{entry}'."));
            }

            result[entry[..separator].Trim()] = entry[(separator + 1)..].Trim();
        }

        return result;
    }

    /// <summary>Reads and parses a file.</summary>
    /// <exception cref="FormatException">A line is not <c>key=value</c>.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static Dictionary<string, string> Load(string path) => Parse(File.ReadAllText(path), path);

    private static bool EndsWithContinuation(string line)
    {
        var backslashes = 0;
        for (var i = line.Length - 1; i >= 0 && line[i] == '\\'; i--)
        {
            backslashes++;
        }

        return backslashes % 2 == 1;
    }
}
