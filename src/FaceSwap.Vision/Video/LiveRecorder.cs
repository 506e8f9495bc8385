using System.Globalization;
using OpenCvSharp;

namespace FaceSwap.Vision.Video;

/// <summary>
/// Records a live stream's output to mp4 (H.264 yuv420p, AAC audio from the ingest's PCM file when given) on the
/// SOURCE's timeline: output frame k is source frame k's time, whatever the stream dropped on the way.
/// </summary>
/// <remarks>
/// The video is encoded as it comes to a temporary file next to <c>path</c>; <see cref="Complete"/> then muxes it
/// (copied, not re-encoded) with the PCM encoded to AAC, padded or trimmed to exactly the video's length. Both
/// start at t = 0: frame 0 and PCM sample 0 are the source's start (see <see cref="LiveIngest"/>), so the sync is
/// that of the ingest, within the AAC encoder's delay, which the mp4 edit list removes.
/// </remarks>
public sealed class LiveRecorder : IDisposable
{
    private readonly string _videoTemp;
    private readonly string? _audioPcmPath;
    private System.Diagnostics.Process? _ffmpeg;
    private LiveIngest.StderrTail? _errors;
    private Stream? _pixels;
    private byte[] _buffer = [];
    private byte[] _previous = [];
    private int _width, _height;
    private bool _completed;

    /// <param name="path">the mp4 to write (replaced if it exists)</param>
    /// <param name="fps">the source's frame rate: frame k is at k / fps</param>
    /// <param name="audioPcmPath">the source's audio as raw PCM s16le 48 kHz stereo from sample 0 = frame 0 (<see cref="LiveIngest.AudioPath"/>), or null for none</param>
    public LiveRecorder(string path, double fps, string? audioPcmPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!(fps > 0 && fps <= 1000)) throw new ArgumentOutOfRangeException(nameof(fps), fps, "the frame rate must be in (0, 1000]");
        Path = System.IO.Path.GetFullPath(path);
        FramesPerSecond = fps;
        _audioPcmPath = audioPcmPath;
        _videoTemp = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Path)!, $".{System.IO.Path.GetFileNameWithoutExtension(Path)}.{Guid.NewGuid():N}.video.mp4");
    }

    public string Path { get; }
    public double FramesPerSecond { get; }

    /// <summary>The last source index written, -1 before the first.</summary>
    public long LastSequence { get; private set; } = -1;

    /// <summary>Frames given to <see cref="Write"/>.</summary>
    public long Written { get; private set; }

    /// <summary>Frames filled in for missing source indices by repeating the frame before (or the first one, for a late start).</summary>
    public long Repeated { get; private set; }

    /// <summary>
    /// Records source frame <paramref name="sequence"/>. Indices must increase; any skipped ones are filled with
    /// the previous frame, so the recording keeps the source's timing.
    /// </summary>
    public void Write(long sequence, Mat frame)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        if (sequence <= LastSequence) throw new ArgumentException($"frame {sequence} comes after frame {LastSequence}: source indices must increase", nameof(sequence));
        if (frame.Type() != MatType.CV_8UC3) throw new ArgumentException($"frame {sequence} is {frame.Type()}, not 8-bit BGR", nameof(frame));
        if (_ffmpeg is null) Start(frame.Width, frame.Height);
        else if (frame.Width != _width || frame.Height != _height)
            throw new ArgumentException($"frame {sequence} is {frame.Width}x{frame.Height}, the recording {_width}x{_height}", nameof(frame));

        if (frame.IsContinuous()) System.Runtime.InteropServices.Marshal.Copy(frame.Data, _buffer, 0, _buffer.Length);
        else using (var copy = frame.Clone()) System.Runtime.InteropServices.Marshal.Copy(copy.Data, _buffer, 0, _buffer.Length);
        // A late first frame also stands in for the ones before it; later gaps repeat the frame before the gap.
        var fill = LastSequence < 0 ? _buffer : _previous;
        for (var k = LastSequence + 1; k < sequence; k++)
        {
            Push(fill);
            Repeated++;
        }
        Push(_buffer);
        (_previous, _buffer) = (_buffer, _previous);
        LastSequence = sequence;
        Written++;
    }

    /// <summary>Finishes the mp4: LastSequence + 1 frames, with the audio (when given) trimmed or padded to their length.</summary>
    /// <exception cref="ImageFileException">ffmpeg could not encode or mux; its stderr says why</exception>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (_ffmpeg is null) throw new InvalidOperationException($"{Path}: no frame was recorded");
        _completed = true;
        _pixels!.Close();
        _ffmpeg.WaitForExit();
        Task.WaitAny([_errors!.Ended], TimeSpan.FromSeconds(5));
        if (_ffmpeg.ExitCode != 0) throw new ImageFileException(Path, $"ffmpeg could not encode the video (exit {_ffmpeg.ExitCode}): {_errors.Text()}");

        if (_audioPcmPath is null)
        {
            File.Move(_videoTemp, Path, overwrite: true);
            return;
        }
        if (!File.Exists(_audioPcmPath)) throw new ImageFileException(_audioPcmPath, "the audio PCM file to record is not there");
        var samples = (long)Math.Round((LastSequence + 1) / FramesPerSecond * LiveIngest.AudioSampleRate);
        var rate = LiveIngest.AudioSampleRate.ToString(CultureInfo.InvariantCulture);
        Ffmpeg.Run("ffmpeg", ["-v", "error", "-nostdin", "-y", "-i", _videoTemp,
            "-f", "s16le", "-ar", rate, "-ac", LiveIngest.AudioChannels.ToString(CultureInfo.InvariantCulture), "-i", _audioPcmPath,
            "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy",
            // Exactly the video's length in samples: padded with silence if the PCM is short (still being written), cut if long.
            "-af", $"apad=whole_len={samples},atrim=end_sample={samples}", "-c:a", "aac", "-b:a", "160k",
            "-movflags", "+faststart", Path], Path);
        File.Delete(_videoTemp);
    }

    public void Dispose()
    {
        if (_ffmpeg is not null)
        {
            try
            {
                if (!_ffmpeg.HasExited)
                {
                    _ffmpeg.Kill();
                    _ffmpeg.WaitForExit(); // before deleting the file it writes
                }
            }
            catch (InvalidOperationException)
            {
                // it exited between the check and the kill
            }
            _ffmpeg.Dispose();
        }
        _completed = true;
        if (File.Exists(_videoTemp)) File.Delete(_videoTemp);
    }

    private void Start(int width, int height)
    {
        (_width, _height) = (width, height);
        _buffer = new byte[width * height * 3];
        _previous = new byte[_buffer.Length];
        var gop = Math.Max(1, (int)Math.Round(FramesPerSecond * 2)).ToString(CultureInfo.InvariantCulture);
        _ffmpeg = Ffmpeg.Start("ffmpeg", ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", $"{width}x{height}", "-r", FrameRate.Format(FramesPerSecond), "-i", "pipe:0",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-g", gop,
            "-fps_mode", "passthrough", "-an", _videoTemp], redirectInput: true);
        _errors = new LiveIngest.StderrTail(_ffmpeg.StandardError);
        _pixels = _ffmpeg.StandardInput.BaseStream;
    }

    private void Push(byte[] pixels)
    {
        try
        {
            _pixels!.Write(pixels);
        }
        catch (IOException e)
        {
            // ffmpeg has gone (a full disk, say): its stderr says why, the broken pipe does not
            _ffmpeg!.WaitForExit(5000);
            Task.WaitAny([_errors!.Ended], TimeSpan.FromSeconds(5));
            throw new ImageFileException(Path, $"ffmpeg stopped encoding at frame {LastSequence + 1} ({e.Message}): {_errors.Text()}");
        }
    }
}
