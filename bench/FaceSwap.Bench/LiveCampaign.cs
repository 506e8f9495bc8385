using System.Diagnostics;
using System.Globalization;
using FaceSwap.Edge;
using FaceSwap.Node;
using FaceSwap.Node.Live;
using FaceSwap.Node.Tests.Browser;
using FaceSwap.Node.Tests.Live;
using FaceSwap.Vision;
using FaceSwap.Vision.Video;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenCvSharp;

namespace FaceSwap.Bench;

/// <summary>
/// <c>live [--seconds S]</c>: the live edge as its clients use it (seed, worker and edge in this process on loopback
/// TCP, the edge's page and WebSocket ingest on its HTTP port). Three rounds, each warmed up then measured for S s:
/// <list type="bullet">
/// <item>alone: one WebSocket stream offering 60 fps, what one stream reaches;</item>
/// <item>four: headless Chromium's fake camera in the live page, a WebSocket client, and two <c>ffmpeg -re … -f mpegts
/// udp://</c> clients started with <c>fsc stream start</c>'s API, each offering 15 fps (together what the one stream
/// was offered): each one's served fps against a fair share, their total against the one stream alone, and each
/// one's longest output gap;</item>
/// <item>browser: the page alone at 15 fps: camera-to-display latency read from the fake camera's frame barcode
/// (capture in the page to display in the page), beside the edge's own breakdown from its stats messages.</item>
/// </list>
/// </summary>
public static class LiveCampaign
{
    private const string Token = "bench-live-token";

    /// <summary>One stream's figures over a window: served (swapped) fps, fail-mode fps, longest gap between emitted frames.</summary>
    private sealed record StreamFigures(string Name, string Kind, double ServedFps, double FailModeFps, double MaxGapMs);

    /// <summary>A round's streams, and the CPU the cluster (this process) and the machine spent per second of it.</summary>
    private sealed record RoundFigures(List<StreamFigures> Streams, double ProcessCores, double MachineCores);

    public static int Run(string[] args)
    {
        var seconds = 20;
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            if (args[i] == "--seconds" && int.TryParse(value, CultureInfo.InvariantCulture, out var s) && s is >= 3 and <= 600) seconds = s;
            else throw new ArgumentException($"'{string.Join(' ', args.Skip(i).Take(2))}': the live campaign takes --seconds S (3 to 600)");
        }
        if (!ChromeDriver.Available) throw new InvalidOperationException(ChromeDriver.MissingMessage);
        return Measure(seconds).GetAwaiter().GetResult();
    }

    private static async Task<int> Measure(int seconds)
    {
        var window = TimeSpan.FromSeconds(seconds);
        var warmUp = TimeSpan.FromSeconds(Math.Min(5, seconds));
        using var dir = new TempFolder();
        var (store, average) = BenchCluster.PackAndAverageFace();
        using var worker = BenchCluster.Worker(store, average);
        var loaded = NodeSettings.Load();
        // Streams here ask for more than the worker's declared capacity on purpose: admission is off.
        var settings = loaded with { Live = loaded.Live with { Token = Token }, Edge = loaded.Edge with { Admission = AdmissionMode.Off } };
        var (seedHost, seedSystem) = await BenchCluster.StartNode(settings, FaceSwap.Contracts.Roles.Seed, null);
        var seed = Akka.Cluster.Cluster.Get(seedSystem).SelfAddress.ToString();
        var (workerHost, _) = await BenchCluster.StartNode(settings, FaceSwap.Contracts.Roles.Worker, seed, worker);
        var (edgeHost, _) = await BenchCluster.StartNode(settings, FaceSwap.Contracts.Roles.Edge, seed);
        try
        {
            var address = NodeHost.ManagementAddress(edgeHost)!.TrimEnd('/');
            var sessions = edgeHost.Services.GetRequiredService<LiveSessions>();
            var photo = Path.Combine(FaceSwap.Inference.Models.RepositoryPaths.Root, ".cache", "skimage", "astronaut.png");
            using var still = ImageFile.ReadBgr(photo);
            using var camera = FakeCamera.Compose(still);
            var jpeg = ImageCodec.EncodeJpeg(camera, 85);
            var y4m = Path.Combine(dir.Path, "camera.y4m");
            FakeCamera.Write(y4m, still, frames: 90);
            var clip = Path.Combine(dir.Path, "clip.ts");
            // Encoded once: the clients only copy packets (-c copy), so they cost this machine next to nothing. A slow pan
            // with a little noise, as a camera's frames.
            Ffmpeg.Run("ffmpeg", ["-v", "error", "-nostdin", "-y", "-loop", "1", "-framerate", "30", "-i", photo, "-f", "lavfi", "-i", "sine=f=440:d=10",
                "-vf", @"scale=680:510,crop=640:480:x='min(t*4\,40)':y='min(t*3\,30)',noise=alls=2:allf=t,format=yuv420p", "-t", "10", "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-c:a", "aac",
                // Audio in small PES packets: with the muxer's default 0.7 s delay, -re sends a third of a second of frames at once.
                "-muxdelay", "0.05", "-pes_payload_size", "0", "-f", "mpegts", clip], clip);

            Console.WriteLine($"live: {seconds} s per round after {warmUp.TotalSeconds:0} s of warm-up, {Environment.ProcessorCount} cores; edge at {address}");

            // Round 1: one stream alone, offered 60 fps.
            var alone = await Round(sessions, warmUp, window, async cancel =>
            {
                var client = await LiveClient.Connect(address);
                await client.Start(Token, FaceSwap.Governance.Consent.IdentityIds.Average, 60);
                _ = Offer(client, jpeg, 60, cancel);
                return [client];
            });
            var single = alone.Streams.Single();
            Console.WriteLine($"live: alone {single.ServedFps:F1} fps served, {single.FailModeFps:F1} in fail mode, longest gap {single.MaxGapMs:F0} ms");

            // Round 2: four streams of four clients at 15 fps: together they offer what the one stream alone was offered.
            await using var chrome = await ChromeDriver.StartAsync(fakeVideo: y4m, windowHeight: 1400);
            var fourRound = await Round(sessions, warmUp, window, async cancel =>
            {
                await OpenPage(chrome, address, 15);
                var client = await LiveClient.Connect(address);
                await client.Start(Token, FaceSwap.Governance.Consent.IdentityIds.Average, 15);
                _ = Offer(client, jpeg, 15, cancel);
                for (var n = 0; n < 2; n++) await StartUdp(sessions, clip, $"ffmpeg-{n + 1}", cancel);
                return [client];
            }, expected: 4);
            var four = fourRound.Streams;
            Console.WriteLine($"live: the page ended the round {(await chrome.ExecuteAsync("return fsc.state + ' (' + fsc.reason + '), reconnects ' + fsc.reconnects;"))}");
            await StopPage(chrome);
            var total = four.Sum(s => s.ServedFps);
            var fair = total / four.Count;
            foreach (var s in four)
                Console.WriteLine($"live: {s.Name} ({s.Kind}) {s.ServedFps:F1} fps served ({(s.ServedFps / fair - 1) * 100:+0;-0;0} % of a fair share), {s.FailModeFps:F1} fail mode, longest gap {s.MaxGapMs:F0} ms");

            // Round 3: the page alone at 15 fps, for its camera-to-display latency.
            await OpenPage(chrome, address, 15);
            await Task.Delay(warmUp);
            await chrome.ExecuteAsync("fsc.latencies.length = 0;");
            await Task.Delay(window);
            var browser = await chrome.ExecuteAsync("return {latencies: fsc.latencies.filter(l => l.code !== null).map(l => l.ms), shown: fsc.framesShown, stats: fsc.lastStats};");
            await StopPage(chrome);
            var latencies = browser!["latencies"]!.AsArray().Select(l => l!.GetValue<double>()).Order().ToArray();
            var stats = browser["stats"]!;
            double P(double q) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
            Console.WriteLine($"live: browser camera-to-display over {latencies.Length} frames: p50 {P(0.5):F0} ms, p99 {P(0.99):F0} ms; edge {stats["latencyMs"]!.ToJsonString()}");

            Report(seconds, alone, fourRound, latencies.Length, P(0.5), P(0.99), stats);
            return 0;
        }
        finally
        {
            foreach (var host in new[] { edgeHost, workerHost, seedHost })
            {
                await host.StopAsync();
                host.Dispose();
            }
        }
    }

    /// <summary>Starts a round's streams, warms up, then samples every stream's books each 50 ms over the window; stops them all.</summary>
    private static async Task<RoundFigures> Round(LiveSessions sessions, TimeSpan warmUp, TimeSpan window,
        Func<CancellationToken, Task<LiveClient[]>> start, int expected = 1)
    {
        using var cancel = new CancellationTokenSource();
        var clients = await start(cancel.Token);
        var deadline = Stopwatch.StartNew();
        while (sessions.All.Count < expected)
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"only {sessions.All.Count} of {expected} streams started");
            await Task.Delay(100);
        }
        await Task.Delay(warmUp);
        var streams = sessions.All.ToList();
        var first = streams.ToDictionary(s => s, s => s.Handle!.Ledger.Emitted());
        var last = streams.ToDictionary(s => s, s => (Count: first[s].Served + first[s].FailMode, At: Stopwatch.GetTimestamp()));
        var gaps = streams.ToDictionary(s => s, _ => 0.0);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var machine = MachineBusy();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < window)
        {
            await Task.Delay(50);
            foreach (var s in streams)
            {
                var (served, failMode) = s.Handle!.Ledger.Emitted();
                var now = Stopwatch.GetTimestamp();
                if (served + failMode != last[s].Count) last[s] = (served + failMode, now);
                gaps[s] = Math.Max(gaps[s], Stopwatch.GetElapsedTime(last[s].At, now).TotalMilliseconds);
            }
        }
        var elapsed = clock.Elapsed.TotalSeconds;
        var processCores = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds / elapsed;
        var machineCores = (MachineBusy() - machine) / elapsed;
        foreach (var s in streams)
        {
            var stats = s.Handle!.Ledger.Snapshot();
            Console.WriteLine($"live:   {s.StreamId}: {stats.Offered} offered, dropped {string.Join(", ", stats.Dropped.Select(d => $"{d.Key} {d.Value}"))}; " +
                string.Join(", ", stats.Latency.Select(l => $"{l.Key} p50 {l.Value.P50:F0}")));
        }
        var figures = streams.Select(s =>
        {
            var (served, failMode) = s.Handle!.Ledger.Emitted();
            return new StreamFigures(s.StreamId, s.Start.Source.StartsWith("udp", StringComparison.Ordinal) ? "ffmpeg, UDP MPEG-TS"
                    : s.Start.Source.Contains("live page", StringComparison.Ordinal) ? "Chromium, live page" : "WebSocket client",
                (served - first[s].Served) / elapsed, (failMode - first[s].FailMode) / elapsed, gaps[s]);
        }).OrderBy(f => f.Kind, StringComparer.Ordinal).ToList();
        Console.WriteLine($"live:   CPU: the cluster's process {processCores:F2} cores, the whole machine {machineCores:F2} of {Environment.ProcessorCount}");
        await cancel.CancelAsync();
        foreach (var client in clients)
        {
            if (client.Closed.Task.IsCompleted) Console.WriteLine($"live:   a WebSocket client was closed during the round: {client.Closed.Task.Result}");
            await client.DisposeAsync();
        }
        foreach (var s in sessions.All) s.Stop("the round is over");
        while (sessions.All.Count > 0) await Task.Delay(100);
        return new RoundFigures(figures, processCores, machineCores);
    }

    /// <summary>CPU seconds the whole machine has been busy (all cores, /proc/stat: user, nice, system, irq, softirq).</summary>
    private static double MachineBusy()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
        return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / 100.0; // USER_HZ is 100 on Linux
    }

    /// <summary>Sends the frame at <paramref name="fps"/> until cancelled or closed.</summary>
    private static async Task Offer(LiveClient client, byte[] jpeg, double fps, CancellationToken cancel)
    {
        var interval = TimeSpan.FromSeconds(1 / fps);
        var next = Stopwatch.GetTimestamp();
        try
        {
            while (!cancel.IsCancellationRequested && client.State == System.Net.WebSockets.WebSocketState.Open)
            {
                await client.SendFrame(jpeg);
                next += (long)(interval.TotalSeconds * Stopwatch.Frequency);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, cancel);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or System.Net.WebSockets.WebSocketException or ObjectDisposedException)
        {
            // the round is over
        }
    }

    /// <summary>A stream from a UDP URL, as `fsc stream start` starts it, and an ffmpeg client playing the clip into it in a loop.</summary>
    private static async Task StartUdp(LiveSessions sessions, string clip, string id, CancellationToken cancel)
    {
        var port = FreeUdpPort();
        var url = $"udp://127.0.0.1:{port}";
        await sessions.StartCapture(new LiveStart(id, FaceSwap.Governance.Consent.IdentityIds.Average, 15, url), cancel);
        await Task.Delay(1500, cancel); // the edge's FFmpeg binds the port when the stream's graph starts
        var client = Ffmpeg.Start("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-re", "-stream_loop", "-1", "-i", clip, "-c", "copy", "-f", "mpegts", $"{url}?pkt_size=1316"], redirectInput: false);
        cancel.Register(() =>
        {
            if (!client.HasExited) client.Kill();
            client.Dispose();
        });
    }

    private static async Task OpenPage(ChromeDriver chrome, string address, int fps)
    {
        await chrome.NavigateAsync($"{address}/live#token={Token}");
        if (!await chrome.WaitForAsync("window.fsc && document.readyState === 'complete'", TimeSpan.FromSeconds(10))) throw new TimeoutException("the live page did not load");
        await chrome.WaitForAsync("document.getElementById('identity').options.length > 0", TimeSpan.FromSeconds(5));
        await chrome.ExecuteAsync($$"""
            const s = document.getElementById('identity');
            if (![...s.options].some(o => o.value === 'average')) s.add(new Option('average', 'average'));
            s.value = 'average'; s.dispatchEvent(new Event('change'));
            document.getElementById('fps').value = '{{fps}}';
            """);
        await chrome.ClickAsync("#start");
        if (!await chrome.WaitForAsync("fsc.state === 'live'", TimeSpan.FromSeconds(60)))
            throw new TimeoutException($"the page did not go live: {(await chrome.ExecuteAsync("return fsc.state + ' ' + fsc.reason;"))}");
    }

    private static async Task StopPage(ChromeDriver chrome)
    {
        await chrome.SetScriptTimeoutAsync(TimeSpan.FromSeconds(15));
        await chrome.ExecuteAsyncScriptAsync("const done = arguments[arguments.length - 1]; fsc.stop().then(() => done(true), () => done(false));");
    }

    private static int FreeUdpPort()
    {
        using var socket = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return ((System.Net.IPEndPoint)socket.Client.LocalEndPoint!).Port;
    }

    private static void Report(int seconds, RoundFigures alone, RoundFigures fourRound, int frames, double p50, double p99, System.Text.Json.Nodes.JsonNode stats)
    {
        var single = alone.Streams.Single();
        var four = fourRound.Streams;
        var total = four.Sum(s => s.ServedFps);
        var fair = total / four.Count;
        var rows = four.Select(s => BenchReport.Cells($"{s.Name}", $"{s.Kind}", $"{s.ServedFps:F1}", $"{(s.ServedFps / fair - 1) * 100:+0;-0;0} %", $"{s.FailModeFps:F1}", $"{s.MaxGapMs:F0}")).ToList();
        rows.Insert(0, BenchReport.Cells($"alone ({single.Name})", $"{single.Kind}, 60 fps offered", $"{single.ServedFps:F1}", $"–", $"{single.FailModeFps:F1}", $"{single.MaxGapMs:F0}"));
        rows.Add(BenchReport.Cells($"**four together**", $"15 fps offered each", $"{total:F1}", $"{total / single.ServedFps * 100:F0} % of alone", $"{four.Sum(s => s.FailModeFps):F1}", $"{four.Max(s => s.MaxGapMs):F0}"));
        var stages = stats["stages"]!.AsObject().Select(p => BenchReport.Cells($"{p.Key}", $"{p.Value!["p50"]!.GetValue<double>():F1}", $"{p.Value["p99"]!.GetValue<double>():F1}",
            $"{p.Value["provider"]!.GetValue<string>()}")).ToList();
        stages.Add(BenchReport.Cells($"edge end to end (receive → emit)", $"{stats["latencyMs"]!["p50"]!.GetValue<double>():F1}", $"{stats["latencyMs"]!["p99"]!.GetValue<double>():F1}", $""));
        var markdown = string.Create(CultureInfo.InvariantCulture, $"""
            Streams over {seconds} s each after a warm-up, {Environment.ProcessorCount} cores, seed, worker and edge in one process on loopback TCP:

            {BenchReport.Table(["stream", "client", "served fps", "vs fair share", "fail-mode fps", "longest gap ms"], rows, "llrrrr")}

            CPU: alone, the cluster's process used {alone.ProcessCores:F2} cores; four together, {fourRound.ProcessCores:F2} cores while the machine was {fourRound.MachineCores:F2} cores busy in all (the rest: Chromium, the FFmpeg clients and the edge's FFmpeg ingests).

            Camera-to-display latency in headless Chromium (the page at 15 fps; capture in the page → the swapped frame drawn in the page, read from the fake camera's frame barcode), {frames} frames: **p50 {p50:F0} ms, p99 {p99:F0} ms**. The edge's own breakdown from the page's last stats message (ms):

            {BenchReport.Table(["stage", "p50", "p99", "provider"], stages, "lrrl")}
            """);
        BenchReport.Fragment("live", BenchReport.Command("live", "--seconds", seconds.ToString(CultureInfo.InvariantCulture)), markdown);
        var spread = four.Max(s => Math.Abs(s.ServedFps / fair - 1));
        BenchReport.Targets("live",
            ("10", "four streams: each within 20 % of a fair share", $"largest deviation {spread * 100:F0} %", spread <= 0.2),
            ("10", "four streams: total ≥ 90 % of one stream alone", $"{total:F1} of {single.ServedFps:F1} fps ({total / single.ServedFps * 100:F0} %)", total >= 0.9 * single.ServedFps),
            ("10", "no stream's output gap over 1 s", $"longest {Math.Max(single.MaxGapMs, four.Max(s => s.MaxGapMs)):F0} ms", Math.Max(single.MaxGapMs, four.Max(s => s.MaxGapMs)) <= 1000),
            ("10", "browser camera-to-display latency measured", $"p50 {p50:F0} ms, p99 {p99:F0} ms", frames > 0));
    }

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("fsc-bench-live-").FullName;
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
