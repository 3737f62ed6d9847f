using System.Runtime.InteropServices;

namespace Lockstep.Bench.Broker;

/// <summary>The run's conditions, read from procfs and the runtime (Linux; "?" where unavailable).</summary>
internal static class Conditions
{
    /// <summary>The first three fields of /proc/loadavg (1, 5 and 15 minute load averages).</summary>
    public static string LoadAverage() =>
        Read("/proc/loadavg") is { } text ? string.Join(' ', text.Split(' ').Take(3)) : "?";

    public static IEnumerable<(string Name, string Value)> Describe(string tempDirectory)
    {
        var cpuinfo = Read("/proc/cpuinfo") ?? "";
        var model = cpuinfo.Split('\n').FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        var mhz = cpuinfo.Split('\n').FirstOrDefault(l => l.StartsWith("cpu MHz", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        var mem = (Read("/proc/meminfo") ?? "").Split('\n').FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        yield return ("Date (UTC)", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture));
        yield return ("CPU", $"`{model}`, {mhz} MHz, nproc = {Environment.ProcessorCount}");
        yield return ("Memory", $"{mem} (MemTotal)");
        yield return ("Kernel", Read("/proc/sys/kernel/osrelease")?.Trim() ?? "?");
        yield return ("OS", RuntimeInformation.OSDescription);
        yield return (".NET", $"{RuntimeInformation.FrameworkDescription} ({RuntimeInformation.ProcessArchitecture})");
        yield return ("Confluent.Kafka / librdkafka", $"{typeof(Confluent.Kafka.Library).Assembly.GetName().Version} / {Confluent.Kafka.Library.VersionString}");
        yield return ("Temp dir (limits and broker data)", $"{tempDirectory} ({Mount(tempDirectory)})");
        yield return ("Load average at start", LoadAverage());
    }

    private static string Mount(string path)
    {
        // The longest mount point that prefixes the path names the file system the data lives on.
        var best = ("?", "?", "?");
        var bestLength = -1;
        foreach (var line in (Read("/proc/mounts") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ');
            if (f.Length > 3 && path.StartsWith(f[1], StringComparison.Ordinal) && f[1].Length > bestLength)
            {
                best = (f[0], f[1], f[2]);
                bestLength = f[1].Length;
            }
        }

        return $"{best.Item3} on {best.Item1}, mounted at {best.Item2}";
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
