using OpenCvSharp;

namespace FaceSwap.Vision.Video;

/// <summary>Decodes every frame of a video (a file, or a live camera or network stream) to BGR through an ffmpeg pipe: no frame dropped or duplicated.</summary>
public sealed class VideoFileReader : IDisposable
{
    private readonly System.Diagnostics.Process _ffmpeg;
    private readonly Stream _pixels;
    private readonly byte[] _buffer;
    private readonly Task<string> _errors;

    /// <param name="inputArguments">ffmpeg options for the input, before <c>-i</c> (a live source's format, say)</param>
    public VideoFileReader(string path, MediaInfo info, IReadOnlyList<string>? inputArguments = null)
    {
        Info = info;
        _buffer = new byte[info.Width * info.Height * 3];
        _ffmpeg = Ffmpeg.Start("ffmpeg", ["-v", "error", .. inputArguments ?? [], "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "bgr24", "-"], redirectInput: false);
        _pixels = _ffmpeg.StandardOutput.BaseStream;
        _errors = _ffmpeg.StandardError.ReadToEndAsync();
        Path = path;
    }

    public string Path { get; }
    public MediaInfo Info { get; }

    /// <summary>Reads the next frame into <paramref name="frame"/> (made Info.Height × Info.Width, 8-bit BGR if it is not); false at the end.</summary>
    public bool Read(Mat frame)
    {
        // Create is a no-op when the frame already has this size and type; it also makes the frame continuous.
        frame.Create(Info.Height, Info.Width, MatType.CV_8UC3);
        if (!frame.IsContinuous()) throw new ArgumentException("the frame to read into must be continuous (not a region of a larger image)", nameof(frame));
        var read = 0;
        while (read < _buffer.Length)
        {
            var n = _pixels.Read(_buffer, read, _buffer.Length - read);
            if (n == 0) break;
            read += n;
        }
        if (read == 0)
        {
            _ffmpeg.WaitForExit();
            if (_ffmpeg.ExitCode != 0) throw new ImageFileException(Path, $"ffmpeg could not decode it: {_errors.Result.Trim()}");
            return false;
        }
        if (read < _buffer.Length) throw new ImageFileException(Path, $"the last frame is cut short ({read} of {_buffer.Length} bytes)");
        System.Runtime.InteropServices.Marshal.Copy(_buffer, 0, frame.Data, _buffer.Length);
        return true;
    }

    public void Dispose()
    {
        if (!_ffmpeg.HasExited) _ffmpeg.Kill();
        _ffmpeg.Dispose();
    }
}
