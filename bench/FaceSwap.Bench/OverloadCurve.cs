using System.Diagnostics;
using System.Globalization;
using Akka.Streams;
using Akka.Streams.Dsl;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Governance.Consent;
using FaceSwap.Inference.Models;
using FaceSwap.Node;
using HdrHistogram;
using OpenCvSharp;

namespace FaceSwap.Bench;

/// <summary>
/// <c>dotnet run --project bench/FaceSwap.Bench -c Release -- overload [--seconds S] [--plot FILE]</c>: what one
/// stream gets when offered 1×, 2×, 3× and 4× what the worker can serve (seed, worker and edge in this process on
/// loopback TCP). Capacity is measured first, as a closed loop with two frames in flight; each level then offers
/// the demo clip (cycled) at its rate for S seconds with the shipped budget (150 ms), and counts what was served,
/// emitted in fail mode and dropped, and the end-to-end latency of what came out. Draws the curve.
/// </summary>
public static class OverloadCurve
{
    private sealed record Level(double Multiple, double Offered, double Served, double FailMode, long Dropped, double P50, double P99, double Max);

    public static int Run(string[] args)
    {
        var (seconds, plot) = (15, BenchReport.PlotPath("overload-curve.png"));
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            switch (args[i])
            {
                case "--seconds" when int.TryParse(value, CultureInfo.InvariantCulture, out var s) && s is >= 3 and <= 600: seconds = s; break;
                case "--plot" when value.Length > 0: plot = value; break;
                default: throw new ArgumentException($"'{string.Join(' ', args.Skip(i).Take(2))}': the overload campaign takes --seconds S (3 to 600) and --plot FILE");
            }
        }
        return Measure(seconds, plot).GetAwaiter().GetResult();
    }

    private static async Task<int> Measure(int seconds, string plot)
    {
        var (store, average) = BenchCluster.PackAndAverageFace();
        var frames = DemoVideo.Frames(300, 30).ToList();
        using var worker = BenchCluster.Worker(store, average);
        await using var cluster = await BenchCluster.Start(worker);
        var budget = NodeSettings.Load().Edge.BudgetMs;

        // Capacity: as fast as the worker answers, nothing dropped.
        var capacityOptions = new EdgeStreamOptions
        {
            StreamId = "capacity", Swap = new StreamSettings(IdentityIds.Average), FramesPerSecond = 0.1, BudgetMs = 10_000, Parallelism = 2, BufferSize = 2,
        };
        await EdgeStream.Prepare(capacityOptions, cluster.Detect, cluster.Swap, TimeSpan.FromSeconds(30));
        var clock = Stopwatch.StartNew();
        var probe = BenchCluster.ClosedLoop(cluster.Edge, capacityOptions, cluster.Detect, cluster.Swap, frames, _ => { });
        await probe.Completion;
        var capacity = probe.Ledger.Snapshot().Served / clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"overload: capacity {capacity:F1} fps (closed loop, 2 in flight, {frames.Count} frames); {seconds} s per level, budget {budget} ms, {Environment.ProcessorCount} cores"));

        var levels = new List<Level>();
        foreach (var multiple in new[] { 1.0, 2.0, 3.0, 4.0 })
        {
            var rate = multiple * capacity;
            // The stream's own rate (its output interval) stays within what a stream may declare; the source still
            // offers `rate` (on a fast machine 4× capacity passes 240 fps).
            var options = new EdgeStreamOptions
            {
                StreamId = $"overload-{multiple}", Swap = new StreamSettings(IdentityIds.Average), FramesPerSecond = Math.Min(rate, EdgeStreamOptions.MaxFramesPerSecond), BudgetMs = budget,
            };
            await EdgeStream.Prepare(options, cluster.Detect, cluster.Swap, TimeSpan.FromSeconds(30));
            var latency = new LongHistogram(1, 60_000_000, 3);
            var count = (int)(rate * seconds);
            var offer = Source.Cycle(() => frames.GetEnumerator()).Take(count)
                .Throttle((int)Math.Ceiling(rate), TimeSpan.FromSeconds(1), (int)Math.Ceiling(rate), ThrottleMode.Shaping).Select(f => f.Clone());
            var handle = EdgeStream.Run(cluster.Edge, offer, options, cluster.Detect, cluster.Swap, Sink.ForEach<EmittedFrame>(f =>
            {
                latency.RecordValue((long)(f.AgeMs * 1000));
                f.Dispose();
            }), marks: null);
            await handle.Completion;
            var stats = handle.Ledger.Snapshot();
            var level = new Level(multiple, stats.Offered / (double)seconds, stats.Served / (double)seconds, stats.FailMode / (double)seconds, stats.DroppedTotal,
                latency.GetValueAtPercentile(50) / 1000.0, latency.GetValueAtPercentile(99) / 1000.0, latency.GetMaxValue() / 1000.0);
            levels.Add(level);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {multiple}×: offered {level.Offered:F1} fps, swapped {level.Served:F1}, fail mode {level.FailMode:F1}, dropped {level.Dropped} ({string.Join(", ", stats.Dropped.Select(d => $"{d.Key} {d.Value}"))}), latency p50 {level.P50:F1} / p99 {level.P99:F1} / max {level.Max:F1} ms"));
        }
        foreach (var f in frames) f.Dispose();
        average.Dispose();

        var markdown = string.Create(CultureInfo.InvariantCulture,
            $"Capacity first: {capacity:F1} fps as a closed loop with two frames in flight (nothing dropped); then one stream offered the demo clip at 1× to 4× that rate for {seconds} s each, budget {budget} ms, keep-latest buffer of 1 frame.\n\n")
            + BenchReport.Table(["offered", "offered fps", "swapped fps", "fail-mode fps", "dropped", "latency p50", "latency p99", "max"],
                levels.Select(l => BenchReport.Cells($"{l.Multiple:0}× capacity", $"{l.Offered:F1}", $"{l.Served:F1}", $"{l.FailMode:F1}", $"{l.Dropped}",
                    $"{l.P50:F1} ms", $"{l.P99:F1} ms", $"{l.Max:F1} ms")));
        Console.WriteLine();
        Console.WriteLine(markdown);
        BenchReport.Fragment("overload", BenchReport.Command("overload", "--seconds", seconds.ToString(CultureInfo.InvariantCulture)), markdown);
        Draw(plot, levels, capacity, budget);
        Console.WriteLine($"plot: {plot}");
        return 0;
    }

    /// <summary>Two panels: frames per second against the offered rate (swapped, swapped + fail mode, the offer itself), and latency p50/p99 with the budget.</summary>
    private static void Draw(string path, List<Level> levels, double capacity, int budget)
    {
        const int Panel = 440, Height = 360, Top = 50, Bottom = 310, Left = 55;
        using var chart = new Mat(Height, 2 * Panel, MatType.CV_8UC3, Scalar.White);
        var maxOffered = levels.Max(l => l.Offered) * 1.05;
        var maxLatency = Math.Max(budget, levels.Max(l => l.Max)) * 1.1;
        int X(double fps, int panel) => panel * Panel + Left + (int)(fps / maxOffered * (Panel - Left - 20));
        int YFps(double fps) => Bottom - (int)(fps / maxOffered * (Bottom - Top));
        int YMs(double ms) => Bottom - (int)(ms / maxLatency * (Bottom - Top));
        var grey = new Scalar(200, 200, 200);
        var (blue, red, black) = (new Scalar(180, 110, 40), new Scalar(40, 40, 220), Scalar.Black);
        for (var panel = 0; panel < 2; panel++)
        {
            Cv2.Line(chart, new Point(X(0, panel), Bottom), new Point(X(maxOffered, panel), Bottom), black);
            Cv2.Line(chart, new Point(X(0, panel), Bottom), new Point(X(0, panel), Top), black);
            foreach (var l in levels)
                Cv2.PutText(chart, $"{l.Multiple:0}x", new Point(X(l.Offered, panel) - 8, Bottom + 18), HersheyFonts.HersheySimplex, 0.4, black);
            Cv2.PutText(chart, "offered fps (multiple of capacity)", new Point(panel * Panel + Left + 80, Bottom + 38), HersheyFonts.HersheySimplex, 0.4, black);
        }
        for (var fps = 0; fps <= maxOffered; fps += maxOffered > 150 ? 50 : 20)
            Cv2.PutText(chart, fps.ToString(CultureInfo.InvariantCulture), new Point(10, YFps(fps) + 4), HersheyFonts.HersheySimplex, 0.4, black);
        for (var ms = 0; ms <= maxLatency; ms += 50)
            Cv2.PutText(chart, ms.ToString(CultureInfo.InvariantCulture), new Point(Panel + 10, YMs(ms) + 4), HersheyFonts.HersheySimplex, 0.4, black);
        Cv2.Line(chart, new Point(X(0, 0), YFps(0)), new Point(X(maxOffered, 0), YFps(maxOffered)), grey);
        Cv2.Line(chart, new Point(X(0, 0), YFps(capacity)), new Point(X(maxOffered, 0), YFps(capacity)), grey);
        Cv2.Line(chart, new Point(X(0, 1), YMs(budget)), new Point(X(maxOffered, 1), YMs(budget)), red);
        void Series(Func<Level, int> x, Func<Level, int> y, Scalar colour)
        {
            for (var i = 0; i < levels.Count; i++)
            {
                var p = new Point(x(levels[i]), y(levels[i]));
                Cv2.Circle(chart, p, 4, colour, -1);
                if (i > 0) Cv2.Line(chart, new Point(x(levels[i - 1]), y(levels[i - 1])), p, colour, 2);
            }
        }
        Series(l => X(l.Offered, 0), l => YFps(l.Served + l.FailMode), red);
        Series(l => X(l.Offered, 0), l => YFps(l.Served), blue);
        Series(l => X(l.Offered, 1), l => YMs(l.P50), blue);
        Series(l => X(l.Offered, 1), l => YMs(l.P99), red);
        Cv2.PutText(chart, "fps out: blue swapped, red + fail mode (under blue if none)", new Point(10, 22), HersheyFonts.HersheySimplex, 0.4, black);
        Cv2.PutText(chart, string.Create(CultureInfo.InvariantCulture, $"grey: the offer, and the capacity ({capacity:F1} fps)"), new Point(10, 40), HersheyFonts.HersheySimplex, 0.4, black);
        Cv2.PutText(chart, $"latency out: blue p50, red p99; red line: budget {budget} ms", new Point(Panel + 10, 22), HersheyFonts.HersheySimplex, 0.4, black);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (!Cv2.ImWrite(path, chart)) throw new IOException($"{path}: could not write the chart");
    }
}
