using System.Text.Json;
using FaceSwap.Inference.Models;
using OpenCvSharp;

namespace FaceSwap.Faces.Tests;

/// <summary>The hand-labelled faces of GroundTruth/faces.json: every face with an inter-ocular distance of 20 px or more, plus boxes to ignore.</summary>
public sealed record GroundTruthImage(string Path, int Width, int Height, IReadOnlyList<Rect2f> Faces, IReadOnlyList<Rect2f> Ignore)
{
    public static IReadOnlyList<GroundTruthImage> Load()
    {
        var file = System.IO.Path.Combine(AppContext.BaseDirectory, "GroundTruth", "faces.json");
        using var json = JsonDocument.Parse(File.ReadAllBytes(file));
        return json.RootElement.GetProperty("images").EnumerateArray().Select(image =>
        {
            var dir = image.GetProperty("dir").GetString() switch
            {
                "face-api" => RepositoryPaths.SamplePhotos,
                "skimage" => System.IO.Path.Combine(RepositoryPaths.Root, ".cache", "skimage"),
                var other => throw new InvalidDataException($"{file}: unknown dir '{other}'"),
            };
            return new GroundTruthImage(
                System.IO.Path.Combine(dir, image.GetProperty("file").GetString()!),
                image.GetProperty("width").GetInt32(), image.GetProperty("height").GetInt32(),
                Boxes(image, "faces"), Boxes(image, "ignore"));
        }).ToList();
    }

    /// <summary>Greedy one-to-one matching at IoU ≥ <paramref name="iou"/>; a box on an ignore box is neither a hit nor a false box.</summary>
    public static (int Hits, List<Rect2f> FalseBoxes) Match(IReadOnlyList<Rect2f> truth, IReadOnlyList<Rect2f> ignore, IEnumerable<Rect2f> found, float iou = 0.4f)
    {
        var free = truth.ToList();
        var falseBoxes = new List<Rect2f>();
        foreach (var box in found)
        {
            var best = free.OrderByDescending(f => Detection.BlazeFaceDecoder.Iou(f, box)).FirstOrDefault();
            if (free.Count > 0 && Detection.BlazeFaceDecoder.Iou(best, box) >= iou) free.Remove(best);
            else if (!ignore.Any(i => Detection.BlazeFaceDecoder.Iou(i, box) >= iou)) falseBoxes.Add(box);
        }
        return (truth.Count - free.Count, falseBoxes);
    }

    private static List<Rect2f> Boxes(JsonElement image, string name) =>
        image.TryGetProperty(name, out var list)
            ? list.EnumerateArray().Select(f => f.GetProperty("box").EnumerateArray().Select(v => v.GetSingle()).ToArray()).Select(b => new Rect2f(b[0], b[1], b[2], b[3])).ToList()
            : [];
}
