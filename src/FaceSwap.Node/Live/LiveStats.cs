using FaceSwap.Contracts;
using FaceSwap.Edge;

namespace FaceSwap.Node.Live;

/// <summary>The page's figures for a stream, once a second (docs/live.md): rate, totals, latency, and per stage its latency, provider and worker.</summary>
public static class LiveStats
{
    private static readonly (string Name, string Latency, string? Region)[] Stages =
    [
        ("detect", EdgeStages.WorkerDetect, Regions.Detect),
        ("swap", EdgeStages.WorkerSwap, Regions.Swap),
        ("enhance", EdgeStages.WorkerEnhance, Regions.Enhance),
        ("composite", EdgeStages.Composite, null),
        ("encode", EdgeStages.Encode, null),
    ];

    public static object Of(LiveSession session)
    {
        var ledger = session.Handle!.Ledger;
        var stats = ledger.Snapshot();
        var ranOn = ledger.StagesRanOn();
        var fps = session.RecentFps(stats.Served + stats.FailMode);
        var end = stats.Latency.GetValueOrDefault(EdgeStages.EndToEnd);
        return new
        {
            type = "stats",
            stream = session.StreamId,
            fps,
            served = stats.Served,
            failMode = stats.FailMode,
            dropped = stats.DroppedTotal,
            offered = stats.Offered,
            latencyMs = new { p50 = end?.P50 ?? 0, p99 = end?.P99 ?? 0 },
            maxGapMs = stats.MaxOutputGapMs,
            viewers = session.Viewers,
            stages = Stages.Where(s => stats.Latency.ContainsKey(s.Latency)).ToDictionary(s => s.Name, s =>
            {
                var latency = stats.Latency[s.Latency];
                var (worker, provider) = s.Region is not null && ranOn.TryGetValue(s.Region, out var where) ? where : ("edge", "Cpu");
                return new { p50 = latency.P50, p99 = latency.P99, provider, worker };
            }),
        };
    }
}
