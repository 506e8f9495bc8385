using System.CommandLine;
using System.Text.Json;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;
using Microsoft.Extensions.Logging;
using OpenCvSharp;

namespace FaceSwap.Cli.Commands;

/// <summary><c>fsc analyze</c>: faces, landmarks and embeddings of image files, as text or JSON lines, with annotated PNGs.</summary>
public static class AnalyzeCommand
{
    public static Command Create()
    {
        var images = new Argument<string[]>("image") { Description = "Image files (JPEG, PNG, BMP, WebP).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--output", "-o") { Description = "Folder for one annotated PNG per image." };
        var json = new Option<bool>("--json") { Description = "One JSON object per image and line on stdout." };
        var tile = new Option<int>("--tile") { Description = "Tile size in pixels for the small-face pass (0: full-frame pass only).", DefaultValueFactory = _ => DetectorOptions.Photos.TileSize };
        var maxPixels = new Option<long>("--max-pixels") { Description = "Refuse images larger than this, from their header.", DefaultValueFactory = _ => ImageFile.DefaultMaxPixels };
        var providers = ProviderOption();
        var command = new Command("analyze", "Find the faces in images: box, score, 468 landmarks, five alignment points, identity embedding.")
            { images, output, json, tile, maxPixels, providers };
        command.SetAction(parse => CliErrors.Run(() => Run(parse.GetValue(images)!, parse.GetValue(output), parse.GetValue(json),
            parse.GetValue(tile), parse.GetValue(maxPixels), parse.GetValue(providers)!)));
        return command;
    }

    public static Option<string> ProviderOption() => new("--providers")
    {
        Description = "Execution providers in order of preference: tensorrt, cuda, coreml, cpu.",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("FSC_PROVIDERS") is { Length: > 0 } v ? v : string.Join(",", InferenceOptions.DefaultProviders).ToLowerInvariant(),
    };

    internal static int Run(string[] images, string? outputDir, bool json, int tile, long maxPixels, string providers)
    {
        using var logging = CliLogging.Create();
        var logger = logging.CreateLogger("fsc");
        var store = new ModelStore(RepositoryPaths.ModelStore);
        using var analyzer = FaceAnalyzer.Open(store, new InferenceOptions { Providers = ExecutionProviders.Parse(providers) },
            new DetectorOptions { TileSize = tile }, logger);
        if (!json)
            Console.WriteLine("models: " + string.Join(", ", analyzer.Providers.Select(p => $"{p.Model} on {p.Provider}")));
        if (outputDir is not null) Directory.CreateDirectory(outputDir);

        var failed = 0;
        foreach (var path in images)
        {
            try
            {
                using var image = ImageFile.ReadBgr(path, maxPixels);
                var faces = analyzer.Analyze(BgrImage.Of(image));
                if (json) Console.WriteLine(JsonSerializer.Serialize(new ImageResult(path, faces.Select(FaceResult.Of).ToList(), null), JsonOptions));
                else
                {
                    Console.WriteLine($"{path} {image.Width}x{image.Height}: {faces.Count} face(s)");
                    foreach (var face in faces)
                        Console.WriteLine($"  {face.Detection} presence {face.Landmarks.Presence:F2} eyes ({face.FivePoints[0].X:F0},{face.FivePoints[0].Y:F0}) ({face.FivePoints[1].X:F0},{face.FivePoints[1].Y:F0})");
                }
                if (outputDir is not null)
                {
                    Annotate(image, faces);
                    var annotated = Path.Combine(outputDir, Path.GetFileNameWithoutExtension(path) + ".faces.png");
                    Cv2.ImWrite(annotated, image);
                    if (!json) Console.WriteLine($"  -> {annotated}");
                }
            }
            catch (ImageFileException e)
            {
                failed++;
                if (json) Console.WriteLine(JsonSerializer.Serialize(new ImageResult(path, [], e.Message), JsonOptions));
                else Console.Error.WriteLine($"fsc analyze: {e.Message}");
            }
        }
        return failed == 0 ? 0 : 1;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private sealed record ImageResult(string Image, List<FaceResult> Faces, string? Error);

    private sealed record FaceResult(float[] Box, float Score, float Presence, float[][] Points5, float[][] Landmarks)
    {
        public static FaceResult Of(Face f) => new(
            [Round(f.Detection.Box.X), Round(f.Detection.Box.Y), Round(f.Detection.Box.Width), Round(f.Detection.Box.Height)],
            MathF.Round(f.Detection.Score, 4), MathF.Round(f.Landmarks.Presence, 4),
            f.FivePoints.Select(p => new[] { Round(p.X), Round(p.Y) }).ToArray(),
            f.Landmarks.Mesh.Select(p => new[] { Round(p.X), Round(p.Y) }).ToArray());

        private static float Round(float v) => MathF.Round(v, 1);
    }

    public static void Annotate(Mat image, IReadOnlyList<Face> faces)
    {
        var thickness = Math.Max(1, image.Width / 800);
        foreach (var face in faces)
        {
            var box = face.Detection.Box;
            var rect = new Rect((int)box.X, (int)box.Y, (int)box.Width, (int)box.Height);
            Cv2.Rectangle(image, rect, Scalar.LimeGreen, thickness);
            foreach (var p in face.Landmarks.Mesh)
                Cv2.Circle(image, (int)p.X, (int)p.Y, thickness, Scalar.Cyan, -1);
            foreach (var p in face.FivePoints)
                Cv2.Circle(image, (int)p.X, (int)p.Y, thickness * 3, Scalar.OrangeRed, -1);
            Cv2.PutText(image, $"{face.Detection.Score:F2}", new Point(rect.X, Math.Max(0, rect.Y - 4 * thickness)), HersheyFonts.HersheySimplex, thickness * 0.6, Scalar.LimeGreen, thickness);
        }
    }
}
