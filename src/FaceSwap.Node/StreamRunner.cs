using System.Diagnostics;
using System.Security.Cryptography;
using Akka.Actor;
using Akka.Hosting;
using Akka.Streams.Dsl;
using FaceSwap.Cluster;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Edge.Sources;
using FaceSwap.Governance.Audit;
using FaceSwap.Vision.Marks;
using FaceSwap.Vision.Video;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenCvSharp;

namespace FaceSwap.Node;

/// <summary>Runs one stream on an edge node, from a source to a video file, marked and audited; returns its figures.</summary>
public static class StreamRunner
{
    public sealed record Result(StreamStats Stats, TimeSpan Elapsed, long Emitted, string Session);

    /// <summary>Waits until this node is Up in the cluster: the regions can route from then on.</summary>
    public static async Task<ActorSystem> WhenUp(IHost host, TimeSpan timeout)
    {
        var system = host.Services.GetRequiredService<ActorSystem>();
        var up = new TaskCompletionSource();
        Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(timeout);
        return system;
    }

    public static async Task<Result> ToFile(IHost host, NodeSettings settings, string streamId, string source, string identity, string output, double framesPerSecond)
    {
        var system = host.Services.GetRequiredService<ActorSystem>();
        var registry = host.Services.GetRequiredService<ActorRegistry>();
        var session = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) & WatermarkPayload.MaxSession;
        var sessionName = session.ToString("x12");
        var marks = new OutputMarks(settings.Fsc.Label, WatermarkPayload.For(settings.Fsc.NodeName, session));
        var options = settings.Edge.For(streamId, new StreamSettings(identity, FramesPerSecond: (float)framesPerSecond), framesPerSecond, settings.MaxFrameSize / 2);
        using var audit = new AuditLog(settings.Fsc.AuditDatabase, settings.Fsc.NodeName);
        audit.Append(settings.Fsc.Actor, AuditKinds.SessionStart, $"stream {streamId} from {source} -> {output}; fail mode {options.FailMode}, budget {options.BudgetMs} ms", sessionName, identity);
        if (!settings.Fsc.Label.Enabled)
            audit.Append(settings.Fsc.Actor, AuditKinds.LabelOff, $"visible label turned off in {settings.Fsc.Source}", sessionName, identity);

        using var sink = new VideoSink(output, framesPerSecond);
        var emitted = 0L;
        var started = Stopwatch.GetTimestamp();
        var handle = EdgeStream.Run(system, FrameSources.For(source), options, registry.Get<DetectRegion>(), registry.Get<SwapRegion>(),
            Sink.ForEach<EmittedFrame>(frame =>
            {
                using (frame) sink.Write(frame.Image);
                emitted++;
            }), marks);
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
        audit.Append(settings.Fsc.Actor, AuditKinds.SessionStop,
            $"stream {streamId} ended: {stats.Offered} offered, {stats.Served} swapped, {stats.FailMode} fail-mode, {stats.DroppedTotal} dropped", sessionName, identity);
        return new Result(stats, elapsed, emitted, sessionName);
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
