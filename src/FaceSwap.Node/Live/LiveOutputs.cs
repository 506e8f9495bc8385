using FaceSwap.Vision.Video;
using OpenCvSharp;

namespace FaceSwap.Node.Live;

/// <summary>A live stream's file and push outputs, made from its start request; each opens at its first frame (the frame's size).</summary>
public static class LiveOutputs
{
    /// <param name="audioPath">the source's sound, written beside its frames on the same clock (URL sources), for the recording</param>
    /// <exception cref="LiveRefusedException">a recording path or push URL that cannot be used</exception>
    public static IReadOnlyList<ILiveOutput> For(LiveStart start, LiveSettings live, double fps, string? audioPath)
    {
        var outputs = new List<ILiveOutput>();
        if (start.Record is { Length: > 0 } record) outputs.Add(new Recording(RecordingPath(record, live), fps, audioPath));
        if (start.Push is { Length: > 0 } push)
        {
            try
            {
                StreamPush.ArgumentsFor(push, 640, 480, fps);
            }
            catch (ArgumentException e)
            {
                throw new LiveRefusedException(e.Message);
            }
            outputs.Add(new Push(push, fps));
        }
        return outputs;
    }

    /// <summary>A bare file name lands in the recordings folder; a path must be an .mp4 in a folder that exists.</summary>
    public static string RecordingPath(string record, LiveSettings live)
    {
        var path = Path.GetFileName(record) == record ? Path.Combine(live.Recordings, record) : Path.GetFullPath(record);
        if (!path.EndsWith(".mp4", StringComparison.OrdinalIgnoreCase)) throw new LiveRefusedException($"recording '{record}' must be an .mp4 file");
        if (Path.GetFileName(record) == record) Directory.CreateDirectory(live.Recordings);
        else if (!Directory.Exists(Path.GetDirectoryName(path))) throw new LiveRefusedException($"recording '{record}': no folder {Path.GetDirectoryName(path)}");
        if (File.Exists(path)) throw new LiveRefusedException($"recording '{record}': {path} exists; recordings are never overwritten", conflict: true);
        return path;
    }

    /// <summary>
    /// An mp4 on the source's timeline (a frame it never got repeats the one before), with the source's sound when it
    /// has any. Frames wait in a queue of a second for the encoder, so a slow disk or encoder never holds the stream up;
    /// beyond that a frame is left out (and filled in like a dropped one).
    /// </summary>
    private sealed class Recording : ILiveOutput
    {
        private readonly string _path;
        private readonly LiveRecorder _recorder;
        private readonly System.Threading.Channels.Channel<(long Seq, Mat Frame)> _queue;
        private readonly Task _writer;

        public Recording(string path, double fps, string? audioPath)
        {
            _path = path;
            _recorder = new LiveRecorder(path, fps, audioPath);
            _queue = System.Threading.Channels.Channel.CreateBounded<(long, Mat)>((int)Math.Ceiling(fps));
            _writer = Task.Run(async () =>
            {
                await foreach (var (seq, frame) in _queue.Reader.ReadAllAsync())
                    using (frame) _recorder.Write(seq, frame);
            });
        }

        public string Describe => $"record {_path}";

        public void Write(long seq, Mat frame)
        {
            if (_writer.IsFaulted) _writer.GetAwaiter().GetResult(); // the encoder failed: say why, once
            var copy = frame.Clone();
            if (!_queue.Writer.TryWrite((seq, copy))) copy.Dispose();
        }

        public string? Complete()
        {
            _queue.Writer.TryComplete();
            _writer.GetAwaiter().GetResult();
            if (_recorder.LastSequence < 0) return null; // no frame came: no file
            _recorder.Complete();
            return _path;
        }

        public void Dispose()
        {
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var waiting)) waiting.Frame.Dispose();
            _recorder.Dispose();
        }
    }

    /// <summary>A push to a URL or a v4l2loopback device; it drops frames rather than hold the stream up.</summary>
    private sealed class Push(string url, double fps) : ILiveOutput
    {
        private StreamPush? _push;

        public string Describe => $"push {url}";

        public void Write(long seq, Mat frame)
        {
            _push ??= new StreamPush(url, frame.Width, frame.Height, fps);
            _push.Write(frame);
        }

        public string? Complete()
        {
            _push?.Complete();
            return null;
        }

        public void Dispose() => _push?.Dispose();
    }
}
