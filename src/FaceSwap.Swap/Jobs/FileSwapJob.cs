using FaceSwap.Faces;
using FaceSwap.Vision;
using FaceSwap.Vision.Marks;
using FaceSwap.Vision.Video;
using OpenCvSharp;

namespace FaceSwap.Swap.Jobs;

public sealed record FileSwapProgress(long Frame, long Frames, double FramesPerSecond);

public sealed record FileSwapResult(long Frames, long FramesWithFaces, TimeSpan Elapsed);

/// <summary>
/// Swaps a source identity into an image or a video file. Every frame is processed (a file job never drops one);
/// a video keeps its resolution (up to 4K), frame rate, frame count and audio. Every output frame carries the
/// marks. When <c>cancel</c> fires (the identity's consent was revoked, or the user stopped it) the job stops at
/// the next frame and deletes what it had written: no output keeps a likeness it may no longer use.
/// </summary>
public static class FileSwapJob
{
    /// <summary>Longest side a file job accepts: 4K UHD.</summary>
    public const int MaxSide = 3840;

    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".bmp", ".webp"];

    public static bool IsImage(string path) => ImageExtensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <param name="swapper">a bring-your-own swapper; none: the built-in mesh swap</param>
    /// <param name="enhancer">a bring-your-own face restorer; none: no enhancement</param>
    /// <param name="detector">a bring-your-own detector (SCRFD); none: BlazeFace</param>
    public static FileSwapResult Run(FaceAnalyzer analyzer, SourceFace source, string target, string output, StreamEngineOptions options, OutputMarks marks,
        Action<FileSwapProgress>? progress = null, CancellationToken cancel = default, IFaceSwapper? swapper = null, Enhancement.FaceEnhancer? enhancer = null,
        FaceSwap.Faces.Detection.IFaceDetector? detector = null)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            if (IsImage(target))
            {
                using var image = ImageFile.ReadBgr(target);
                CheckSize(target, image.Width, image.Height);
                cancel.ThrowIfCancellationRequested();
                var engine = new StreamSwapEngine(analyzer, source, options with { DetectEvery = 1 }, cancel, enhancer, swapper, detector);
                var result = engine.Process(image);
                marks.Apply(image);
                cancel.ThrowIfCancellationRequested();
                if (!Cv2.ImWrite(output, image)) throw new ImageFileException(output, "could not write the output image (is the extension one OpenCV writes?)");
                progress?.Invoke(new FileSwapProgress(1, 1, 1 / watch.Elapsed.TotalSeconds));
                return new FileSwapResult(1, result.Swapped > 0 ? 1 : 0, watch.Elapsed);
            }

            var info = MediaInfo.Probe(target);
            CheckSize(target, info.Width, info.Height);
            var stream = new StreamSwapEngine(analyzer, source, options with { FramesPerSecond = (float)info.FramesPerSecond }, cancel, enhancer, swapper, detector);
            using var reader = new VideoFileReader(target, info);
            using var writer = new VideoFileWriter(output, info, audioFrom: target);
            using var frame = new Mat(info.Height, info.Width, MatType.CV_8UC3);
            long frames = 0, withFaces = 0;
            while (reader.Read(frame))
            {
                cancel.ThrowIfCancellationRequested();
                if (stream.Process(frame).Swapped > 0) withFaces++;
                marks.Apply(frame);
                writer.Write(frame);
                frames++;
                progress?.Invoke(new FileSwapProgress(frames, info.Frames, frames / watch.Elapsed.TotalSeconds));
            }
            cancel.ThrowIfCancellationRequested();
            writer.Complete();
            return new FileSwapResult(frames, withFaces, watch.Elapsed);
        }
        catch (OperationCanceledException)
        {
            // The writer is disposed by now (ffmpeg killed): remove the partial file.
            File.Delete(output);
            throw;
        }
    }

    private static void CheckSize(string path, int width, int height)
    {
        if (Math.Max(width, height) > MaxSide)
            throw new ImageFileException(path, $"{width}x{height} is larger than 4K ({MaxSide} px on the longer side), which file jobs keep at most");
        if (width < Watermark.MinWidth || height < Watermark.MinHeight)
            throw new ImageFileException(path, $"{width}x{height} is smaller than {Watermark.MinWidth}x{Watermark.MinHeight}, the smallest frame the watermark can mark, and every output is marked");
    }
}
