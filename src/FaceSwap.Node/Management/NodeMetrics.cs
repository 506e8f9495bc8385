using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using FaceSwap.Cluster.Worker;
using FaceSwap.Edge;

namespace FaceSwap.Node.Management;

/// <summary>
/// The node's Prometheus metrics. Edge streams report their counts here as they happen (summed over streams: a
/// stream id is no label, so series do not pile up as streams come and go; <c>fsc streams stats</c> has each one);
/// the rest (cluster membership, queues, batchers, models, the process) is read at scrape time.
/// </summary>
public sealed class NodeMetrics(NodeSettings settings, StreamDirectory streams, WorkerModels? worker) : IStreamObserver
{
    /// <summary>Latency buckets in seconds: a millisecond to the longest budget anyone sets.</summary>
    private static readonly double[] LatencyBounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5];
    private static readonly double[] BatchBounds = [1, 2, 4, 8, 16, 32];

    private sealed class Histogram(int buckets)
    {
        public readonly long[] Counts = new long[buckets + 1];
        public long SumMicros;
    }

    private long _offered, _swapped, _failMode, _refusals;
    private readonly ConcurrentDictionary<(string Hop, string Reason), long> _dropped = new();
    private readonly ConcurrentDictionary<string, Histogram> _latency = new(StringComparer.Ordinal);

    public void Offered() => Interlocked.Increment(ref _offered);

    public void Dropped(string hop, string reason) => _dropped.AddOrUpdate((hop, reason), 1, (_, n) => n + 1);

    public void Emitted(bool failMode) => Interlocked.Increment(ref failMode ? ref _failMode : ref _swapped);

    public void Latency(string stage, double milliseconds)
    {
        var histogram = _latency.GetOrAdd(stage, _ => new Histogram(LatencyBounds.Length));
        var seconds = milliseconds / 1000;
        var bucket = Array.FindIndex(LatencyBounds, b => seconds <= b);
        Interlocked.Increment(ref histogram.Counts[bucket < 0 ? LatencyBounds.Length : bucket]);
        Interlocked.Add(ref histogram.SumMicros, (long)(milliseconds * 1000));
    }

    /// <summary>The farm refused a stream this edge asked for.</summary>
    public void AdmissionRefused() => Interlocked.Increment(ref _refusals);

    public string Scrape(ActorSystem system)
    {
        var text = new MetricsText();
        var cluster = Akka.Cluster.Cluster.Get(system);
        var state = cluster.State;
        text.Family("faceswap_node_info", "gauge", "This node: its roles and version (always 1).")
            .Sample("faceswap_node_info", 1, ("roles", string.Join(",", settings.Roles)), ("version", NodeDoctor.Version), ("address", cluster.SelfAddress.ToString()));
        text.Family("faceswap_node_ready", "gauge", "1 when the node is up in the cluster and, on a worker, holds the models the plan put on it.")
            .Sample("faceswap_node_ready", NodeReadiness.Check(system, worker).Ready ? 1 : 0);
        text.Family("faceswap_cluster_members", "gauge", "Cluster members by status, as this node sees them.");
        foreach (var status in Enum.GetValues<MemberStatus>())
            text.Sample("faceswap_cluster_members", state.Members.Count(m => m.Status == status), ("status", ClusterStatus.Name(status)));
        text.Family("faceswap_cluster_unreachable_members", "gauge", "Members this node's failure detector marks unreachable.")
            .Sample("faceswap_cluster_unreachable_members", state.Unreachable.Count);

        if (settings.Has(Contracts.Roles.Edge)) Edge(text);
        if (worker is not null) Worker(text, worker);

        using var process = Process.GetCurrentProcess();
        text.Family("process_resident_memory_bytes", "gauge", "Resident memory of the node's process.")
            .Sample("process_resident_memory_bytes", process.WorkingSet64);
        text.Family("process_cpu_seconds_total", "counter", "CPU time the node's process used, user and system.")
            .Sample("process_cpu_seconds_total", process.TotalProcessorTime.TotalSeconds);
        return text.ToString();
    }

    private void Edge(MetricsText text)
    {
        text.Family("faceswap_stream_budget_seconds", "gauge", "The per-frame latency budget streams start with (faceswap.edge.budget-ms).")
            .Sample("faceswap_stream_budget_seconds", settings.Edge.BudgetMs / 1000.0);
        text.Family("faceswap_streams_active", "gauge", "Streams running on this edge.").Sample("faceswap_streams_active", streams.Count);
        var (buffered, asking) = streams.Queues();
        text.Family("faceswap_edge_queue_depth", "gauge", "Frames in the streams' keep-latest buffers, and stage asks in flight.")
            .Sample("faceswap_edge_queue_depth", buffered, ("queue", "keep_latest"))
            .Sample("faceswap_edge_queue_depth", asking, ("queue", "asks_in_flight"));
        text.Family("faceswap_frames_offered_total", "counter", "Frames captured and offered to the streams' graphs.")
            .Sample("faceswap_frames_offered_total", Interlocked.Read(ref _offered));
        text.Family("faceswap_frames_emitted_total", "counter", "Frames emitted: swapped, or by the stream's fail mode (blur, hold, passthrough).")
            .Sample("faceswap_frames_emitted_total", Interlocked.Read(ref _swapped), ("outcome", "swapped"))
            .Sample("faceswap_frames_emitted_total", Interlocked.Read(ref _failMode), ("outcome", "fail_mode"));
        text.Family("faceswap_frames_dropped_total", "counter", "Frames dropped, by the hop that dropped them and why.");
        foreach (var ((hop, reason), count) in _dropped.OrderBy(d => d.Key.Hop, StringComparer.Ordinal).ThenBy(d => d.Key.Reason, StringComparer.Ordinal))
            text.Sample("faceswap_frames_dropped_total", count, ("hop", hop), ("reason", reason));
        text.Family("faceswap_admission_refusals_total", "counter", "Streams this edge asked for that the farm refused for lack of capacity.")
            .Sample("faceswap_admission_refusals_total", Interlocked.Read(ref _refusals));
        text.Family("faceswap_stage_latency_seconds", "histogram", "Latency per stage as the edge measures it (worker-* as the worker reports it; end-to-end from capture to output).");
        foreach (var (stage, histogram) in _latency.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            var cumulative = new long[LatencyBounds.Length];
            long running = 0;
            for (var i = 0; i < LatencyBounds.Length; i++) cumulative[i] = running += Interlocked.Read(ref histogram.Counts[i]);
            var count = running + Interlocked.Read(ref histogram.Counts[LatencyBounds.Length]);
            text.Histogram("faceswap_stage_latency_seconds", LatencyBounds, cumulative, Interlocked.Read(ref histogram.SumMicros) / 1e6, count, ("stage", stage));
        }
    }

    private static void Worker(MetricsText text, WorkerModels worker)
    {
        var batchers = worker.BatchingStats();
        text.Family("faceswap_batch_size", "histogram", "Requests per model run of each batched model (across streams).");
        foreach (var stats in batchers)
        {
            var cumulative = BatchBounds.Select(b => stats.BatchSizes.Take(Math.Min((int)b + 1, stats.BatchSizes.Length)).Sum()).ToArray();
            text.Histogram("faceswap_batch_size", BatchBounds, cumulative, stats.Requests, stats.Batches, ("model", stats.Model));
        }
        text.Family("faceswap_batch_queue_depth", "gauge", "Requests waiting for their batch now.");
        foreach (var stats in batchers) text.Sample("faceswap_batch_queue_depth", stats.Queued, ("model", stats.Model));
        text.Family("faceswap_batch_expired_total", "counter", "Requests dropped in the batch queue because their frame's budget ran out (never run).");
        foreach (var stats in batchers) text.Sample("faceswap_batch_expired_total", stats.Expired, ("model", stats.Model));
        var loaded = worker.LoadedModels();
        text.Family("faceswap_model_loaded", "gauge", "1 for each model this worker holds loaded, 0 for those it offers but does not hold.");
        foreach (var offer in worker.Offers()) text.Sample("faceswap_model_loaded", loaded.Contains(offer.Model) ? 1 : 0, ("model", offer.Model));
        text.Family("faceswap_model_load_failures_total", "counter", "Model loads that failed on this worker (the coordinator places the model elsewhere).");
        foreach (var model in worker.Offers().Select(o => o.Model).Union(worker.LoadFailures.Keys).Order(StringComparer.Ordinal))
            text.Sample("faceswap_model_load_failures_total", worker.LoadFailures.GetValueOrDefault(model), ("model", model));
    }
}

/// <summary>Member statuses as the API, the CLI and the metrics spell them.</summary>
public static class ClusterStatus
{
    public static string Name(MemberStatus status) => status switch
    {
        MemberStatus.WeaklyUp => "weakly_up",
        _ => status.ToString().ToLowerInvariant(),
    };
}
