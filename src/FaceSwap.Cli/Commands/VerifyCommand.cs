using System.CommandLine;
using FaceSwap.Cluster.Configuration;
using FaceSwap.Governance.Provenance;
using FaceSwap.Swap.Jobs;
using FaceSwap.Vision;
using FaceSwap.Vision.Marks;
using FaceSwap.Vision.Video;
using OpenCvSharp;

namespace FaceSwap.Cli.Commands;

/// <summary>
/// <c>fsc verify &lt;image|video&gt;</c>: is this one of ours? Reads the invisible watermark (a video's frames
/// combined) and, where a provenance sidecar lies beside the file, checks its signature against the pinned keys
/// and the file's hash. Exit 0 when marked and any sidecar holds; 1 otherwise.
/// </summary>
public static class VerifyCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "Image or video to check." };
        var command = new Command("verify", "Read the watermark of an image or video and check its signed provenance sidecar, if any: exit 0 when marked and the sidecar holds.") { file };
        command.SetAction(parse => CliErrors.Run(() => Run(parse.GetValue(file)!)));
        return command;
    }

    internal static int Run(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        var detection = FileSwapJob.IsImage(path) ? DetectImage(path) : DetectVideo(path);
        Console.WriteLine($"watermark: {detection}");

        var sidecar = ProvenanceSidecar.PathFor(path);
        var provenanceHolds = true;
        if (File.Exists(sidecar))
        {
            var settings = FscSettings.Load();
            var keys = settings.TrustedKeys.Select(k => File.Exists(k) ? File.ReadAllText(k)
                : throw new FileNotFoundException($"{k}: trusted provenance key (faceswap.provenance.trusted-keys in {settings.Source}) not found")).ToList();
            using var verifier = new ProvenanceVerifier(keys);
            var verification = verifier.Verify(path, sidecar);
            provenanceHolds = verification.IsValid;
            Console.WriteLine(verification.IsValid
                ? $"provenance: valid ({Path.GetFileName(sidecar)}): identity {verification.Record!.SourceIdentityId}, node {verification.Record.Node}, session {verification.Record.SessionId}, created {verification.Record.CreatedAt:u}"
                : $"provenance: {verification.Status}: {verification.Detail}");
            if (verification.IsValid && detection.Payload is { } payload && payload.Session.ToString("x12") != verification.Record!.SessionId)
            {
                provenanceHolds = false;
                Console.WriteLine($"provenance: the watermark's session {payload.Session:x12} is not the sidecar's {verification.Record.SessionId}");
            }
        }
        else
            Console.WriteLine($"provenance: no sidecar ({Path.GetFileName(sidecar)})");
        return detection.Marked && provenanceHolds ? 0 : 1;
    }

    private static WatermarkDetection DetectImage(string path)
    {
        using var image = ImageFile.ReadBgr(path);
        return Watermark.Detect(image);
    }

    private static WatermarkDetection DetectVideo(string path)
    {
        var info = MediaInfo.Probe(path);
        using var reader = new VideoFileReader(path, info);
        using var frame = new Mat(info.Height, info.Width, MatType.CV_8UC3);
        var detector = new WatermarkDetector();
        while (reader.Read(frame))
        {
            detector.Add(frame);
            if (detector.Frames % 25 == 0) Console.Error.Write($"\rwatermark: {detector.Frames}/{info.Frames} frames read");
        }
        Console.Error.WriteLine();
        if (detector.Frames == 0) throw new ImageFileException(path, "the video has no frames to read a watermark from");
        return detector.Result();
    }
}
