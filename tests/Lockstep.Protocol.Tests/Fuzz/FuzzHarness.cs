using System.Text;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>A fuzz target: decodes <paramref name="input"/> and may throw only <see cref="KafkaProtocolException"/>.</summary>
public delegate void FuzzTarget(ReadOnlySpan<byte> input);

/// <summary>
/// Runs fuzz targets over inputs and collects violations instead of stopping at the first, so one failing test
/// reports every distinct problem of its case with the seed, the mutation and the input bytes needed to turn it
/// into a named regression test.
/// </summary>
/// <remarks>
/// <para>Allocation bound: <see cref="FixedAllowanceBytes"/> + <see cref="BytesPerInputByte"/> x input length, per
/// decode, measured with <see cref="GC.GetAllocatedBytesForCurrentThread"/> (exact for this thread, so the other
/// test threads do not disturb it). Why these constants:</para>
/// <list type="bullet">
/// <item>64 KiB fixed covers what any decode costs regardless of size: the thrown exception, its formatted
/// message and captured stack trace (a few KiB even for deep nesting), the result object and the per-thread
/// ArrayPool buckets the first rent on a thread creates.</item>
/// <item>64 bytes per input byte covers honest expansion of the decoded graph. The worst legal ratios are small
/// elements: a flexible struct whose fields are all empty costs 2-6 wire bytes but becomes an object (24 bytes
/// plus 8 per field), a slot in a list whose capacity comes from the count (8 bytes), and default-initialised
/// collections that Read then replaces (about 32 bytes each); one UTF-8 byte becomes one UTF-16 char (2 bytes)
/// plus a 22-byte string header; an empty unknown tagged field is 2 wire bytes and a TaggedField plus a list
/// slot. All of those stay under 64x, whereas a count or length that is trusted without checking it against
/// the remaining input blows through the bound by orders of magnitude (2^31-1 elements), which is the bug the
/// bound exists to catch (style-guide.md §3.3 "Decode safety").</item>
/// <item>Compressed record batches may decompress to <see cref="FuzzTargets.DecompressionLimit"/> each, which is
/// not proportional to the input by design (the registry limit is the bomb guard), so targets that decompress
/// get <see cref="DecompressionAllowanceBytes"/> per batch that the input could hold.</item>
/// </list>
/// </remarks>
internal sealed class FuzzHarness(string caseName, int seed)
{
    /// <summary>Fixed part of the allocation bound (see remarks).</summary>
    public const long FixedAllowanceBytes = 64 * 1024;

    /// <summary>Proportional part of the allocation bound (see remarks).</summary>
    public const long BytesPerInputByte = 64;

    /// <summary>
    /// Allowance per compressed batch: the decompressed bytes (at most the limit) land in a pooled buffer that
    /// may be regrown to twice the limit, and materialising records of at least 7 bytes each into
    /// <see cref="Lockstep.Protocol.Records.Record"/> objects with copied keys, values and header lists costs about 15 bytes per record
    /// byte; 32x the limit covers both.
    /// </summary>
    public const long DecompressionAllowanceBytes = 32L * FuzzTargets.DecompressionLimit;

    private const int MaxReported = 5;

    private readonly List<string> _violations = [];
    private int _violationCount;

    /// <summary>Decodes run so far.</summary>
    public int Runs { get; private set; }

    /// <summary>Decodes that succeeded (the rest raised <see cref="KafkaProtocolException"/>).</summary>
    public int Successes { get; private set; }

    /// <summary>Most bytes one decode allocated.</summary>
    public long MaxAllocated { get; private set; }

    /// <summary>Largest ratio of allocated bytes to input bytes over the decodes.</summary>
    public double WorstRatio { get; private set; }

    /// <summary>The allocation bound of a decode of <paramref name="inputLength"/> bytes.</summary>
    public static long Bound(int inputLength, bool mayDecompress) =>
        FixedAllowanceBytes + (BytesPerInputByte * inputLength) +
        (mayDecompress ? DecompressionAllowanceBytes * Math.Max(1, inputLength / RecordBatchHeader.Size) : 0);

    /// <summary>
    /// Runs <paramref name="target"/> over <paramref name="input"/>; records a violation when it throws anything
    /// but <see cref="KafkaProtocolException"/> or allocates more than <see cref="Bound"/>.
    /// </summary>
    public void Run(FuzzTarget target, byte[] input, string mutation, bool mayDecompress = false)
    {
        Runs++;
        Exception? failure = null;
        var before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            target(input);
            Successes++;
        }
        catch (KafkaProtocolException)
        {
            // The one allowed way to reject malformed input.
        }
#pragma warning disable CA1031 // Any other exception type is exactly what is being hunted; it is reported below.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (failure is not null)
        {
            Report(input, mutation, $"{failure.GetType().FullName}: {failure.Message}\n{failure.StackTrace}");
        }

        var bound = Bound(input.Length, mayDecompress);
        if (allocated > bound)
        {
            Report(input, mutation, $"allocated {allocated} byte(s), bound {bound} for {input.Length} input byte(s)");
        }

        MaxAllocated = Math.Max(MaxAllocated, allocated);
        WorstRatio = Math.Max(WorstRatio, (double)allocated / Math.Max(1, input.Length));
    }

    private void Report(byte[] input, string mutation, string problem)
    {
        _violationCount++;
        if (_violations.Count < MaxReported)
        {
            var hex = input.Length <= 512 ? Convert.ToHexString(input) : Convert.ToHexString(input.AsSpan(0, 512)) + "...";
            _violations.Add($"[{mutation}] {problem}\n  input ({input.Length} bytes): {hex}");
        }
    }

    /// <summary>Fails the test with every recorded violation, the seed and how to reproduce it.</summary>
    public void AssertClean()
    {
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{caseName} seed 0x{seed:X8}: {Runs} decode(s), {Successes} accepted, at most {MaxAllocated} byte(s) " +
            $"allocated by one decode, at most {WorstRatio:F1} byte(s) per input byte.");
        if (_violationCount == 0)
        {
            return;
        }

        var text = new StringBuilder()
            .Append(caseName).Append(": ").Append(_violationCount).Append(" violation(s) in ").Append(Runs)
            .Append(" decode(s) with seed 0x").Append(seed.ToString("X8", System.Globalization.CultureInfo.InvariantCulture))
            .Append(" (reproduce with ").Append(FuzzSeeds.EnvironmentVariable).Append("=0x")
            .Append(seed.ToString("X8", System.Globalization.CultureInfo.InvariantCulture)).AppendLine(").");
        foreach (var violation in _violations)
        {
            text.AppendLine(violation);
        }

        Assert.Fail(text.ToString());
    }
}
