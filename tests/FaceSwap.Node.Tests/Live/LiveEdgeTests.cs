using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using FaceSwap.Contracts;
using FaceSwap.Governance.Audit;
using FaceSwap.Node.Live;
using FaceSwap.Swap.Evaluation;
using FaceSwap.Vision;
using FaceSwap.Vision.Marks;
using Microsoft.Extensions.DependencyInjection;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests.Live;

/// <summary>
/// The live edge over real sockets on the embedded default (docs/live.md): a page's stream swapped, marked, echoed
/// with its capture times and figures, its controls changed live and audited; each kind of bad client closed with a
/// clear reason while another stream goes on; vanished clients cleaned up down to their entities and handles.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LiveEdgeTests(ClusterFixture fixture, ITestOutputHelper output) : IDisposable
{
    public const string LiveToken = "live-test-token";
    public const string NodeName = "live-edge";
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private string AuditDatabase => $"Data Source={Path.Combine(_dir.Path, "audit.db")}";

    private Task<TestNode> Start(int maxFrameBytes = 1024 * 1024, TimeSpan? idle = null) => StartEdge(fixture, _dir.Path, maxFrameBytes, idle);

    /// <summary>
    /// An embedded node (every role) whose live endpoints take <see cref="LiveToken"/>, list and register identities in
    /// the fixture's registry (the one its worker reads), audit to <paramref name="dir"/>/audit.db and record there.
    /// </summary>
    /// <param name="roles">the node's roles: every role by default (the embedded node)</param>
    /// <param name="seed">the cluster to join; none: it starts one</param>
    public static Task<TestNode> StartEdge(ClusterFixture fixture, string dir, int maxFrameBytes = 1024 * 1024, TimeSpan? idle = null,
        Func<NodeSettings, NodeSettings>? configure = null, string[]? roles = null, string? seed = null) =>
        fixture.Start(roles ?? [.. Roles.All], seed, serializeLocal: roles is null, configure: s => (configure ?? (x => x))(s with
        {
            Live = s.Live with { Token = LiveToken, MaxFrameBytes = maxFrameBytes, IdleTimeout = idle ?? TimeSpan.FromSeconds(10), Recordings = Path.Combine(dir, "recordings") },
            Fsc = fixture.Governance(s.Fsc) with { AuditDatabase = $"Data Source={Path.Combine(dir, "audit.db")}", NodeName = NodeName },
        }));

    public static string Address(TestNode node) => NodeHost.ManagementAddress(node.Host) ?? throw new InvalidOperationException("no HTTP endpoint");

    private static byte[] Still()
    {
        using var still = StillFrames.Astronaut640x480();
        return ImageCodec.EncodeJpeg(still, 90);
    }

    /// <summary>Sends <paramref name="jpeg"/> at <paramref name="fps"/> until cancelled; the capture times sent.</summary>
    private static async Task<List<double>> Feed(LiveClient client, byte[] jpeg, double fps, CancellationToken cancel)
    {
        var sent = new List<double>();
        var interval = TimeSpan.FromSeconds(1 / fps);
        var next = Stopwatch.GetTimestamp();
        try
        {
            while (!cancel.IsCancellationRequested && client.State == WebSocketState.Open)
            {
                sent.Add(await client.SendFrame(jpeg));
                next += (long)(interval.TotalSeconds * Stopwatch.Frequency);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, cancel);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // Stopped, or the server closed the socket.
        }
        return sent;
    }

    [Fact]
    public async Task A_page_stream_comes_back_swapped_marked_with_its_capture_times_figures_and_live_controls()
    {
        await using var node = await Start();
        await using var client = await LiveClient.Connect(Address(node));
        var started = await client.Start(LiveToken, ClusterFixture.Identity, 10);
        Assert.Equal("started", started.GetProperty("type").GetString());
        var session = started.GetProperty("session").GetString()!;
        var stream = started.GetProperty("stream").GetString()!;
        Assert.Equal("Feather", started.GetProperty("settings").GetProperty("blend").GetString());

        using var feeding = new CancellationTokenSource();
        var feed = Feed(client, Still(), 10, feeding.Token);
        await ClusterFixture.Until(() => client.Frames.Count(f => !f.FailMode) >= 10, TimeSpan.FromSeconds(60), () => $"{client.Frames.Count} frames back, {client.Frames.Count(f => !f.FailMode)} swapped");

        // Live controls: a change is answered whole and applies from the next frame; a bad one is answered and changes nothing.
        await client.SendText(new { type = "settings", settings = new { label = "TEST SYNTHETIC", failMode = "hold", detectEvery = 3 } });
        var changed = await client.Next(m => m.GetProperty("type").GetString() == "settings", TimeSpan.FromSeconds(10));
        Assert.Equal("TEST SYNTHETIC", changed.GetProperty("settings").GetProperty("label").GetString());
        Assert.Equal("Hold", changed.GetProperty("settings").GetProperty("failMode").GetString());
        Assert.Equal(3, changed.GetProperty("settings").GetProperty("detectEvery").GetInt32());
        await client.SendText(new { type = "settings", settings = new { detectEvery = 0 } });
        var refused = await client.Next(m => m.GetProperty("type").GetString() == "error", TimeSpan.FromSeconds(10));
        Assert.Contains("detectEvery 0", refused.GetProperty("message").GetString());
        var settled = client.Frames.Count;
        await ClusterFixture.Until(() => client.Frames.Count >= settled + 10, TimeSpan.FromSeconds(30), () => "frames stopped after the settings change");

        // The same output as MJPEG, for any viewer with the token.
        using (var mjpeg = await Mjpeg(Address(node), stream))
        {
            Assert.Equal(640, mjpeg.Width);
            Assert.Equal(480, mjpeg.Height);
        }

        var stats = await client.Next(m => m.GetProperty("type").GetString() == "stats" && m.GetProperty("stages").TryGetProperty("swap", out _), TimeSpan.FromSeconds(10));
        output.WriteLine(stats.GetRawText());
        var swapStage = stats.GetProperty("stages").GetProperty("swap");
        Assert.Equal("Cpu", swapStage.GetProperty("provider").GetString());
        Assert.Equal(node.Worker!.Name, swapStage.GetProperty("worker").GetString());

        await feeding.CancelAsync();
        var sent = await feed;
        await client.Stop();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, (await client.Closed.Task).Status);
        Assert.Contains(client.Messages, m => m.GetProperty("type").GetString() == "stopped");

        // Every frame came back with a capture time this client sent, after it sent it.
        var frames = client.Frames.ToArray();
        output.WriteLine($"{sent.Count} sent, {frames.Length} back ({frames.Count(f => f.FailMode)} fail mode); " +
            $"latency p50 {Percentile(frames.Select(f => f.ReceivedAtMs - f.ClientTime), 0.5):F0} ms");
        Assert.All(frames, f => Assert.Contains(f.ClientTime, sent));
        Assert.All(frames, f => Assert.True(f.ReceivedAtMs > f.ClientTime));
        Assert.True(frames.Zip(frames.Skip(1)).All(p => p.First.Seq < p.Second.Seq), "output frames in order");

        // Marked: the session's watermark, and the label's new text changed the label's pixels.
        var detector = new WatermarkDetector();
        foreach (var frame in frames.TakeLast(20))
        {
            using var image = Cv2.ImDecode(frame.Jpeg, ImreadModes.Color);
            detector.Add(image);
        }
        var mark = detector.Result();
        Assert.True(mark.Marked, mark.ToString());
        Assert.Equal(WatermarkPayload.For(NodeName, Convert.ToUInt64(session, 16)), mark.Payload);

        // Audited: the start, the one accepted change, the stop.
        using var log = new AuditLog(AuditDatabase);
        var events = log.Query(new AuditFilter(Session: session));
        Assert.Equal([AuditKinds.SessionStart, AuditKinds.SettingsChanged, AuditKinds.SessionStop], events.Select(e => e.Kind));
        Assert.Contains(stream, events[0].Details);
        Assert.Empty(node.Host.Services.GetRequiredService<LiveSessions>().All);
    }

    [Fact]
    public async Task A_downed_edge_tells_its_live_clients_it_is_shutting_down_at_once_so_they_reconnect_elsewhere()
    {
        // Seed and worker in one node, the edge in another: the split-brain resolver (or an operator) downs the edge.
        await using var farm = await fixture.Start([Roles.Seed, Roles.Worker], serializeLocal: false);
        await using var edge = await StartEdge(fixture, _dir.Path, roles: [Roles.Edge], seed: farm.Address);
        await ClusterFixture.AllUp(2, farm, edge);
        await using var client = await LiveClient.Connect(Address(edge));
        Assert.Equal("started", (await client.Start(LiveToken, ClusterFixture.Identity, 10)).GetProperty("type").GetString());
        using var feeding = new CancellationTokenSource();
        var feed = Feed(client, Still(), 10, feeding.Token);
        await ClusterFixture.Until(() => client.Frames.Count(f => !f.FailMode) >= 3, TimeSpan.FromSeconds(60), () => "the stream was not swapped");

        Akka.Cluster.Cluster.Get(farm.System).Down(Akka.Cluster.Cluster.Get(edge.System).SelfAddress);
        var downed = Stopwatch.StartNew();
        // Before: the sockets outlived the actor system and were dropped 10 s later without a close (the page saw 1006).
        var (status, reason) = await client.Closed.Task.WaitAsync(TimeSpan.FromSeconds(8));
        output.WriteLine($"closed {(int?)status} \"{reason}\" {downed.Elapsed.TotalSeconds:F1} s after the edge was downed");
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, status);
        Assert.Equal(LiveSession.ShuttingDown, reason);
        await feeding.CancelAsync();
        await feed;
    }

    [Fact]
    public async Task Each_bad_client_gets_a_clear_close_and_the_other_stream_goes_on()
    {
        await using var node = await Start(maxFrameBytes: 128 * 1024);
        var address = Address(node);
        var jpeg = Still();
        await using var good = await LiveClient.Connect(address);
        Assert.Equal("started", (await good.Start(LiveToken, ClusterFixture.Identity, 10)).GetProperty("type").GetString());
        using var feeding = new CancellationTokenSource();
        var feed = Feed(good, jpeg, 10, feeding.Token);
        await ClusterFixture.Until(() => good.Frames.Count(f => !f.FailMode) >= 5, TimeSpan.FromSeconds(60), () => "the good stream served nothing");

        async Task<(WebSocketCloseStatus? Status, string? Reason)> Bad(string what, Func<LiveClient, Task> misbehave)
        {
            await using var bad = await LiveClient.Connect(address);
            await misbehave(bad);
            var closed = await bad.Closed.Task.WaitAsync(TimeSpan.FromSeconds(30));
            output.WriteLine($"{what}: {(int?)closed.Status} {closed.Reason}");
            return closed;
        }

        var noToken = await Bad("no token", c => c.SendText(new { type = "start", identity = ClusterFixture.Identity, fps = 10 }));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, noToken.Status);
        Assert.Contains("no token", noToken.Reason);

        var wrongToken = await Bad("wrong token", c => c.Start("not-the-token", ClusterFixture.Identity, 10).ContinueWith(_ => { }));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, wrongToken.Status);
        Assert.Contains("token is not valid", wrongToken.Reason);

        var garbageText = await Bad("garbage text", c => c.Send("\u0001\u0002garbage{{"u8.ToArray(), WebSocketMessageType.Text));
        Assert.Equal(WebSocketCloseStatus.InvalidMessageType, garbageText.Status);
        Assert.Contains("not JSON", garbageText.Reason);

        var frameFirst = await Bad("a frame before start", c => c.SendFrame(jpeg));
        Assert.Equal(WebSocketCloseStatus.InvalidMessageType, frameFirst.Status);

        var garbageFrame = await Bad("garbage frame", async c =>
        {
            await c.Start(LiveToken, ClusterFixture.Identity, 10);
            await c.SendFrame(Enumerable.Range(0, 5000).Select(i => (byte)(i * 7)).ToArray());
        });
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, garbageFrame.Status);
        Assert.Contains("not a JPEG", garbageFrame.Reason);

        var cutFrame = await Bad("a JPEG cut short", async c =>
        {
            await c.Start(LiveToken, ClusterFixture.Identity, 10);
            await c.SendFrame(jpeg[..(jpeg.Length / 3)]);
        });
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, cutFrame.Status);
        Assert.Contains("does not decode", cutFrame.Reason);

        var oversized = await Bad("oversized frame", async c =>
        {
            await c.Start(LiveToken, ClusterFixture.Identity, 10);
            await c.SendFrame(new byte[200 * 1024]);
        });
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, oversized.Status);
        Assert.Contains("over 131072 bytes", oversized.Reason);

        var tooFast = await Bad("frames too fast", async c =>
        {
            await c.Start(LiveToken, ClusterFixture.Identity, 5);
            for (var i = 0; i < 60 && c.State == WebSocketState.Open; i++) await c.SendFrame(jpeg).ContinueWith(_ => { });
        });
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, tooFast.Status);
        Assert.Contains("faster than the 5 fps", tooFast.Reason);

        // A client that vanishes in the middle of a frame: no close to read; its stream ends on the server.
        var sessions = node.Host.Services.GetRequiredService<LiveSessions>();
        await using (var vanishing = await LiveClient.Connect(address))
        {
            await vanishing.Start(LiveToken, ClusterFixture.Identity, 10);
            await vanishing.Send(jpeg[..1000], WebSocketMessageType.Binary, endOfMessage: false);
            vanishing.Abort();
        }
        await ClusterFixture.Until(() => sessions.All.Count == 1, TimeSpan.FromSeconds(30), () => $"{sessions.All.Count} streams still run");

        // The good stream never stopped: still served, no output gap of a second.
        var before = good.Frames.Count(f => !f.FailMode);
        await ClusterFixture.Until(() => good.Frames.Count(f => !f.FailMode) >= before + 10, TimeSpan.FromSeconds(30), () => "the good stream stopped being served");
        await feeding.CancelAsync();
        await feed;
        var frames = good.Frames.ToArray();
        var gap = frames.Zip(frames.Skip(1)).Max(p => p.Second.ReceivedAtMs - p.First.ReceivedAtMs);
        output.WriteLine($"good stream: {frames.Length} frames, {frames.Count(f => f.FailMode)} in fail mode, longest gap {gap:F0} ms");
        Assert.True(gap < 1000, $"the good stream's output stalled for {gap:F0} ms while bad clients came and went");
        Assert.Equal(WebSocketState.Open, good.State);
    }

    [Fact]
    public async Task Vanished_and_stopped_clients_leave_no_stream_entity_or_handle_behind()
    {
        await using var node = await Start(idle: TimeSpan.FromSeconds(2));
        var address = Address(node);
        var sessions = node.Host.Services.GetRequiredService<LiveSessions>();
        var jpeg = Still();

        // One round first: what grows once (JIT, arenas, the socket stack) is not counted as a leak.
        async Task Round()
        {
            var clients = new List<LiveClient>();
            for (var i = 0; i < 3; i++)
            {
                var client = await LiveClient.Connect(address);
                await client.Start(LiveToken, ClusterFixture.Identity, 10);
                clients.Add(client);
            }
            for (var n = 0; n < 15; n++)
            {
                foreach (var client in clients) await client.SendFrame(jpeg);
                await Task.Delay(100);
            }
            await clients[0].Stop();   // stopped
            clients[1].Abort();         // vanished: connection gone
            // clients[2] goes silent: the idle timeout ends it
            await ClusterFixture.Until(() => sessions.All.Count == 0, TimeSpan.FromSeconds(30), () => $"{sessions.All.Count} streams still run");
            var silent = await clients[2].Closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, silent.Status);
            Assert.Contains("no frame for 2 s", silent.Reason);
            foreach (var client in clients) await client.DisposeAsync();
        }

        await Round();
        await ClusterFixture.Until(() => Entities(node) == 0, TimeSpan.FromSeconds(30), () => $"{Entities(node)} stage entities still live");
        var handles = OpenHandles();
        await Round();
        await ClusterFixture.Until(() => Entities(node) == 0, TimeSpan.FromSeconds(30), () => $"{Entities(node)} stage entities still live");
        await ClusterFixture.Until(() => OpenHandles() <= handles + 2, TimeSpan.FromSeconds(20), () => $"{OpenHandles()} open handles after the second round, {handles} after the first");
        output.WriteLine($"open handles: {handles} after the first round, {OpenHandles()} after the second; entities 0");
    }

    [Fact]
    public async Task The_page_registers_a_photo_with_its_consent_and_lists_it_and_refuses_a_group_photo_with_the_reason()
    {
        await using var node = await Start();
        using var http = new HttpClient { BaseAddress = new Uri(Address(node)) };
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await http.GetAsync("live/identities")).StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", LiveToken);

        async Task<HttpResponseMessage> Register(string photo, string consentBy)
        {
            using var form = new MultipartFormDataContent
            {
                { new ByteArrayContent(await File.ReadAllBytesAsync(photo)), "photo", Path.GetFileName(photo) },
                { new StringContent(consentBy), "consentBy" },
                { new StringContent("stream"), "scope" },
                { new StringContent("30d"), "expires" },
                { new StringContent("live page test"), "note" },
            };
            return await http.PostAsync("live/identities", form);
        }

        // A group photo: refused with the count, nothing registered.
        var group = await Register(Path.Combine(TestPaths.SamplePhotos, "sample5.jpg"), "five people");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, group.StatusCode);
        Assert.Contains("5 faces found", await group.Content.ReadAsStringAsync());

        // One face: registered with its consent, listed for streams, audited.
        var one = await Register(Path.Combine(TestPaths.Root, ".cache", "skimage", "astronaut.png"), "the astronaut (test)");
        var body = await one.Content.ReadAsStringAsync();
        Assert.True(one.IsSuccessStatusCode, body);
        var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
        var listed = JsonDocument.Parse(await http.GetStringAsync("live/identities")).RootElement.EnumerateArray().ToList();
        var entry = Assert.Single(listed, e => e.GetProperty("id").GetString() == id);
        Assert.Equal("the astronaut (test)", entry.GetProperty("consentBy").GetString());
        Assert.Contains(listed, e => e.GetProperty("id").GetString() == ClusterFixture.Identity);
        using var log = new AuditLog(AuditDatabase);
        Assert.Contains(log.Query(new AuditFilter(Kind: AuditKinds.IdentityRegistered)), e => e.Identity == id);

        // The new identity swaps: a stream started with it comes back swapped.
        await using var client = await LiveClient.Connect(Address(node));
        Assert.Equal("started", (await client.Start(LiveToken, id, 10)).GetProperty("type").GetString());
        using var feeding = new CancellationTokenSource();
        var feed = Feed(client, Still(), 10, feeding.Token);
        await ClusterFixture.Until(() => client.Frames.Count(f => !f.FailMode) >= 3, TimeSpan.FromSeconds(60), () => "the registered identity's stream swapped nothing");
        await feeding.CancelAsync();
        await feed;
    }

    /// <summary>The first whole frame of a stream's MJPEG output; a request without the token gets 401.</summary>
    private static async Task<Mat> Mjpeg(string address, string stream)
    {
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await http.GetAsync($"live/streams/{stream}/mjpeg")).StatusCode);
        using var response = await http.GetAsync($"live/streams/{stream}/mjpeg?token={LiveToken}", HttpCompletionOption.ResponseHeadersRead);
        Assert.StartsWith("multipart/x-mixed-replace", response.Content.Headers.ContentType!.ToString());
        await using var body = await response.Content.ReadAsStreamAsync();
        var head = new List<byte>();
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
            head.Add((byte)(body.ReadByte() is var b and >= 0 ? b : throw new EndOfStreamException("the MJPEG stream ended in a part's header")));
        var headers = System.Text.Encoding.ASCII.GetString([.. head]);
        Assert.StartsWith("--fscframe", headers);
        var length = int.Parse(headers.Split("\r\n").Single(l => l.StartsWith("Content-Length:", StringComparison.Ordinal))["Content-Length:".Length..]);
        var jpeg = new byte[length];
        await body.ReadExactlyAsync(jpeg);
        var image = Cv2.ImDecode(jpeg, ImreadModes.Color);
        Assert.False(image.Empty(), "the MJPEG part is no JPEG");
        return image;
    }

    /// <summary>Live stage entities on the node, over the detect and swap regions.</summary>
    private static int Entities(TestNode node)
    {
        var sharding = ClusterSharding.Get(node.System);
        return new[] { Regions.Detect, Regions.Swap }.Sum(region =>
            sharding.ShardRegion(region).Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5)).Result.Shards.Sum(s => s.EntityIds.Count));
    }

    private static int OpenHandles() => Directory.GetFiles("/proc/self/fd").Length;

    private static double Percentile(IEnumerable<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(q * sorted.Length))];
    }
}
