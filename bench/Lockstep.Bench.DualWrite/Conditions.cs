using System.Globalization;
using System.Runtime.InteropServices;

namespace Lockstep.Bench.DualWrite;

/// <summary>The machine's conditions, read from procfs and the runtime (Linux; "?" where unavailable).</summary>
internal static class Conditions
{
    /// <summary>DOTNET_* variables of the SDK and the install, which do not change how the runtime behaves.</summary>
    private static readonly string[] s_notRuntimeKnobs =
        ["DOTNET_ROOT", "DOTNET_CLI", "DOTNET_NOLOGO", "DOTNET_GENERATE", "DOTNET_SKIP", "DOTNET_HOST_PATH"];

    /// <summary>The first three fields of /proc/loadavg (1, 5 and 15 minute load averages).</summary>
    public static string LoadAverage() =>
        Read("/proc/loadavg") is { } text ? string.Join(' ', text.Split(' ').Take(3)) : "?";

    public static IEnumerable<(string Name, string Value)> Describe()
    {
        var cpuinfo = Read("/proc/cpuinfo") ?? "";
        string Field(string text, string prefix) =>
            text.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        yield return ("Date (UTC)", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
        yield return ("CPU", $"`{Field(cpuinfo, "model name")}`, {Field(cpuinfo, "cpu MHz")} MHz, nproc = {Environment.ProcessorCount}");
        yield return ("Memory", Field(Read("/proc/meminfo") ?? "", "MemTotal"));
        yield return ("Kernel / OS", $"{Read("/proc/sys/kernel/osrelease")?.Trim() ?? "?"} / {RuntimeInformation.OSDescription}");
        yield return (".NET", $"{RuntimeInformation.FrameworkDescription} ({RuntimeInformation.ProcessArchitecture})");
        // Runtime knobs inherited by the broker child too (e.g. DOTNET_ThreadPool_UnfairSemaphoreSpinLimit, which changes
        // how much CPU idle thread-pool workers burn spinning; see docs/benchmarks.md "Dual write (issue 6)").
        var knobs = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("DOTNET_", StringComparison.Ordinal)
                && !s_notRuntimeKnobs.Any(prefix => k.StartsWith(prefix, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal).Select(k => $"`{k}={Environment.GetEnvironmentVariable(k)}`").ToList();
        yield return ("DOTNET_* environment", knobs.Count == 0 ? "none (runtime defaults)" : string.Join(", ", knobs));
        yield return ("Load average at start (1/5/15 min)", LoadAverage());
    }

    /// <summary>The file system holding <paramref name="path"/>: the longest mount point that prefixes it.</summary>
    public static string Mount(string path)
    {
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
