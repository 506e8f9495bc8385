using OpenCvSharp;

namespace FaceSwap.Vision.Video;

/// <summary>
/// Encodes BGR frames to H.264 (yuv420p, so every player reads it) through an ffmpeg pipe, at the input's exact
/// frame rate, and copies the audio of <c>audioFrom</c> when it has any.
/// </summary>
public sealed class VideoFileWriter : IDisposable
{
    private readonly System.Diagnostics.Process _ffmpeg;
    private readonly Stream _pixels;
    private readonly byte[] _buffer;
    private readonly Task<string> _errors;
    private readonly string _path;

    public VideoFileWriter(string path, MediaInfo info, string? audioFrom, int crf = 18)
    {
        _path = path;
        _buffer = new byte[info.Width * info.Height * 3];
        List<string> arguments = ["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", $"{info.Width}x{info.Height}", "-r", info.FrameRate, "-i", "-"];
        if (audioFrom is not null && info.HasAudio) arguments.AddRange(["-i", audioFrom, "-map", "0:v:0", "-map", "1:a", "-c:a", "aac", "-b:a", "160k"]);
        arguments.AddRange(["-c:v", "libx264", "-preset", "veryfast", "-crf", crf.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-pix_fmt", "yuv420p", "-fps_mode", "passthrough", "-movflags", "+faststart", path]);
        _ffmpeg = Ffmpeg.Start("ffmpeg", arguments, redirectInput: true);
        _pixels = _ffmpeg.StandardInput.BaseStream;
        _errors = _ffmpeg.StandardError.ReadToEndAsync();
    }

    public void Write(Mat frame)
    {
        if (frame.Type() != MatType.CV_8UC3 || (long)frame.Width * frame.Height * 3 != _buffer.Length)
            throw new ArgumentException($"frame {frame.Width}x{frame.Height} {frame.Type()} does not match the video");
        if (frame.IsContinuous()) System.Runtime.InteropServices.Marshal.Copy(frame.Data, _buffer, 0, _buffer.Length);
        else using (var copy = frame.Clone()) System.Runtime.InteropServices.Marshal.Copy(copy.Data, _buffer, 0, _buffer.Length);
        _pixels.Write(_buffer);
    }

    /// <summary>Closes the stream and waits for ffmpeg to finish the file.</summary>
    public void Complete()
    {
        _pixels.Close();
        _ffmpeg.WaitForExit();
        if (_ffmpeg.ExitCode != 0) throw new ImageFileException(_path, $"ffmpeg could not encode it: {_errors.Result.Trim()}");
    }

    public void Dispose()
    {
        if (!_ffmpeg.HasExited)
        {
            _ffmpeg.Kill();
            _ffmpeg.WaitForExit(); // so a caller deleting the partial file does not race ffmpeg's last write
        }
        _ffmpeg.Dispose();
    }
}
