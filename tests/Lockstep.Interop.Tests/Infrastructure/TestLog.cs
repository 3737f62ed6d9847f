using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Lockstep.Interop.Tests.Infrastructure;

/// <summary>
/// Collects log lines (the in-process broker's, a child broker's stderr, an external client's output) with a
/// timestamp relative to the test start, and writes them to the test's output, which the xUnit runner prints for a
/// failed test. That is how a failing interop test reports what the broker saw.
/// </summary>
public sealed class TestLog : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ITestOutputHelper? _output = TestContext.Current.TestOutputHelper;

    public void Write(string source, string line)
    {
        var text = $"[{_clock.Elapsed.TotalSeconds,8:F3}] {source}: {line}";
        _lines.Enqueue(text);
        try
        {
            _output?.WriteLine(text);
        }
        catch (InvalidOperationException)
        {
            // The test already finished (a late log line from a background thread); the queue keeps it.
        }
    }

    public IReadOnlyCollection<string> Lines => _lines;

    public ILoggerFactory CreateLoggerFactory(LogLevel minimum = LogLevel.Information) =>
        LoggerFactory.Create(builder => builder.SetMinimumLevel(minimum).AddProvider(this));

    ILogger ILoggerProvider.CreateLogger(string categoryName) => new Logger(this, categoryName);

    void IDisposable.Dispose()
    {
    }

    private sealed class Logger(TestLog log, string category) : ILogger
    {
        private readonly string _shortCategory = category[(category.LastIndexOf('.') + 1)..];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(
            LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            if (exception is not null)
            {
                message += " | " + exception.GetType().Name + ": " + exception.Message;
            }

            log.Write("broker", $"{logLevel.ToString()[..4].ToLowerInvariant()} {_shortCategory}: {message}");
        }
    }
}
