using System.Collections.Concurrent;
using System.Threading.Channels;
using FaceSwap.Edge;
using FaceSwap.Vision;
using Microsoft.Extensions.Logging;
using OpenCvSharp;

namespace FaceSwap.Node.Live;

/// <summary>What a live stream was started with.</summary>
/// <param name="StreamId">null: a fresh <c>live-</c> id</param>
/// <param name="Source">where the frames come from, as the stream list shows it: "websocket" or the URL or device</param>
/// <param name="Record">an mp4 to record the output to (with the source's audio, for URL sources), or null</param>
/// <param name="Push">a URL (udp:// MPEG-TS, rtsp://, srt://) or a v4l2loopback device to push the output to, or null</param>
public sealed record LiveStart(string? StreamId, string Identity, double FramesPerSecond, string Source, LiveControls? Controls = null,
    string? Record = null, string? Push = null);

/// <summary>
/// One running live stream on this edge: its controls, its outputs (the viewers: page sockets and MJPEG clients; a
/// recording; a push), and the map from its frame numbers to the capture times its client sent, echoed with each
/// output frame. The graph's sink calls <see cref="Deliver"/>; an output that fails is logged and dropped, the
/// stream goes on.
/// </summary>
public sealed class LiveSession
{
    private readonly ConcurrentDictionary<int, Channel<LiveFrame>> _viewers = new();
    private readonly ConcurrentDictionary<long, double> _clientTimes = new();
    private readonly List<ILiveOutput> _outputs;
    private readonly ILogger _logger;
    private readonly int _jpegQuality;
    private readonly Action _stop;
    private int _nextViewer;

    public LiveSession(LiveStart start, string streamId, string sessionName, StreamControls controls, IReadOnlyList<ILiveOutput> outputs,
        int jpegQuality, Action stop, ILogger logger)
    {
        Start = start;
        StreamId = streamId;
        SessionName = sessionName;
        Controls = controls;
        _outputs = [.. outputs];
        _jpegQuality = jpegQuality;
        _stop = stop;
        _logger = logger;
    }

    public LiveStart Start { get; }
    public string StreamId { get; }
    public string SessionName { get; }
    public StreamControls Controls { get; }
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;
    public EdgeStreamHandle? Handle { get; internal set; }
    public required EdgeStreamOptions Options { get; init; }
    /// <summary>Completes when the stream has ended and its outputs are finished (a recording muxed and signed).</summary>
    public Task Completion => Ended.Task;
    internal TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public IReadOnlyList<ILiveOutput> Outputs => _outputs;
    public int Viewers => _viewers.Count;

    private (long Emitted, long At) _sample = (0, System.Diagnostics.Stopwatch.GetTimestamp());

    /// <summary>Frames emitted a second since the last call (each viewer's stats message calls it once a second).</summary>
    public double RecentFps(long emitted)
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        var (before, at) = _sample;
        _sample = (emitted, now);
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(at, now).TotalSeconds;
        return seconds > 0 ? Math.Round((emitted - before) / seconds, 1) : 0;
    }

    /// <summary>The reason every stream is stopped with when its node stops (its client may start it again elsewhere).</summary>
    public const string ShuttingDown = "the edge is shutting down";

    /// <summary>Why the stream was stopped on purpose (by its client, an operator, the node stopping); null while it runs or when it failed.</summary>
    public string? StoppedBecause { get; private set; }

    /// <summary>Ends the stream: capture stops, what is in flight still finishes.</summary>
    /// <param name="because">who stopped it, as its client is told ("stopped by an operator")</param>
    public void Stop(string because)
    {
        StoppedBecause ??= because;
        _stop();
    }

    /// <summary>The capture time a client sent with frame <paramref name="seq"/>, echoed with its output.</summary>
    public void ClientTime(long seq, double time) => _clientTimes[seq] = time;

    /// <summary>A viewer's frames: only the newest waits (a slow viewer skips frames, never slows the stream). Dispose to leave.</summary>
    public (ChannelReader<LiveFrame> Frames, IDisposable Leave) Watch()
    {
        var id = Interlocked.Increment(ref _nextViewer);
        var channel = Channel.CreateBounded<LiveFrame>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
        _viewers[id] = channel;
        return (channel.Reader, new Leave(() =>
        {
            if (_viewers.TryRemove(id, out var left)) left.Writer.TryComplete();
        }));
    }

    /// <summary>The graph's sink (one thread at a time): one emitted (marked) frame to every output; the frame is disposed here.</summary>
    public void Deliver(EmittedFrame frame)
    {
        using (frame)
        {
            var clientTime = _clientTimes.TryRemove(frame.Seq, out var t) ? t : double.NaN;
            // Frames that never came out (dropped) leave their times behind: forget everything older.
            if (_clientTimes.Count > 64)
                foreach (var old in _clientTimes.Keys.Where(k => k < frame.Seq)) _clientTimes.TryRemove(old, out _);
            if (!_viewers.IsEmpty)
            {
                var live = new LiveFrame(frame.Seq, ImageCodec.EncodeJpeg(frame.Image, _jpegQuality), frame.FailMode, frame.AgeMs, clientTime);
                foreach (var viewer in _viewers.Values) viewer.Writer.TryWrite(live);
            }
            foreach (var output in _outputs.ToArray())
            {
                try
                {
                    output.Write(frame.Seq, frame.Image);
                }
                catch (Exception e)
                {
                    _logger.LogError(e, "stream {Stream}: output {Output} failed; the stream goes on without it", StreamId, output.Describe);
                    _outputs.Remove(output);
                    output.Dispose();
                }
            }
        }
    }

    /// <summary>Ends every viewer (the stream has ended).</summary>
    internal void CloseViewers()
    {
        foreach (var viewer in _viewers.Values) viewer.Writer.TryComplete();
        _viewers.Clear();
        _clientTimes.Clear();
    }

    private sealed class Leave(Action leave) : IDisposable
    {
        private int _left;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0) leave();
        }
    }
}
