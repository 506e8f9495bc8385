using FaceSwap.Faces.Detection;
using FaceSwap.Faces.Embedding;
using FaceSwap.Vision;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Faces.Tests;

/// <summary>The analyser against hand-labelled ground truth: what it finds, and whether identities survive image changes.</summary>
public sealed class FaceAnalysisAccuracyTests(AnalyzerFixture fixture, ITestOutputHelper output) : IClassFixture<AnalyzerFixture>
{
    private const float MatchIou = 0.4f;
    private static readonly IReadOnlyList<GroundTruthImage> Truth = GroundTruthImage.Load();

    [Fact]
    public void Finds_at_least_95_percent_of_labelled_faces_with_at_most_one_false_box_over_the_six_samples()
    {
        int labelled = 0, found = 0, falseBoxes = 0;
        foreach (var image in Truth.Where(t => Path.GetFileName(t.Path).StartsWith("sample", StringComparison.Ordinal)))
        {
            using var mat = ImageFile.ReadBgr(image.Path);
            var boxes = fixture.Analyzer.Analyze(BgrImage.Of(mat)).Select(f => f.Detection.Box).ToList();
            var (hits, extra) = GroundTruthImage.Match(image.Faces, image.Ignore, boxes, MatchIou);
            labelled += image.Faces.Count;
            found += hits;
            falseBoxes += extra.Count;
            output.WriteLine($"{Path.GetFileName(image.Path)}: {hits}/{image.Faces.Count} found, false boxes: [{string.Join(", ", extra)}]");
        }
        var recall = (double)found / labelled;
        output.WriteLine($"recall {found}/{labelled} = {recall:P1} at IoU {MatchIou}, {falseBoxes} false box(es)");
        Assert.True(recall >= 0.95, $"recall {recall:P1} < 95 %");
        Assert.True(falseBoxes <= 1, $"{falseBoxes} false boxes > 1");
    }

    [Theory]
    [InlineData("astronaut.png", 1)]
    [InlineData("chelsea.png", 0)]
    [InlineData("coffee.png", 0)]
    public void Finds_exactly_the_faces_of_the_scikit_image_photos(string file, int faces)
    {
        var image = Truth.Single(t => Path.GetFileName(t.Path) == file);
        using var mat = ImageFile.ReadBgr(image.Path);
        var found = fixture.Analyzer.Analyze(BgrImage.Of(mat));
        Assert.Equal(faces, found.Count);
        if (faces == 1) Assert.True(BlazeFaceDecoder.Iou(found[0].Detection.Box, image.Faces[0]) >= MatchIou);
    }

    [Fact]
    public void Every_labelled_face_keeps_its_identity_through_flip_rotation_gamma_blur_and_jpeg()
    {
        var originals = new List<(string Name, float[] Embedding)>();
        var changed = new List<(string Name, string Change, float[]? Embedding)>();
        foreach (var image in Truth)
        {
            using var mat = ImageFile.ReadBgr(image.Path);
            for (var f = 0; f < image.Faces.Count; f++)
            {
                var name = $"{Path.GetFileNameWithoutExtension(image.Path)}#{f}";
                using var crop = CropAround(mat, image.Faces[f]);
                var original = EmbedCentral(crop) ?? throw new Xunit.Sdk.XunitException($"{name}: no face found in its own crop");
                originals.Add((name, original));
                foreach (var (change, transform) in Changes)
                {
                    using var changedCrop = transform(crop);
                    changed.Add((name, change, EmbedCentral(changedCrop)));
                }
            }
        }
        var correct = 0;
        foreach (var (name, change, embedding) in changed)
        {
            var best = embedding is null ? null : originals.MaxBy(o => Embedder.Cosine(o.Embedding, embedding)).Name;
            if (best == name) correct++;
            else output.WriteLine($"{name} {change}: matched {best ?? "(no face found)"}");
        }
        var rate = (double)correct / changed.Count;
        output.WriteLine($"rank-1 {correct}/{changed.Count} = {rate:P1} over {originals.Count} faces");
        Assert.True(rate >= 0.95, $"rank-1 {rate:P1} < 95 %");
    }

    private static readonly (string Name, Func<Mat, Mat> Apply)[] Changes =
    [
        ("flip", m => m.Flip(FlipMode.Y)),
        ("rotate +15", m => Rotate(m, 15)),
        ("rotate -15", m => Rotate(m, -15)),
        ("gamma 0.7", m => Gamma(m, 0.7)),
        ("gamma 1.4", m => Gamma(m, 1.4)),
        ("blur 1.5", m => m.GaussianBlur(new Size(0, 0), 1.5)),
        ("jpeg 60", m => Cv2.ImDecode(m.ImEncode(".jpg", new ImageEncodingParam(ImwriteFlags.JpegQuality, 60)), ImreadModes.Color)),
    ];

    private static Mat Rotate(Mat m, double degrees)
    {
        using var rotation = Cv2.GetRotationMatrix2D(new Point2f(m.Width / 2f, m.Height / 2f), degrees, 1);
        return m.WarpAffine(rotation, m.Size(), InterpolationFlags.Linear, BorderTypes.Replicate);
    }

    private static Mat Gamma(Mat m, double gamma)
    {
        using var table = new Mat(1, 256, MatType.CV_8UC1);
        for (var i = 0; i < 256; i++) table.Set(0, i, (byte)Math.Round(255 * Math.Pow(i / 255.0, gamma)));
        var result = new Mat();
        Cv2.LUT(m, table, result);
        return result;
    }

    /// <summary>A square crop 2.5 times the face box around it, so the face sits in context and survives rotation.</summary>
    private static Mat CropAround(Mat image, Rect2f face)
    {
        var side = 2.5f * Math.Max(face.Width, face.Height);
        var x = (int)Math.Clamp(face.X + face.Width / 2 - side / 2, 0, image.Width - 1);
        var y = (int)Math.Clamp(face.Y + face.Height / 2 - side / 2, 0, image.Height - 1);
        var rect = new Rect(x, y, Math.Min((int)side, image.Width - x), Math.Min((int)side, image.Height - y));
        return image[rect].Clone();
    }

    private float[]? EmbedCentral(Mat crop)
    {
        var faces = fixture.Analyzer.Analyze(BgrImage.Of(crop));
        var centre = new Point2f(crop.Width / 2f, crop.Height / 2f);
        return faces.OrderBy(f => Math.Abs(f.Detection.Box.X + f.Detection.Box.Width / 2 - centre.X) + Math.Abs(f.Detection.Box.Y + f.Detection.Box.Height / 2 - centre.Y))
            .FirstOrDefault()?.Embedding;
    }
}
