using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Governance.Tests;

/// <summary>A clock the test moves by hand; its timers are the system's, so polling still runs in real time.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    long _ticks = start.UtcTicks;
    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>Keeps every message logged to it, so a test can check what was said and why.</summary>
internal sealed class RecordingLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, formatter(state, exception)));
}

internal static class Wait
{
    /// <summary>Waits for the token to be cancelled; generous, since a loaded 2-core CI machine is slow, and never a timing assert.</summary>
    public static async Task ForCancellation(CancellationToken token, TimeSpan? timeout = null)
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = token.Register(() => cancelled.TrySetResult());
        await cancelled.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
    }
}
