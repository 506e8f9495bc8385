using System.Collections.Concurrent;
using HdrHistogram;

namespace FaceSwap.Edge;

/// <summary>A snapshot of one stream's counters: every offered frame is served, dropped (by hop and reason), emitted by the fail mode, or in flight.</summary>
/// <param name="MaxOutputGapMs">the longest time between two emitted frames: how close the stream came to freezing</param>
/// <param name="Buffering">frames in the keep-latest buffer now</param>
/// <param name="Asking">stage asks in flight now</param>
public sealed record StreamStats(
    string StreamId,
    long Offered,
    long Served,
    long FailMode,
    long InFlight,
    IReadOnlyDictionary<string, long> Dropped,
    IReadOnlyDictionary<string, LatencySummary> Latency,
    int MaxBuffered,
    int MaxAsking,
    double MaxEmittedAgeMs,
    long Oversize,
    IReadOnlyDictionary<string, long> AnsweredBy,
    IReadOnlyDictionary<string, WireBytes> Bytes,
    double MaxOutputGapMs = 0,
    int Buffering = 0,
    int Asking = 0)
{
    public long DroppedTotal => Dropped.Values.Sum();
}

/// <summary>What one stage's requests and answers weighed on the wire (serialized), in total, and how many there were.</summary>
public sealed record WireBytes(long Requests, long Sent, long Received)
{
    public double SentPerRequest => Requests == 0 ? 0 : (double)Sent / Requests;
    public double ReceivedPerRequest => Requests == 0 ? 0 : (double)Received / Requests;
}

/// <summary>A stage's latency distribution, in milliseconds.</summary>
public sealed record LatencySummary(long Count, double P50, double P90, double P99, double Max);

/// <summary>
/// One stream's books: the frames still in flight (so the fail mode can claim one, and the invariant can be
/// checked against a real set, not a derived number), what became of the others, queue high-water marks, and
/// latency per stage. Thread-safe: the graph's stages and the ask continuations all write here.
/// </summary>
/// <param name="observer">told of every count as it happens (the node's metrics), or none</param>
public sealed class StreamLedger(string streamId, IStreamObserver? observer = null)
{
    // Offer, settle and snapshot move counts under one lock, so a snapshot always balances exactly.
    private readonly Lock _books = new();
    private readonly ConcurrentDictionary<long, StreamFrame> _pending = new();
    private readonly ConcurrentDictionary<string, long> _dropped = new();
    private readonly ConcurrentDictionary<string, long> _answeredBy = new();
    private readonly ConcurrentDictionary<string, WireBytes> _bytes = new();
    private readonly ConcurrentDictionary<string, LongConcurrentHistogram> _latency = new();
    private long _offered, _served, _failMode, _oversize, _settled;
    private int _maxBuffered, _maxAsking, _asking, _buffering;
    private long _maxEmittedAgeMicros;
    private long _lastEmitted, _maxGapTicks, _lastAnswerAt;

    public string StreamId { get; } = streamId;

    /// <summary>Frames settled so far (served, fail mode or dropped): a cheap count for a closed loop that refills as frames leave.</summary>
    public long Settled => Interlocked.Read(ref _settled);

    public void Offer(StreamFrame frame)
    {
        lock (_books)
        {
            _offered++;
            _pending[frame.Seq] = frame;
        }
        observer?.Offered();
    }

    /// <summary>Drops the frame at <paramref name="hop"/> for <paramref name="reason"/> (counted only if nothing else settled it), and frees it.</summary>
    public void Drop(StreamFrame frame, string hop, string reason)
    {
        if (frame.TrySettle())
            lock (_books)
            {
                _pending.TryRemove(frame.Seq, out _);
                _dropped.AddOrUpdate($"{hop}/{reason}", 1, (_, n) => n + 1);
                _settled++;
                observer?.Dropped(hop, reason);
            }
        frame.Dispose();
    }

    /// <summary>Settles the frame as served at <paramref name="ageMs"/>; false when the fail mode already emitted it (the caller frees it).</summary>
    public bool Serve(StreamFrame frame, double ageMs) => frame.TrySettle() && Emitted(frame, ref _served, ageMs, failMode: false);

    /// <summary>Settles the frame as a fail-mode output at <paramref name="ageMs"/> (its stage failed on it); false when something else settled it.</summary>
    public bool EmitFailMode(StreamFrame frame, double ageMs) => frame.TrySettle() && Emitted(frame, ref _failMode, ageMs, failMode: true);

    /// <summary>The books for a frame that was just settled as emitted: out of flight, into <paramref name="counter"/>, its age recorded.</summary>
    private bool Emitted(StreamFrame frame, ref long counter, double ageMs, bool failMode)
    {
        lock (_books)
        {
            _pending.TryRemove(frame.Seq, out _);
            counter++;
            _settled++;
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            if (_lastEmitted != 0) _maxGapTicks = Math.Max(_maxGapTicks, now - _lastEmitted);
            _lastEmitted = now;
        }
        observer?.Emitted(failMode);
        RecordEmittedAge(ageMs);
        return true;
    }

    /// <summary>
    /// The oldest frame still in flight after <paramref name="after"/> (the last emitted: the output never runs
    /// backwards) and within its budget, claimed for the fail mode with a copy of its pixels. The oldest, not the
    /// newest: newer frames may still come back swapped, and claiming past them would make them late.
    /// </summary>
    /// <param name="minAgeMs">claim only a frame at least this old: a younger one may still come back swapped</param>
    public (StreamFrame Frame, OpenCvSharp.Mat Copy, double AgeMs)? ClaimOldestForFailMode(long after, double minAgeMs = 0)
    {
        foreach (var frame in _pending.Values.Where(f => f.Seq > after).OrderBy(f => f.Seq))
        {
            var age = frame.AgeMs;
            if (age < minAgeMs) return null; // the oldest is too young, so are the rest
            if (age > frame.BudgetMs) continue;
            if (frame.TrySettleWithCopy() is not { } copy) continue;
            Emitted(frame, ref _failMode, age, failMode: true);
            return (frame, copy, age);
        }
        return null;
    }

    /// <summary>Drops whatever is still in flight (the sink cancelled the stream): counted, and freed.</summary>
    public void DropRemaining(string hop, string reason)
    {
        foreach (var frame in _pending.Values.ToList()) Drop(frame, hop, reason);
    }

    public void Oversize() => Interlocked.Increment(ref _oversize);

    /// <summary>Frames emitted so far, swapped and by the fail mode: the cheap read for a sampler (a snapshot copies every histogram).</summary>
    public (long Served, long FailMode) Emitted()
    {
        lock (_books) return (_served, _failMode);
    }

    /// <summary>Frames in the keep-latest buffer and stage asks in flight now.</summary>
    public (int Buffering, int Asking) Queues() => (Volatile.Read(ref _buffering), Volatile.Read(ref _asking));

    /// <summary>A stage answered a request of this stream (late or not): the stages are there, only slow.</summary>
    public void StageAnswered() => Volatile.Write(ref _lastAnswerAt, System.Diagnostics.Stopwatch.GetTimestamp());

    /// <summary>When a stage last answered (a <see cref="System.Diagnostics.Stopwatch"/> timestamp); 0: never.</summary>
    public long LastAnswerAt => Volatile.Read(ref _lastAnswerAt);

    /// <summary>One request to <paramref name="stage"/> and its answer, as serialized bytes.</summary>
    public void Wire(string stage, int sent, int received) =>
        _bytes.AddOrUpdate(stage, _ => new WireBytes(1, sent, received), (_, b) => new WireBytes(b.Requests + 1, b.Sent + sent, b.Received + received));

    /// <summary>Where a stage last ran for this stream: the worker and the execution provider its model ran on (the page shows them).</summary>
    public void RanOn(string stage, string worker, string? provider) => _ranOn[stage] = (worker, provider ?? "unknown");

    /// <summary>Each stage's last worker and execution provider.</summary>
    public IReadOnlyDictionary<string, (string Worker, string Provider)> StagesRanOn() => _ranOn.ToDictionary();

    /// <summary>A worker answered a swap request: which workers carry the stream, and since when.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Worker, string Provider)> _ranOn = new();

    public void AnsweredBy(string worker) => _answeredBy.AddOrUpdate(worker, 1, (_, n) => n + 1);

    public void Buffered(int count)
    {
        Volatile.Write(ref _buffering, count);
        Max(ref _maxBuffered, count);
    }

    public void AskStarted() => Max(ref _maxAsking, Interlocked.Increment(ref _asking));
    public void AskEnded() => Interlocked.Decrement(ref _asking);

    public void Record(string stage, double milliseconds)
    {
        _latency.GetOrAdd(stage, _ => new LongConcurrentHistogram(1, 600_000_000, 3)).RecordValue(Math.Max(1, (long)(milliseconds * 1000)));
        observer?.Latency(stage, milliseconds);
    }

    private void RecordEmittedAge(double ms)
    {
        var micros = (long)(ms * 1000);
        long seen;
        while (micros > (seen = Interlocked.Read(ref _maxEmittedAgeMicros)) && Interlocked.CompareExchange(ref _maxEmittedAgeMicros, micros, seen) != seen) { }
        Record(EdgeStages.EndToEnd, ms);
    }

    private static void Max(ref int field, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref field)) && Interlocked.CompareExchange(ref field, value, seen) != seen) { }
    }

    public StreamStats Snapshot()
    {
        lock (_books)
            return new StreamStats(StreamId, _offered, _served, _failMode, _pending.Count, _dropped.ToDictionary(),
                _latency.ToDictionary(e => e.Key, e => Summary(e.Value)),
                Volatile.Read(ref _maxBuffered), Volatile.Read(ref _maxAsking), Interlocked.Read(ref _maxEmittedAgeMicros) / 1000.0, Interlocked.Read(ref _oversize), _answeredBy.ToDictionary(), _bytes.ToDictionary(),
                _maxGapTicks * 1000.0 / System.Diagnostics.Stopwatch.Frequency, Volatile.Read(ref _buffering), Volatile.Read(ref _asking));
    }

    private static LatencySummary Summary(LongConcurrentHistogram histogram)
    {
        var copy = histogram.Copy();
        double Ms(double p) => copy.GetValueAtPercentile(p) / 1000.0;
        return new LatencySummary(copy.TotalCount, Ms(50), Ms(90), Ms(99), copy.GetMaxValue() / 1000.0);
    }
}

/// <summary>The latency series the edge records, by name.</summary>
public static class EdgeStages
{
    public const string Buffer = "edge-buffer";
    public const string Encode = "edge-encode";
    public const string Detect = "detect";
    public const string Swap = "swap";
    public const string WorkerDetect = "worker-detect";
    public const string WorkerSwap = "worker-swap";
    public const string WorkerEnhance = "worker-enhance";
    public const string Composite = "edge-composite";
    public const string EndToEnd = "end-to-end";
}
