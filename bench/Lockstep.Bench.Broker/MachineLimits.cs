using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Lockstep.Bench.Broker;

/// <summary>
/// The machine's own ceilings, measured in the same run as the broker so the broker's numbers can be read as a
/// fraction of them (client-compat.md "Physical limits": single-threaded write+sync loops and a loopback stream).
/// </summary>
internal static class MachineLimits
{
    /// <summary>
    /// Appends <paramref name="blockSize"/>-byte blocks to a new file, each followed by
    /// <c>FileStream.Flush(true)</c> (fsync(2) on Linux), for <paramref name="duration"/>. One sample = write + fsync.
    /// </summary>
    public static SyncResult AppendAndSync(string directory, int blockSize, TimeSpan duration)
    {
        var path = Path.Combine(directory, $"limits-{blockSize}-{Environment.ProcessId}.dat");
        var block = new byte[blockSize];
        new Random(42).NextBytes(block);
        var recorder = new LatencyRecorder(1_000_000);
        long bytes = 0;
        try
        {
            // bufferSize 0: no FileStream buffer, every Write goes straight to write(2).
            using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                file.Write(block);
                file.Flush(flushToDisk: true);
                recorder.Record(Stopwatch.GetTimestamp() - start);
                bytes += blockSize;
            }

            var seconds = clock.Elapsed.TotalSeconds;
            return new SyncResult(blockSize, recorder.Count / seconds, bytes / seconds / 1e6, recorder.Summarize());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// One TCP connection over 127.0.0.1: a sender thread writes 64 KiB buffers, a receiver thread reads them, for
    /// <paramref name="duration"/>; returns the bytes received per second (MB/s, 10^6).
    /// </summary>
    public static double LoopbackTcpMBps(TimeSpan duration)
    {
        const int chunk = 64 * 1024;
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect(listener.LocalEndPoint!);
        using var server = listener.Accept();

        long received = 0;
        var stop = 0;
        var receiver = new Thread(() =>
        {
            var buffer = new byte[chunk];
            int n;
            while ((n = server.Receive(buffer)) > 0)
            {
                Interlocked.Add(ref received, n);
            }
        }) { IsBackground = true, Name = "loopback-receiver" };
        receiver.Start();

        var payload = new byte[chunk];
        new Random(7).NextBytes(payload);
        var sender = new Thread(() =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                client.Send(payload);
            }
        }) { IsBackground = true, Name = "loopback-sender" };

        // Count only what arrives inside the measured window (after a short warm-up).
        sender.Start();
        Thread.Sleep(200);
        var before = Interlocked.Read(ref received);
        var clock = Stopwatch.StartNew();
        Thread.Sleep(duration);
        var after = Interlocked.Read(ref received);
        var seconds = clock.Elapsed.TotalSeconds;
        Volatile.Write(ref stop, 1);
        sender.Join();
        client.Shutdown(SocketShutdown.Send);
        receiver.Join();
        return (after - before) / seconds / 1e6;
    }
}

/// <summary>One append+sync loop's result: syncs per second, MB/s written, per-operation latency.</summary>
internal readonly record struct SyncResult(int BlockSize, double OpsPerSecond, double MBps, LatencySummary Latency);
