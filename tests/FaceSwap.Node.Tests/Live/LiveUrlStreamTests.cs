using System.Net.Http.Headers;
using System.Text.Json;
using FaceSwap.Governance.Provenance;
using FaceSwap.Node.Live;
using FaceSwap.Vision.Marks;
using FaceSwap.Vision.Tests;
using FaceSwap.Vision.Video;
using Microsoft.Extensions.DependencyInjection;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests.Live;

/// <summary>
/// FFmpeg as the client: <c>ffmpeg -re -i clip.mp4 -f mpegts udp://…</c> into a stream the management API started
/// (what <c>fsc stream start --source udp://… --record …</c> asks for). The recording is swapped and marked, signed,
/// as long as the clip (±5 %), and keeps the clip's sound within one frame (its start, and a beep against a flash).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LiveUrlStreamTests(ClusterFixture fixture, ITestOutputHelper output) : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task An_ffmpeg_client_over_udp_mpegts_is_swapped_and_recorded_with_its_sound_in_sync()
    {
        var privateKey = Path.Combine(_dir.Path, "private.pem");
        var publicKey = Path.Combine(_dir.Path, "public.pem");
        ProvenanceKeys.Generate(privateKey, publicKey);
        await using var node = await LiveEdgeTests.StartEdge(fixture, _dir.Path, configure: s => s with
        {
            Fsc = s.Fsc with { SigningKey = privateKey },
            // A recording, not a viewer: a frame may take a second (this machine also runs three FFmpeg processes of the test).
            Edge = s.Edge with { BudgetMs = 1000 },
        });
        var sessions = node.Host.Services.GetRequiredService<LiveSessions>();
        // One face (the astronaut), so the swap leaves this 2-core machine's FFmpeg processes room to keep real time;
        // ten white frames from 5.0 s, so a few the edge drops do not hide the flash.
        var clip = LiveMedia.MakeClip(_dir.Path, flashFrames: 10, photo: Path.Combine(TestPaths.Root, ".cache", "skimage", "astronaut.png"));
        var port = TestPorts.Free();
        var source = $"udp://127.0.0.1:{port}";

        using var http = new HttpClient { BaseAddress = new Uri(LiveEdgeTests.Address(node)) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterFixture.ManagementToken);
        var refused = await http.PostAsync($"api/streams/start?source={Uri.EscapeDataString(source)}&identity=nobody-registered&fps=25", null);
        Assert.False(refused.IsSuccessStatusCode);
        output.WriteLine($"unknown identity: {(int)refused.StatusCode} {await refused.Content.ReadAsStringAsync()}");
        Assert.Empty(sessions.All);

        var answer = await http.PostAsync($"api/streams/start?source={Uri.EscapeDataString(source)}&identity={ClusterFixture.Identity}&fps=25&id=udp-camera&record=udp.mp4&label=TEST", null);
        var body = await answer.Content.ReadAsStringAsync();
        Assert.True(answer.IsSuccessStatusCode, body);
        using var started = JsonDocument.Parse(body);
        Assert.Equal("udp-camera", started.RootElement.GetProperty("streamId").GetString());
        var session = started.RootElement.GetProperty("session").GetString()!;

        // The client starts once the edge's FFmpeg listens, and plays the clip in real time.
        LiveMedia.WaitUntilUdpBound(port, Task.Delay(Timeout.Infinite), TimeSpan.FromSeconds(20));
        using (var client = Ffmpeg.Start("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-re", "-i", clip,
                   "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-c:a", "aac", "-f", "mpegts", $"{source}?pkt_size=1316"], redirectInput: false))
        {
            var errors = client.StandardError.ReadToEndAsync();
            await client.WaitForExitAsync();
            Assert.True(client.ExitCode == 0, await errors);
        }
        // The source falls silent: the edge's ingest ends it, and the recording is finished and signed.
        await ClusterFixture.Until(() => sessions.All.Count == 0, TimeSpan.FromSeconds(60), () => "the stream did not end after its source did");

        using (var audit = new FaceSwap.Governance.Audit.AuditLog($"Data Source={Path.Combine(_dir.Path, "audit.db")}"))
            output.WriteLine(audit.Query(new FaceSwap.Governance.Audit.AuditFilter(Session: session)).Last().Details);
        var recording = Path.Combine(_dir.Path, "recordings", "udp.mp4");
        var measured = LiveMedia.Measure(recording);
        File.Copy(recording, "/tmp/udp.mp4", true);
        output.WriteLine(measured.ToString());
        Assert.InRange(measured.Duration, 9.5, 10.5);
        Assert.NotNull(measured.AudioStart);
        Assert.InRange(Math.Abs(measured.AudioStart!.Value - measured.VideoStart), 0, 1 / LiveMedia.Fps);
        // Frames sit at their source's time: the flash never comes early, and late only by frames the edge dropped
        // (the recording repeats the frame before); the beep is where the clip has it, within a frame.
        Assert.InRange(measured.Flash, LiveMedia.FlashFrame, LiveMedia.FlashFrame + 9);
        Assert.InRange(measured.ToneOnset - measured.AudioStart.Value, 5.0 - 1 / LiveMedia.Fps, 5.0 + 1 / LiveMedia.Fps);

        using var verifier = new ProvenanceVerifier(File.ReadAllText(publicKey));
        var verification = verifier.Verify(recording);
        Assert.True(verification.IsValid, verification.Detail);
        Assert.Equal(session, verification.Record!.SessionId);

        var detector = new WatermarkDetector();
        var info = MediaInfo.Probe(recording);
        using (var reader = new VideoFileReader(recording, info))
        using (var frame = new Mat())
            while (reader.Read(frame)) detector.Add(frame);
        var mark = detector.Result();
        Assert.True(mark.Marked, mark.ToString());
        Assert.Equal(WatermarkPayload.For(LiveEdgeTests.NodeName, Convert.ToUInt64(session, 16)), mark.Payload);
    }
}
