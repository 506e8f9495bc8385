using System.Diagnostics;
using System.Globalization;
using FaceSwap.Edge;
using FaceSwap.Node;
using FaceSwap.Node.Live;
using FaceSwap.Node.Tests.Live;
using FaceSwap.Vision;
using Microsoft.Extensions.DependencyInjection;
using OpenCvSharp;

namespace FaceSwap.Bench;

/// <summary>
/// <c>soak [--minutes M] [--streams N]</c>: N live streams (WebSocket clients, the page's protocol, 15 fps each) through
/// seed, worker and edge in this process for M minutes (30 by default; the soak), sampling every 10 s the
/// process's RSS, open file descriptors, threads and managed heap (after a full collection: what is retained), the
/// memory the GC has committed and what glibc's malloc holds (handed out, and freed but kept: the native side), and
/// the streams' swapped fps; every sample goes to soak-samples.csv beside the fragment. Drift compares the
/// last tenth of the run with the tenth after the first minute (the warm-up grows what grows once): target ≤ 5 %.
/// </summary>
public static class SoakCampaign
{
    private sealed record Sample(double Minutes, double RssMiB, int Handles, int Threads, double HeapMiB, double SwappedFps,
        double GcCommittedMiB, double RssAnonMiB, double MallocUsedMiB, double MallocFreeMiB);

    public static int Run(string[] args)
    {
        var (minutes, streams) = (30.0, 2);
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            if (args[i] == "--minutes" && double.TryParse(value, CultureInfo.InvariantCulture, out var m) && m is >= 0.5 and <= 24 * 60) minutes = m;
            else if (args[i] == "--streams" && int.TryParse(value, CultureInfo.InvariantCulture, out var s) && s is >= 1 and <= 16) streams = s;
            else throw new ArgumentException($"'{string.Join(' ', args.Skip(i).Take(2))}': the soak campaign takes --minutes M (0.5 to 1440) and --streams N (1 to 16)");
        }
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the soak campaign reads /proc: Linux only");
        return Measure(minutes, streams).GetAwaiter().GetResult();
    }

    private static async Task<int> Measure(double minutes, int streams)
    {
        const string token = "bench-soak-token";
        var (store, average) = BenchCluster.PackAndAverageFace();
        using var worker = BenchCluster.Worker(store, average);
        var loaded = NodeSettings.Load();
        var settings = loaded with { Live = loaded.Live with { Token = token }, Edge = loaded.Edge with { Admission = AdmissionMode.Off } };
        var (seedHost, seedSystem) = await BenchCluster.StartNode(settings, FaceSwap.Contracts.Roles.Seed, null);
        var seed = Akka.Cluster.Cluster.Get(seedSystem).SelfAddress.ToString();
        var (workerHost, _) = await BenchCluster.StartNode(settings, FaceSwap.Contracts.Roles.Worker, seed, worker);
        var (edgeHost, _) = await BenchCluster.StartNode(settings, FaceSwap.Contracts.Roles.Edge, seed);
        var samples = new List<Sample>();
        try
        {
            var address = NodeHost.ManagementAddress(edgeHost)!.TrimEnd('/');
            var sessions = edgeHost.Services.GetRequiredService<LiveSessions>();
            var frames = DemoVideo.Frames(60, 30).Select(f =>
            {
                using (f) return ImageCodec.EncodeJpeg(f, 85);
            }).ToList();
            using var stop = new CancellationTokenSource();
            var clients = new List<LiveClient>();
            var feeders = new List<Task>();
            for (var s = 0; s < streams; s++)
            {
                var client = await LiveClient.Connect(address, keepFrames: false);
                await client.Start(token, FaceSwap.Governance.Consent.IdentityIds.Average, 15);
                clients.Add(client);
                feeders.Add(Feed(client, frames, 15, stop.Token));
            }
            Console.WriteLine($"soak: {streams} streams at 15 fps for {minutes:0.#} min, {Environment.ProcessorCount} cores, {MallocArenas}; sampling every 10 s");
            var clock = Stopwatch.StartNew();
            long lastSwapped = 0;
            var lastAt = TimeSpan.Zero;
            var interval = TimeSpan.FromSeconds(minutes < 2 ? 2 : 10);
            while (clock.Elapsed < TimeSpan.FromMinutes(minutes))
            {
                await Task.Delay(interval);
                var swapped = sessions.All.Sum(x => x.Handle!.Ledger.Emitted().Served);
                // What is retained, not what awaits collection: a full collection first (the heap of a process that
                // allocates a JPEG a frame swings by hundreds of MiB between collections).
                var heap = GC.GetTotalMemory(forceFullCollection: true) / 1048576.0;
                using var process = Process.GetCurrentProcess();
                var now = clock.Elapsed;
                var (mallocUsed, mallocFree) = NativeHeap.Malloc();
                var sample = new Sample(now.TotalMinutes, process.WorkingSet64 / 1048576.0, Directory.GetFiles("/proc/self/fd").Length, process.Threads.Count,
                    heap, (swapped - lastSwapped) / (now - lastAt).TotalSeconds,
                    GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576.0, NativeHeap.RssAnonMiB(), mallocUsed, mallocFree);
                (lastSwapped, lastAt) = (swapped, now);
                samples.Add(sample);
                if (samples.Count % 6 == 1 || minutes < 2)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"soak: {sample.Minutes,5:F1} min  RSS {sample.RssMiB,6:F1} MiB  fds {sample.Handles,4}  threads {sample.Threads,3}  heap {sample.HeapMiB,6:F1} MiB  GC committed {sample.GcCommittedMiB,6:F1} MiB  malloc used {sample.MallocUsedMiB,6:F1} free {sample.MallocFreeMiB,6:F1} MiB  swapped {sample.SwappedFps,5:F1} fps"));
                if (sessions.All.Count < streams) throw new InvalidOperationException($"only {sessions.All.Count} of {streams} soak streams are still running");
            }
            await stop.CancelAsync();
            await Task.WhenAll(feeders);
            foreach (var client in clients) await client.DisposeAsync();
        }
        finally
        {
            foreach (var host in new[] { edgeHost, workerHost, seedHost })
            {
                await host.StopAsync();
                host.Dispose();
            }
        }
        Report(minutes, streams, samples);
        Directory.CreateDirectory(BenchReport.FragmentDir);
        File.WriteAllLines(Path.Combine(BenchReport.FragmentDir, "soak-samples.csv"),
            ["minute,rss_mib,rss_anon_mib,fds,threads,retained_heap_mib,gc_committed_mib,malloc_used_mib,malloc_free_mib,swapped_fps",
             .. samples.Select(s => string.Create(CultureInfo.InvariantCulture,
                 $"{s.Minutes:F2},{s.RssMiB:F1},{s.RssAnonMiB:F1},{s.Handles},{s.Threads},{s.HeapMiB:F1},{s.GcCommittedMiB:F1},{s.MallocUsedMiB:F1},{s.MallocFreeMiB:F1},{s.SwappedFps:F1}"))]);
        return 0;
    }

    // glibc's per-thread arenas keep what each thread freed: the node launches with two (./faceswap-node, docker/), and so should this.
    private static string MallocArenas => Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is { Length: > 0 } max
        ? $"MALLOC_ARENA_MAX={max}" : "MALLOC_ARENA_MAX unset (glibc's 8 arenas per core, not the node's launch)";

    private static async Task Feed(LiveClient client, List<byte[]> frames, double fps, CancellationToken cancel)
    {
        var next = Stopwatch.GetTimestamp();
        var i = 0;
        try
        {
            while (!cancel.IsCancellationRequested)
            {
                await client.SendFrame(frames[i++ % frames.Count]);
                next += (long)(Stopwatch.Frequency / fps);
                // A camera that stalled (a busy machine) goes on at its rate: a burst to catch up exceeds the declared fps, and the edge closes the stream.
                if (Stopwatch.GetTimestamp() - next > Stopwatch.Frequency / fps) next = Stopwatch.GetTimestamp();
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, cancel);
            }
        }
        catch (OperationCanceledException)
        {
            // the soak is over
        }
    }

    private static void Report(double minutes, int streams, List<Sample> samples)
    {
        // Warm-up: the first minute (or the first tenth of a short run); then the first and the last tenth of the rest.
        var warm = samples.Where(s => s.Minutes > Math.Min(1, minutes / 10)).ToList();
        var tenth = Math.Max(1, warm.Count / 10);
        var (early, late) = (warm.Take(tenth).ToList(), warm.TakeLast(tenth).ToList());
        double Drift(Func<Sample, double> value) => (late.Average(value) - early.Average(value)) / early.Average(value);
        var (rss, handles, heap, committed) = (Drift(s => s.RssMiB), Drift(s => s.Handles), Drift(s => s.HeapMiB), Drift(s => s.GcCommittedMiB));
        var (used, kept) = (Drift(s => s.MallocUsedMiB), Drift(s => s.MallocFreeMiB));
        var rows = samples.Where((s, i) => i % Math.Max(1, samples.Count / 15) == 0 || i == samples.Count - 1)
            .Select(s => BenchReport.Cells($"{s.Minutes:F1}", $"{s.RssMiB:F1}", $"{s.Handles}", $"{s.Threads}", $"{s.HeapMiB:F1}", $"{s.GcCommittedMiB:F1}", $"{s.MallocUsedMiB:F1}", $"{s.MallocFreeMiB:F1}", $"{s.SwappedFps:F1}"));
        var markdown = string.Create(CultureInfo.InvariantCulture, $"""
            {streams} live streams (WebSocket, 15 fps each) for {minutes:0.#} min, seed, worker and edge in one process ({MallocArenas}), sampled every {(minutes < 2 ? 2 : 10)} s ({samples.Count} samples; every {Math.Max(1, samples.Count / 15)}th shown):

            {BenchReport.Table(["minute", "RSS MiB", "open fds", "threads", "retained heap MiB", "GC committed MiB", "malloc in use MiB", "malloc freed, kept MiB", "swapped fps"], [.. rows], "rrrrrrrrr")}

            Drift, last tenth against the first tenth after the warm-up: RSS **{rss * 100:+0.0;-0.0} %**, open file descriptors **{handles * 100:+0.0;-0.0} %**, retained managed heap {heap * 100:+0.0;-0.0} %, GC committed {committed * 100:+0.0;-0.0} %, malloc in use {used * 100:+0.0;-0.0} %, malloc freed but kept {kept * 100:+0.0;-0.0} %.
            """);
        BenchReport.Fragment("soak", BenchReport.Command("soak", "--minutes", minutes.ToString(CultureInfo.InvariantCulture), "--streams", streams.ToString(CultureInfo.InvariantCulture)), markdown);
        if (minutes >= 30)
            BenchReport.Targets("soak",
                ("14", "30-minute soak, 2 streams: RSS and open handles drift ≤ 5 %", $"RSS {rss * 100:+0.0;-0.0} %, handles {handles * 100:+0.0;-0.0} %", Math.Abs(rss) <= 0.05 && Math.Abs(handles) <= 0.05));
    }
}
