using System.Diagnostics;
using System.Text;

namespace Lockstep.Interop.Tests.Infrastructure;

/// <summary>What a finished external process printed.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Runs an external client (kcat, python3, node) to completion with a hard timeout, feeding stdin and collecting
/// stdout and stderr concurrently (so neither pipe can fill up and deadlock the child). Stderr lines also go to the
/// test log. A process still running at the timeout is killed and the test fails with what it printed so far.
/// </summary>
public static class ExternalProcess
{
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TestLog log,
        TimeSpan timeout,
        string? stdin = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var name = Path.GetFileName(fileName);
        log.Write(name, "$ " + fileName + " " + string.Join(' ', start.ArgumentList));
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stderr = new StringBuilder();
        var stderrDone = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (stderr)
                {
                    stderr.AppendLine(line);
                }

                log.Write(name, line);
            }
        });
        var stdout = process.StandardOutput.ReadToEndAsync();
        var feed = Task.Run(async () =>
        {
            try
            {
                if (stdin is not null)
                {
                    await process.StandardInput.WriteAsync(stdin);
                }

                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The child exited without reading all of its input; its exit code tells the story.
            }
        });

        using var timeoutSource = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            string partial;
            lock (stderr)
            {
                partial = stderr.ToString();
            }

            throw new TimeoutException($"{name} did not finish within {timeout.TotalSeconds:F0} s; stderr:\n{partial}");
        }

        await Task.WhenAll(stdout, stderrDone, feed);
        return new ProcessResult(process.ExitCode, await stdout, stderr.ToString());
    }
}
