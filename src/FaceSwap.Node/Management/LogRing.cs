using FaceSwap.Contracts.Management;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Node.Management;

/// <summary>The node's last log lines (Akka's included: they go through the same logger factory), for <c>fsc log peek</c>.</summary>
public sealed class LogRing(int capacity) : ILoggerProvider
{
    private readonly Queue<LogEntry> _lines = new();

    public IReadOnlyList<LogEntry> Last(int count, LogLevel atLeast)
    {
        lock (_lines) return [.. _lines.Where(l => Enum.Parse<LogLevel>(l.Level) >= atLeast).TakeLast(count)];
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private void Add(LogEntry entry)
    {
        lock (_lines)
        {
            _lines.Enqueue(entry);
            while (_lines.Count > capacity) _lines.Dequeue();
        }
    }

    private sealed class Logger(LogRing ring, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var message = formatter(state, exception);
            if (exception is not null) message += $" ({exception.GetType().Name}: {exception.Message})";
            ring.Add(new LogEntry(DateTimeOffset.UtcNow, logLevel.ToString(), category, message));
        }
    }
}
