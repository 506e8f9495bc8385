using System.Collections.Concurrent;
using System.Diagnostics;
using FaceSwap.Contracts.Management;
using FaceSwap.Edge;

namespace FaceSwap.Node.Management;

/// <summary>
/// The streams this edge runs now, for <c>fsc streams list|stats</c>: each one's books, and a sample of them every
/// second so the recent frame rate is what the viewer sees now, not an average since the start.
/// </summary>
public sealed class StreamDirectory : IDisposable
{
    private const int Window = 5;

    private sealed class Entry(string edge, string identity, string source, EdgeStreamOptions options, StreamLedger ledger)
    {
        public readonly long Started = Stopwatch.GetTimestamp();
        public readonly Queue<(long At, long Emitted, long Swapped)> Samples = new();

        public StreamSummary Summary()
        {
            var stats = ledger.Snapshot();
            (long At, long Emitted, long Swapped) oldest;
            lock (Samples) oldest = Samples.Count > 0 ? Samples.Peek() : (Started, 0, 0);
            var seconds = Math.Max(1e-3, Stopwatch.GetElapsedTime(oldest.At).TotalSeconds);
            return new StreamSummary(options.StreamId, edge, identity, source, options.FramesPerSecond, options.BudgetMs, options.CurrentFailMode.ToString().ToLowerInvariant(),
                Stopwatch.GetElapsedTime(Started).TotalSeconds, stats.Offered, stats.Served, stats.FailMode, stats.DroppedTotal, stats.InFlight,
                (stats.Served + stats.FailMode - oldest.Emitted) / seconds, (stats.Served - oldest.Swapped) / seconds, stats.MaxOutputGapMs,
                stats.Dropped.ToDictionary(), [.. stats.Latency.OrderBy(l => Array.IndexOf(StageOrder, l.Key)).Select(l => new StageLatency(l.Key, l.Value.Count, l.Value.P50, l.Value.P90, l.Value.P99, l.Value.Max))],
                stats.AnsweredBy.ToDictionary());
        }

        public void Sample()
        {
            var (served, failMode) = ledger.Emitted();
            lock (Samples)
            {
                Samples.Enqueue((Stopwatch.GetTimestamp(), served + failMode, served));
                while (Samples.Count > Window) Samples.Dequeue();
            }
        }

        public StreamLedger Ledger => ledger;
    }

    private static readonly string[] StageOrder =
    [
        EdgeStages.Buffer, EdgeStages.Encode, EdgeStages.Detect, EdgeStages.WorkerDetect, EdgeStages.Swap, EdgeStages.WorkerSwap,
        EdgeStages.WorkerEnhance, EdgeStages.Composite, EdgeStages.EndToEnd,
    ];

    private readonly ConcurrentDictionary<string, Entry> _streams = new(StringComparer.Ordinal);
    private readonly Timer _sampler;

    public StreamDirectory() => _sampler = new Timer(_ => { foreach (var entry in _streams.Values) entry.Sample(); }, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

    /// <summary>Lists the stream until the returned handle is disposed (when it ends).</summary>
    public IDisposable Add(string edge, string identity, string source, EdgeStreamOptions options, StreamLedger ledger)
    {
        var entry = new Entry(edge, identity, source, options, ledger);
        if (!_streams.TryAdd(options.StreamId, entry)) throw new ArgumentException($"stream {options.StreamId} runs on this edge already");
        return new Removal(() => _streams.TryRemove(new KeyValuePair<string, Entry>(options.StreamId, entry)));
    }

    public IReadOnlyList<StreamSummary> Summaries() => [.. _streams.Values.Select(e => e.Summary()).OrderBy(s => s.StreamId, StringComparer.Ordinal)];

    /// <summary>Frames in keep-latest buffers and asks in flight now, over every stream: the edge's queue depths.</summary>
    public (int Buffered, int Asking) Queues()
    {
        var queues = _streams.Values.Select(e => e.Ledger.Queues()).ToList();
        return (queues.Sum(q => q.Buffering), queues.Sum(q => q.Asking));
    }

    public int Count => _streams.Count;

    public void Dispose() => _sampler.Dispose();

    private sealed class Removal(Action remove) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) remove();
        }
    }
}
