using System.CommandLine;
using System.Diagnostics;
using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Cli.Commands;

/// <summary>
/// <c>fsc demo</c>: builds the default pack and analyses the sample photos that @vladmandic/face-api ships,
/// writing one annotated PNG per photo. Later the same command starts the embedded live cluster.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var photos = new Option<string>("--photos")
        {
            Description = "Folder of photos to analyse (default: the sample photos of @vladmandic/face-api).",
            DefaultValueFactory = _ => RepositoryPaths.SamplePhotos,
        };
        var output = new Option<string>("--output", "-o")
        {
            Description = "Folder for the annotated images (default: .cache/demo).",
            DefaultValueFactory = _ => Path.Combine(RepositoryPaths.Root, ".cache", "demo"),
        };
        var pattern = new Option<string>("--pattern") { Description = "File pattern of the photos.", DefaultValueFactory = _ => "sample*.jpg" };
        var command = new Command("demo", "Build the default model pack and analyse the sample photos.") { photos, pattern, output };
        command.SetAction(parse => CliErrors.Run(() => Run(parse.GetValue(photos)!, parse.GetValue(pattern)!, parse.GetValue(output)!)));
        return command;
    }

    private static int Run(string photoDir, string pattern, string outputDir)
    {
        var store = new ModelStore(RepositoryPaths.ModelStore);
        DefaultPackBuilder.Build(RepositoryPaths.NodeModules, store, progress: line => Console.WriteLine($"models: {line}"));
        var files = Directory.Exists(photoDir)
            ? Directory.GetFiles(photoDir, pattern).Order(StringComparer.Ordinal).ToList()
            : throw new DirectoryNotFoundException($"{photoDir}: photo folder not found");
        Directory.CreateDirectory(outputDir);

        using var detector = new Detector(store);
        int faces = 0, failed = 0;
        var timings = new List<double>();
        foreach (var file in files)
        {
            try
            {
                using var image = ImageFile.ReadBgr(file);
                var watch = Stopwatch.StartNew();
                var found = detector.Detect(image);
                timings.Add(watch.Elapsed.TotalMilliseconds);
                faces += found.Count;
                var annotated = Path.Combine(outputDir, Path.GetFileNameWithoutExtension(file) + ".faces.png");
                Annotate(image, found);
                Cv2.ImWrite(annotated, image);
                Console.WriteLine($"{Path.GetFileName(file)} {image.Width}x{image.Height}: {found.Count} face(s) " +
                    $"[{string.Join(", ", found.Select(f => $"{f.Score:F2} at {f.Box.X:F0},{f.Box.Y:F0} {f.Box.Width:F0}x{f.Box.Height:F0}"))}] " +
                    $"in {timings[^1]:F1} ms -> {annotated}");
            }
            catch (ImageFileException e)
            {
                failed++;
                Console.Error.WriteLine($"fsc demo: skipped {e.Message}");
            }
        }
        Console.WriteLine($"demo: {files.Count - failed} photo(s), {faces} face(s), {(timings.Count > 0 ? timings.Average() : 0):F1} ms per detection pass (one letterboxed 256x256 BlazeFace pass on CPU), {failed} unreadable");
        return failed == 0 ? 0 : 1;
    }

    private static void Annotate(Mat image, IReadOnlyList<FaceDetection> faces)
    {
        var thickness = Math.Max(2, image.Width / 500);
        foreach (var face in faces)
        {
            var box = new Rect((int)face.Box.X, (int)face.Box.Y, (int)face.Box.Width, (int)face.Box.Height);
            Cv2.Rectangle(image, box, Scalar.LimeGreen, thickness);
            foreach (var point in face.Keypoints)
                Cv2.Circle(image, (int)point.X, (int)point.Y, thickness + 1, Scalar.OrangeRed, -1);
            Cv2.PutText(image, $"{face.Score:F2}", new Point(box.X, Math.Max(0, box.Y - 2 * thickness)), HersheyFonts.HersheySimplex, thickness * 0.4, Scalar.LimeGreen, thickness);
        }
    }
}
