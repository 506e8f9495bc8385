using System.Globalization;
using System.Text;
using FaceSwap.Edge;

namespace FaceSwap.Node;

/// <summary>A stream's figures in words: rates, latency per stage (p50/p99), drops by hop and reason, queue high-water marks.</summary>
public static class StreamReport
{
    public static string Format(StreamStats stats, TimeSpan elapsed, long emitted)
    {
        var c = CultureInfo.InvariantCulture;
        var seconds = Math.Max(1e-9, elapsed.TotalSeconds);
        var text = new StringBuilder();
        text.AppendLine(c, $"stream {stats.StreamId}: {stats.Offered} offered, {stats.Served} served, {stats.FailMode} fail-mode, {stats.DroppedTotal} dropped, {stats.InFlight} in flight in {seconds:F1} s");
        text.AppendLine(c, $"  fps: offered {stats.Offered / seconds:F1}, swapped {stats.Served / seconds:F1}, emitted {emitted / seconds:F1}");
        text.AppendLine("  latency (ms)        p50      p99      max   count");
        foreach (var (stage, l) in stats.Latency.OrderBy(e => Order(e.Key)))
            text.AppendLine(c, $"  {stage,-16} {l.P50,7:F1}  {l.P99,7:F1}  {l.Max,7:F1}  {l.Count,6}");
        foreach (var (stage, bytes) in stats.Bytes.OrderBy(e => Order(e.Key)))
            text.AppendLine(c, $"  wire {stage}: {bytes.SentPerRequest / 1024:F1} KiB out, {bytes.ReceivedPerRequest / 1024:F1} KiB back per request ({bytes.Requests} requests)");
        text.AppendLine(stats.Dropped.Count == 0 ? "  drops: none"
            : "  drops: " + string.Join(", ", stats.Dropped.OrderByDescending(d => d.Value).Select(d => $"{d.Key} {d.Value}")));
        text.Append(c, $"  queues: keep-latest at most {stats.MaxBuffered}, asks in flight at most {stats.MaxAsking}; oldest emitted frame {stats.MaxEmittedAgeMs:F1} ms");
        return text.ToString();
    }

    private static int Order(string stage) => stage switch
    {
        EdgeStages.Buffer => 0, EdgeStages.Encode => 1, EdgeStages.Detect => 2, EdgeStages.WorkerDetect => 3, EdgeStages.Swap => 4,
        EdgeStages.WorkerSwap => 5, EdgeStages.WorkerEnhance => 6, EdgeStages.Composite => 7, EdgeStages.EndToEnd => 9, _ => 8,
    };
}
