using Akka.Streams.Dsl;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Governance.Audit;
using FaceSwap.Governance.Provenance;
using FaceSwap.Swap.Evaluation;
using FaceSwap.Vision.Marks;
using FaceSwap.Vision.Video;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests;

/// <summary>
/// A stream to a file on the embedded default, as `faceswap-node demo` and `run --stream` do it: every output
/// frame labelled and watermarked with the session, the file signed, the session audited.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StreamRunnerTests(ClusterFixture fixture, ITestOutputHelper output) : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private string PublicKey => Path.Combine(_dir.Path, "public.pem");
    private string AuditDatabase => $"Data Source={Path.Combine(_dir.Path, "audit.db")}";

    /// <summary>A clip of <paramref name="seconds"/> at 15 fps, a fresh signing key, and the node's settings pointed at both and at this test's audit log.</summary>
    private (string Clip, NodeSettings Settings) Prepare(TestNode node, double seconds)
    {
        var clip = Path.Combine(_dir.Path, "clip.mp4");
        DemoVideo.Write(clip, seconds, 15);
        var privateKey = Path.Combine(_dir.Path, "private.pem");
        ProvenanceKeys.Generate(privateKey, PublicKey);
        return (clip, node.Settings with { Fsc = node.Settings.Fsc with { SigningKey = privateKey, AuditDatabase = AuditDatabase, NodeName = "test-edge" } });
    }

    /// <summary>A fresh node's first frames pay for the JIT and ONNX Runtime's arenas: a 2 s stream could spend all its budgets there.</summary>
    private static async Task WarmUp(TestNode node)
    {
        using var still = StillFrames.Astronaut640x480();
        var warm = EdgeStream.Run(node.System, ClusterFixture.Paced(still, 20, 20),
            new EdgeStreamOptions { StreamId = "warm-up", Swap = new StreamSettings(ClusterFixture.Identity), FramesPerSecond = 20, BudgetMs = 10_000 },
            node.Detect, node.Swap, Sink.ForEach<EmittedFrame>(f => f.Dispose()), marks: null);
        await warm.Completion.WaitAsync(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task A_stream_to_a_file_is_marked_signed_and_audited()
    {
        var outputFile = Path.Combine(_dir.Path, "out.mp4");
        await using var node = await fixture.Start([.. Roles.All]);
        await WarmUp(node);
        var (input, settings) = Prepare(node, 2);
        var result = await StreamRunner.ToFile(node.Host, settings, "to-file", input, ClusterFixture.Identity, outputFile, 15);
        output.WriteLine(StreamReport.Format(result.Stats, result.Elapsed, result.Emitted));

        // Every emitted frame is in the file, and the file carries the session's watermark and the label.
        var info = MediaInfo.Probe(outputFile);
        Assert.Equal(result.Emitted, info.Frames);
        Assert.True(result.Stats.Served > 0);
        var detector = new WatermarkDetector();
        using (var reader = new VideoFileReader(outputFile, info))
        using (var frame = new Mat())
            while (reader.Read(frame)) detector.Add(frame);
        var mark = detector.Result();
        Assert.True(mark.Marked, mark.ToString());
        Assert.Equal(WatermarkPayload.For("test-edge", Convert.ToUInt64(result.Session, 16)), mark.Payload);

        // The sidecar holds against the pinned key, and names the session.
        using var verifier = new ProvenanceVerifier(File.ReadAllText(PublicKey));
        var verification = verifier.Verify(outputFile);
        Assert.True(verification.IsValid, verification.Detail);
        Assert.Equal(result.Session, verification.Record!.SessionId);

        // The session's start and stop are in the audit log, the stop with the output's hash.
        using var log = new AuditLog(AuditDatabase);
        var events = log.Query(new AuditFilter(Session: result.Session));
        Assert.Equal([AuditKinds.SessionStart, AuditKinds.SessionStop], events.Select(e => e.Kind));
        Assert.Contains(verification.Record.OutputSha256, events[1].Details);
    }

    [Fact]
    public async Task A_stream_whose_identity_has_no_consent_is_refused_before_it_starts_and_the_refusal_is_audited()
    {
        await using var node = await fixture.Start([.. Roles.All]);
        var (input, settings) = Prepare(node, 1);
        var outputFile = Path.Combine(_dir.Path, "out.mp4");

        var refused = await Assert.ThrowsAsync<FaceSwap.Edge.StreamRefusedException>(() =>
            StreamRunner.ToFile(node.Host, settings, "no-consent", input, "id-aaaaaaaaaa", outputFile, 15));
        output.WriteLine(refused.Message);
        Assert.Contains("id-aaaaaaaaaa", refused.Message);
        Assert.False(File.Exists(outputFile));
        using var log = new AuditLog(AuditDatabase);
        var events = log.Query();
        Assert.Equal([AuditKinds.SwapRefused], events.Select(e => e.Kind));
    }
}
