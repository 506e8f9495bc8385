using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Akka.Actor;
using Akka.Hosting;
using Akka.Streams.Dsl;
using FaceSwap.Cluster;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Edge.Sources;
using FaceSwap.Governance.Audit;
using FaceSwap.Governance.Provenance;
using FaceSwap.Inference.Models;
using FaceSwap.Node.Management;
using FaceSwap.Vision.Marks;
using FaceSwap.Vision.Video;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenCvSharp;

namespace FaceSwap.Node;

/// <summary>Runs one stream on an edge node, from a source to a video file, marked and audited; returns its figures.</summary>
public static class StreamRunner
{
    /// <param name="Timeline">each emitted frame: seconds since the stream started, its latency, and whether the fail mode emitted it</param>
    public sealed record Result(StreamStats Stats, TimeSpan Elapsed, long Emitted, string Session, string Provenance, IReadOnlyList<LatencyChart.Point> Timeline, int BudgetMs);

    /// <summary>Waits until this node is Up in the cluster: the regions can route from then on.</summary>
    public static async Task<ActorSystem> WhenUp(IHost host, TimeSpan timeout)
    {
        var system = host.Services.GetRequiredService<ActorSystem>();
        var up = new TaskCompletionSource();
        Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(timeout);
        return system;
    }

    /// <param name="models">the models the workers ran, for the provenance record (an edge-only node lists none it cannot see)</param>
    public static async Task<Result> ToFile(IHost host, NodeSettings settings, string streamId, string source, string identity, string output,
        double framesPerSecond, IEnumerable<ModelManifest>? models = null)
    {
        if (!File.Exists(settings.Fsc.SigningKey))
            throw new FileNotFoundException($"{settings.Fsc.SigningKey}: no provenance signing key (faceswap.provenance.signing-key in {settings.Fsc.Source}); make one with 'fsc keys generate'");
        using var signer = ProvenanceSigner.Load(settings.Fsc.SigningKey);
        var system = host.Services.GetRequiredService<ActorSystem>();
        var registry = host.Services.GetRequiredService<ActorRegistry>();
        var (session, sessionName) = NewSession();
        var marks = new OutputMarks(settings.Fsc.Label, WatermarkPayload.For(settings.Fsc.NodeName, session));
        // The largest request must fit remoting's frame, with room for the envelope.
        var metrics = host.Services.GetService<NodeMetrics>();
        var options = settings.Edge.For(streamId, new StreamSettings(identity, FramesPerSecond: (float)framesPerSecond), framesPerSecond, settings.MaxFrameSize - 64 * 1024)
            with { Observer = metrics };
        using var audit = new AuditLog(settings.Fsc.AuditDatabase, settings.Fsc.NodeName);
        await Admit(host.Services, settings, options, audit, sessionName, identity);
        try
        {
            return await Run(system, registry, settings, streamId, source, identity, output, framesPerSecond, models, signer, marks, options, audit, sessionName,
                host.Services.GetService<StreamDirectory>());
        }
        finally
        {
            FarmAdmission.Release(registry.Get<PlacementCoordinatorKey>(), streamId);
        }
    }

    /// <summary>A fresh session number, as the watermark carries it, and its name in the audit log and provenance record.</summary>
    public static (ulong Session, string Name) NewSession()
    {
        var session = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) & WatermarkPayload.MaxSession;
        return (session, session.ToString("x12"));
    }

    /// <summary>
    /// The farm admits the stream (or refuses it with the reason), then its entities start (and may refuse it: no
    /// consent, an unknown identity) before the session does. A refusal gives the admission back and is audited.
    /// </summary>
    /// <exception cref="StreamRefusedException">the farm or a stage refused the stream</exception>
    public static async Task Admit(IServiceProvider services, NodeSettings settings, EdgeStreamOptions options, AuditLog audit, string sessionName,
        string identity, CancellationToken cancel = default)
    {
        var system = services.GetRequiredService<ActorSystem>();
        var registry = services.GetRequiredService<ActorRegistry>();
        var coordinator = registry.Get<PlacementCoordinatorKey>();
        try
        {
            await FarmAdmission.Admit(coordinator, options.StreamId, options.FramesPerSecond, Akka.Cluster.Cluster.Get(system).SelfAddress.ToString(),
                settings.Edge.Admission, settings.Edge.AdmissionWait, services.GetRequiredService<ILoggerFactory>().CreateLogger("edge"), cancel);
            await EdgeStream.Prepare(options, registry.Get<DetectRegion>(), registry.Get<SwapRegion>(), TimeSpan.FromSeconds(30));
        }
        catch (Exception e) when (e is StreamRefusedException or AskTimeoutException or OperationCanceledException)
        {
            services.GetService<NodeMetrics>()?.AdmissionRefused();
            FarmAdmission.Release(coordinator, options.StreamId);
            // Preparing may have started an entity before another refused: it holds nothing a refused stream needs.
            foreach (var region in new[] { registry.Get<DetectRegion>(), registry.Get<SwapRegion>() }) region.Tell(new Contracts.Stages.StopStream(options.StreamId));
            audit.Append(settings.Fsc.Actor, AuditKinds.SwapRefused, e.Message, sessionName, identity);
            throw;
        }
    }

    private static async Task<Result> Run(ActorSystem system, ActorRegistry registry, NodeSettings settings, string streamId, string source, string identity,
        string output, double framesPerSecond, IEnumerable<ModelManifest>? models, ProvenanceSigner signer, OutputMarks marks, EdgeStreamOptions options,
        AuditLog audit, string sessionName, StreamDirectory? directory)
    {
        audit.Append(settings.Fsc.Actor, AuditKinds.SessionStart, $"stream {streamId} from {source} -> {output}; fail mode {options.FailMode}, budget {options.BudgetMs} ms", sessionName, identity);
        if (!settings.Fsc.Label.Enabled)
            audit.Append(settings.Fsc.Actor, AuditKinds.LabelOff, $"visible label turned off in {settings.Fsc.Source}", sessionName, identity);

        using var sink = new VideoSink(output, framesPerSecond);
        var emitted = 0L;
        var timeline = new List<LatencyChart.Point>();
        var started = Stopwatch.GetTimestamp();
        var handle = EdgeStream.Run(system, FrameSources.For(source), options, registry.Get<DetectRegion>(), registry.Get<SwapRegion>(),
            Sink.ForEach<EmittedFrame>(frame =>
            {
                using (frame) sink.Write(frame.Image);
                emitted++;
                timeline.Add(new LatencyChart.Point(Stopwatch.GetElapsedTime(started).TotalSeconds, frame.AgeMs, frame.FailMode));
            }), marks);
        using var listed = directory?.Add(Akka.Cluster.Cluster.Get(system).SelfAddress.ToString(), identity, source, options, handle.Ledger);
        try
        {
            await handle.Completion;
        }
        catch (Exception e)
        {
            audit.Append(settings.Fsc.Actor, AuditKinds.SessionStop, $"stream {streamId} failed: {e.GetType().Name}: {e.Message}", sessionName, identity);
            throw;
        }
        sink.Complete();
        var elapsed = Stopwatch.GetElapsedTime(started);
        var stats = handle.Ledger.Snapshot();
        var described = new Dictionary<string, string>
        {
            ["stream"] = streamId,
            ["source"] = source,
            ["swap.engine"] = "built-in mesh swap",
            ["detect-every"] = options.Swap.DetectEvery.ToString(CultureInfo.InvariantCulture),
            ["fail-mode"] = options.FailMode.ToString(),
            ["budget-ms"] = options.BudgetMs.ToString(CultureInfo.InvariantCulture),
            ["jpeg-quality"] = options.JpegQuality.ToString(CultureInfo.InvariantCulture),
            ["label.enabled"] = settings.Fsc.Label.Enabled.ToString(CultureInfo.InvariantCulture),
            ["watermark"] = marks.Payload.ToString(),
            ["frames"] = $"{stats.Served} swapped, {stats.FailMode} fail-mode",
        };
        var record = ProvenanceRecord.ForOutput(output, identity, (models ?? []).Select(m => new ProvenanceModel(m.Name, m.Sha256)), described,
            DateTimeOffset.UtcNow, settings.Fsc.NodeName, sessionName);
        var sidecar = signer.WriteSidecar(output, record);
        audit.Append(settings.Fsc.Actor, AuditKinds.SessionStop,
            $"stream {streamId} ended: {stats.Offered} offered, {stats.Served} swapped, {stats.FailMode} fail-mode, {stats.DroppedTotal} dropped; output sha256 {record.OutputSha256}", sessionName, identity);
        return new Result(stats, elapsed, emitted, sessionName, sidecar, timeline, options.BudgetMs);
    }

    /// <summary>An H.264 file, opened at the first frame's size.</summary>
    private sealed class VideoSink(string path, double framesPerSecond) : IDisposable
    {
        private VideoFileWriter? _writer;

        public void Write(Mat frame)
        {
            _writer ??= new VideoFileWriter(path, new MediaInfo(frame.Width, frame.Height, framesPerSecond,
                $"{(int)Math.Round(framesPerSecond)}/1", 0, false, 0), audioFrom: null);
            _writer.Write(frame);
        }

        public void Complete() => _writer?.Complete();

        public void Dispose() => _writer?.Dispose();
    }
}
