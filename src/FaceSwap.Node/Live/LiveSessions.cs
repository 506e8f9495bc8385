using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Akka;
using Akka.Actor;
using Akka.Hosting;
using Akka.Streams.Dsl;
using Akka.Util;
using FaceSwap.Cluster;
using FaceSwap.Cluster.Placement;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Edge.Sources;
using FaceSwap.Governance.Audit;
using FaceSwap.Governance.Provenance;
using FaceSwap.Node.Management;
using FaceSwap.Vision.Marks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenCvSharp;

namespace FaceSwap.Node.Live;

/// <summary>A live stream could not start: the reason, for the client.</summary>
/// <param name="Conflict">a limit or a name already taken (409), rather than a bad request (400)</param>
public sealed class LiveRefusedException(string message, bool conflict = false) : Exception(message)
{
    public bool Conflict { get; } = conflict;
}

/// <summary>
/// The live streams of this edge, of every source: page sockets, URLs and cameras. Starts each one the way every
/// stream starts (admitted by the farm, its entities prepared, its session audited, its output marked), runs it,
/// and when it ends for any reason (the client stopped or vanished, the source ended, the node stops) cleans up:
/// viewers closed, outputs finished (a recording muxed and signed), the farm's share given back, the stage entities
/// told to stop, the session audited as ended.
/// </summary>
public sealed partial class LiveSessions(NodeSettings settings, IServiceProvider services) : IDisposable
{
    private readonly ConcurrentDictionary<string, LiveSession> _sessions = new(StringComparer.Ordinal);
    private readonly ILogger _logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("live");
    private int _starting;

    public IReadOnlyCollection<LiveSession> All => [.. _sessions.Values];

    public LiveSession? Get(string streamId) => _sessions.TryGetValue(streamId, out var session) ? session : null;

    /// <summary>A stream whose client sends the frames (the page): the writer takes each decoded frame with the client's capture time.</summary>
    public async Task<(LiveSession Session, ChannelWriter<(Mat Frame, double ClientTime)> Frames)> StartSocket(LiveStart start, CancellationToken cancel)
    {
        // Only the newest frame waits: a stale frame is worth nothing, and the socket never blocks on the graph.
        var channel = Channel.CreateBounded<(Mat Frame, double ClientTime)>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => dropped.Frame.Dispose());
        LiveSession? session = null;
        long seq = 0;
        var frames = Source.UnfoldAsync<int, (Mat Frame, double ClientTime)>(0, async _ =>
                await channel.Reader.WaitToReadAsync() && channel.Reader.TryRead(out var item) ? Option<(int, (Mat, double))>.Create((0, item)) : Option<(int, (Mat, double))>.None)
            // The graph numbers frames in the order they leave here: the same number maps to the client's capture time.
            .Select(item =>
            {
                session!.ClientTime(seq++, item.ClientTime);
                return item.Frame;
            });
        try
        {
            session = await Run(start, frames, () => channel.Writer.TryComplete(), audioPath: null, cancel);
        }
        catch
        {
            channel.Writer.TryComplete();
            throw;
        }
        // A frame the client sent as the stream ended never reaches the graph: free it.
        _ = session.Completion.ContinueWith(_ =>
        {
            channel.Writer.TryComplete();
            while (channel.Reader.TryRead(out var left)) left.Frame.Dispose();
        }, TaskScheduler.Default);
        return (session, channel.Writer);
    }

    /// <summary>A stream from a URL (RTSP, HTTP, UDP MPEG-TS, SRT) or a V4L2 camera, through FFmpeg (<c>fsc stream start</c>).</summary>
    public Task<LiveSession> StartCapture(LiveStart start, CancellationToken cancel)
    {
        if (!FrameSources.IsCapture(start.Source))
            throw new LiveRefusedException($"source '{start.Source}' is not a camera (/dev/videoN) or a stream URL (rtsp://, http(s)://, udp://, srt://)");
        // A recording keeps the source's sound: FFmpeg writes it beside the frames, on the same clock.
        var audio = start.Record is null ? null : Path.Combine(Path.GetTempPath(), $"fsc-live-{Guid.NewGuid():n}.pcm");
        // FFmpeg delivers the stream's declared rate (dropping or repeating the source's frames), so the recording's
        // frame n is at n / fps on the source's clock.
        return Run(start, FrameSources.Capture(start.Source, audio, start.FramesPerSecond), stopSource: null, audio, cancel);
    }

    /// <summary>Ends a stream; false when no such stream runs here.</summary>
    public bool Stop(string streamId)
    {
        if (!_sessions.TryGetValue(streamId, out var session)) return false;
        session.Stop("stopped by an operator");
        return true;
    }

    /// <summary>Changes a stream's controls from its next frame; the change is audited.</summary>
    /// <exception cref="ArgumentException">a value out of range</exception>
    public LiveControls Change(LiveSession session, LiveControls change, string actor)
    {
        var next = change.Apply(session.Controls.Now, EnhancerPlaced);
        session.Controls.Set(next);
        var now = LiveControls.Of(next, settings.Fsc.Label.Text);
        using (var audit = new AuditLog(settings.Fsc.AuditDatabase, settings.Fsc.NodeName))
            audit.Append(actor, AuditKinds.SettingsChanged, $"stream {session.StreamId}: {System.Text.Json.JsonSerializer.Serialize(change)}", session.SessionName, session.Start.Identity);
        return now;
    }

    /// <summary>A stream's controls now, every key set.</summary>
    public LiveControls Describe(LiveSession session) => LiveControls.Of(session.Controls.Now, settings.Fsc.Label.Text);

    /// <summary>The page's figures for a stream (docs/live.md, the stats message).</summary>
    public object Stats(LiveSession session) => LiveStats.Of(session);

    private bool EnhancerPlaced(string name) => PlacementView.For(services.GetRequiredService<ActorSystem>()).Plan.Models.Any(m => m.Model == name && m.Nodes.Length > 0);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex StreamIdPattern();

    private async Task<LiveSession> Run(LiveStart start, Source<Mat, NotUsed> frames, Action? stopSource, string? audioPath, CancellationToken cancel)
    {
        var live = settings.Live;
        if (!settings.Has(Roles.Edge)) throw new LiveRefusedException($"this node ({string.Join(",", settings.Roles)}) is not an edge: start streams on an edge node");
        if (!(start.FramesPerSecond > 0 && start.FramesPerSecond <= live.MaxFps))
            throw new LiveRefusedException($"fps {start.FramesPerSecond} is not in (0, {live.MaxFps}] (faceswap.live.max-fps)");
        var streamId = start.StreamId ?? $"live-{Guid.NewGuid():n}"[..13];
        if (!StreamIdPattern().IsMatch(streamId)) throw new LiveRefusedException($"stream id '{streamId}' must be 1 to 64 letters, digits, '.', '_' or '-'");
        if (Interlocked.Increment(ref _starting) + _sessions.Count > live.MaxStreams)
        {
            Interlocked.Decrement(ref _starting);
            throw new LiveRefusedException($"this edge runs {_sessions.Count} streams, its limit (faceswap.live.max-streams = {live.MaxStreams}): try another edge or later", conflict: true);
        }
        var outputs = new List<ILiveOutput>();
        AuditLog? audit = null;
        try
        {
            if (_sessions.ContainsKey(streamId)) throw new LiveRefusedException($"stream {streamId} runs on this edge already", conflict: true);
            // A recording leaves signed, as every output file does: no key, no recording (said now, not when it ends).
            if (start.Record is { Length: > 0 } && !File.Exists(settings.Fsc.SigningKey))
                throw new LiveRefusedException($"--record needs the provenance signing key, and {settings.Fsc.SigningKey} does not exist (faceswap.provenance.signing-key; make one with 'fsc keys generate')");
            var initial = new StreamControls.Values(new StreamSettings(start.Identity, FramesPerSecond: (float)start.FramesPerSecond), settings.Edge.FailMode, null);
            StreamControls.Values values;
            try
            {
                values = start.Controls?.Apply(initial, EnhancerPlaced) ?? initial;
            }
            catch (ArgumentException e)
            {
                throw new LiveRefusedException(e.Message);
            }
            var controls = new StreamControls(values);
            var options = settings.Edge.For(streamId, values.Swap, start.FramesPerSecond, settings.MaxFrameSize - 64 * 1024)
                with { Observer = services.GetService<NodeMetrics>(), Controls = controls, FailMode = values.FailMode };
            var (sessionNumber, sessionName) = StreamRunner.NewSession();
            outputs.AddRange(LiveOutputs.For(start, live, start.FramesPerSecond, audioPath));

            audit = new AuditLog(settings.Fsc.AuditDatabase, settings.Fsc.NodeName);
            await StreamRunner.Admit(services, settings, options, audit, sessionName, start.Identity, cancel);
            audit.Append(settings.Fsc.Actor, AuditKinds.SessionStart,
                $"live stream {streamId} from {start.Source} at {start.FramesPerSecond:0.#} fps; fail mode {values.FailMode}, budget {options.BudgetMs} ms" +
                string.Concat(outputs.Select(o => $"; {o.Describe}")), sessionName, start.Identity);

            var system = services.GetRequiredService<ActorSystem>();
            var registry = services.GetRequiredService<ActorRegistry>();
            var marks = new OutputMarks(settings.Fsc.Label, WatermarkPayload.For(settings.Fsc.NodeName, sessionNumber));
            EdgeStreamHandle? handle = null;
            var session = new LiveSession(start, streamId, sessionName, controls, outputs, settings.Edge.JpegQuality,
                () =>
                {
                    stopSource?.Invoke();
                    handle?.Capture.Shutdown();
                }, _logger) { Options = options };
            handle = EdgeStream.Run(system, frames, options, registry.Get<DetectRegion>(), registry.Get<SwapRegion>(),
                Sink.ForEach<EmittedFrame>(session.Deliver), marks);
            session.Handle = handle;
            _sessions[streamId] = session;
            var listed = services.GetService<StreamDirectory>()?.Add(Akka.Cluster.Cluster.Get(system).SelfAddress.ToString(), start.Identity, start.Source, options, handle.Ledger);
            _logger.LogInformation("live stream {Stream} started from {Source} for identity {Identity} at {Fps:0.#} fps (session {Session})",
                streamId, start.Source, start.Identity, start.FramesPerSecond, sessionName);
            _ = Finish(session, handle, audit, listed, audioPath);
            audit = null; // Finish owns it now
            return session;
        }
        catch
        {
            foreach (var output in outputs) output.Dispose();
            if (audioPath is not null) File.Delete(audioPath);
            throw;
        }
        finally
        {
            audit?.Dispose();
            Interlocked.Decrement(ref _starting);
        }
    }

    /// <summary>After the stream's graph ends, for whatever reason: everything it held is given back.</summary>
    private async Task Finish(LiveSession session, EdgeStreamHandle handle, AuditLog audit, IDisposable? listed, string? audioPath)
    {
        var streamId = session.StreamId;
        string how;
        try
        {
            await handle.Completion;
            how = "ended";
        }
        catch (Exception e)
        {
            _logger.LogError(e, "live stream {Stream} (source {Source}) failed", streamId, session.Start.Source);
            how = $"failed: {e.GetType().Name}: {e.Message}";
        }
        try
        {
            session.CloseViewers();
            listed?.Dispose();
            FarmAdmission.Release(services.GetRequiredService<ActorRegistry>().Get<PlacementCoordinatorKey>(), streamId);
            var files = new List<string>();
            foreach (var output in session.Outputs)
            {
                try
                {
                    if (output.Complete() is { } file) files.Add(Sign(session, file));
                }
                catch (Exception e)
                {
                    _logger.LogError(e, "live stream {Stream}: finishing {Output} failed", streamId, output.Describe);
                    how += $"; {output.Describe} failed: {e.Message}";
                }
                finally
                {
                    output.Dispose();
                }
            }
            var stats = handle.Ledger.Snapshot();
            audit.Append(settings.Fsc.Actor, AuditKinds.SessionStop,
                $"live stream {streamId} {how}: {stats.Offered} offered, {stats.Served} swapped, {stats.FailMode} fail-mode, {stats.DroppedTotal} dropped" +
                string.Concat(files.Select(f => $"; wrote {f}")), session.SessionName, session.Start.Identity);
            _logger.LogInformation("live stream {Stream} {How}: {Served} swapped, {FailMode} fail-mode, {Dropped} dropped ({Drops}); longest output gap {Gap:0} ms",
                streamId, how, stats.Served, stats.FailMode, stats.DroppedTotal, string.Join(", ", stats.Dropped.Select(d => $"{d.Key} {d.Value}")), stats.MaxOutputGapMs);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "live stream {Stream}: cleaning up failed", streamId);
        }
        finally
        {
            audit.Dispose();
            if (audioPath is not null && File.Exists(audioPath)) File.Delete(audioPath);
            _sessions.TryRemove(new KeyValuePair<string, LiveSession>(streamId, session));
            session.Ended.TrySetResult();
        }
    }

    /// <summary>A recording leaves with its signed provenance record, as every file output does.</summary>
    private string Sign(LiveSession session, string file)
    {
        using var signer = ProvenanceSigner.Load(settings.Fsc.SigningKey);
        var values = session.Controls.Now;
        var record = ProvenanceRecord.ForOutput(file, session.Start.Identity, [], new Dictionary<string, string>
        {
            ["stream"] = session.StreamId,
            ["source"] = session.Start.Source,
            ["swap.engine"] = "built-in mesh swap",
            ["fps"] = session.Start.FramesPerSecond.ToString(CultureInfo.InvariantCulture),
            ["fail-mode"] = values.FailMode.ToString(),
            ["label"] = values.Label ?? settings.Fsc.Label.Text,
        }, DateTimeOffset.UtcNow, settings.Fsc.NodeName, session.SessionName);
        signer.WriteSidecar(file, record);
        return file;
    }

    /// <summary>Stops every stream and waits (up to <paramref name="wait"/>) for them to finish: the node is stopping.</summary>
    public async Task StopAll(TimeSpan wait)
    {
        var sessions = _sessions.Values.ToList();
        foreach (var session in sessions) session.Stop(LiveSession.ShuttingDown);
        await Task.WhenAll(sessions.Select(s => s.Completion)).WaitAsync(wait).ContinueWith(t =>
        {
            if (t.IsFaulted) _logger.LogWarning("live: {Count} streams had not finished {Wait} after the node began stopping", sessions.Count(s => !s.Completion.IsCompleted), wait);
        }, TaskScheduler.Default);
    }

    public void Dispose()
    {
        foreach (var session in _sessions.Values) session.Stop(LiveSession.ShuttingDown);
    }
}
