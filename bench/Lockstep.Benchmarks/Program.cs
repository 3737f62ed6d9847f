using BenchmarkDotNet.Running;

namespace Lockstep.Benchmarks;

/// <summary>Entry point: pick benchmarks with BenchmarkDotNet's usual arguments (e.g. <c>--filter '*Codec*'</c>).</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
