using FaceSwap.Inference.Models;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.Onnx;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap.Neural;
using FaceSwap.Vision;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OpenCvSharp;
using Xunit.Abstractions;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FaceSwap.Swap.Tests;

/// <summary>
/// inswapper_128's pre- and post-processing against computations done independently here. The model is generated:
/// inswapper's signature, an identity graph and a made-up emap, none of the real weights.
/// </summary>
public sealed class InswapperTests(AnalyzerOnlyFixture fixture, ITestOutputHelper output) : IClassFixture<AnalyzerOnlyFixture>, IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private const int Size = Inswapper128.Size;

    [Fact]
    public void Template_is_insightface_estimate_norm_at_128_arcface_plus_8_px_in_x()
    {
        // estimate_norm(image_size=128): ratio 128/128 = 1, diff_x = 8 (insightface/utils/face_align.py).
        (float X, float Y)[] expected = [(46.2946f, 51.6963f), (81.5318f, 51.5014f), (64.0252f, 71.7366f), (49.5493f, 92.3655f), (78.7299f, 92.2041f)];
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(expected[i].X, Inswapper128.Template[i].X, 4);
            Assert.Equal(expected[i].Y, Inswapper128.Template[i].Y, 4);
        }
    }

    [Fact]
    public void Five_points_of_a_real_face_land_on_the_128_template_within_half_a_pixel()
    {
        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample1.jpg"));
        var face = fixture.Analyzer.Analyze(BgrImage.Of(photo)).MaxBy(f => f.Detection.Score)!;
        var frameToCrop = Inswapper128.FrameToCrop(face.FivePoints);

        // Independent fit: the least-squares similarity from the normal equations, in doubles.
        var (a, b, tx, ty) = IndependentFit.LeastSquaresSimilarity(face.FivePoints, Inswapper128.Template);
        for (var i = 0; i < 5; i++)
        {
            var p = face.FivePoints[i];
            var mapped = frameToCrop.Apply(p);
            var (ex, ey) = (a * p.X - b * p.Y + tx, b * p.X + a * p.Y + ty);
            Assert.True(Math.Abs(mapped.X - ex) < 0.5 && Math.Abs(mapped.Y - ey) < 0.5, $"point {i}: ({mapped.X:F2},{mapped.Y:F2}), least squares ({ex:F2},{ey:F2})");
            output.WriteLine($"point {i}: ({mapped.X:F2},{mapped.Y:F2}), template ({Inswapper128.Template[i].X:F2},{Inswapper128.Template[i].Y:F2})");
        }
        // Five points that are a similarity of the template (a face with the template's proportions) land on it exactly.
        var cropToFrame = frameToCrop.Inverse();
        var ideal = Inswapper128.Template.Select(t => cropToFrame.Apply(t)).ToArray();
        var refit = Inswapper128.FrameToCrop(ideal);
        for (var i = 0; i < 5; i++)
        {
            var landed = refit.Apply(ideal[i]);
            Assert.True(Math.Abs(landed.X - Inswapper128.Template[i].X) < 0.5 && Math.Abs(landed.Y - Inswapper128.Template[i].Y) < 0.5,
                $"ideal point {i} lands at ({landed.X:F2},{landed.Y:F2})");
        }
        // And the real face's points stay close to the template: a face, not a fit gone astray.
        var mean = face.FivePoints.Select((p, i) => Distance(frameToCrop.Apply(p), Inswapper128.Template[i])).Average();
        output.WriteLine($"mean distance of the real five points to the template: {mean:F2} px");
        Assert.True(mean < 8, $"mean distance {mean:F2} px");
    }

    [Fact]
    public void Latent_of_generated_model_emap_is_unit_length_and_equals_normalised_embedding_times_emap()
    {
        var random = new Random(6);
        var emap = Enumerable.Range(0, 512 * 512).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
        var path = WriteGeneratedInswapper(emap);
        var swapper = Inswapper128.FromModel(path);
        Assert.Equal(emap, swapper.Emap.ToArray());

        var embedding = Enumerable.Range(0, 512).Select(_ => 7f * ((float)random.NextDouble() - 0.3f)).ToArray();
        var latent = new float[512];
        swapper.Latent(embedding, latent);

        var norm = Math.Sqrt(embedding.Sum(e => (double)e * e));
        var expected = new double[512];
        for (var j = 0; j < 512; j++)
            for (var i = 0; i < 512; i++)
                expected[j] += embedding[i] / norm * emap[i * 512 + j];
        var expectedNorm = Math.Sqrt(expected.Sum(e => e * e));
        Assert.Equal(1.0, Math.Sqrt(latent.Sum(l => (double)l * l)), 5);
        for (var j = 0; j < 512; j++)
            Assert.True(Math.Abs(latent[j] - expected[j] / expectedNorm) < 1e-5, $"latent[{j}] {latent[j]} != {expected[j] / expectedNorm}");
    }

    [Fact]
    public void Generated_model_whose_last_initializer_is_not_a_512_square_has_no_emap()
    {
        var graph = new OnnxGraphBuilder("generated-not-inswapper");
        graph.AddInput("x", DataType.Float, 1, 4);
        var w = graph.AddInitializer("w", [1f, 2f, 3f, 4f], 1, 4);
        graph.AddOutputNode("Add", ["x", w], "y");
        graph.AddOutput("y", DataType.Float, 1, 4);
        var path = Path.Combine(_dir.Path, "other.onnx");
        File.WriteAllBytes(path, graph.Build("fsc-tests", "1", "generated").ToByteArray());
        var error = Assert.Throws<ModelStoreException>(() => Inswapper128.FromModel(path));
        Assert.Contains("[1,4]", error.Problem);
    }

    [Fact]
    public void Generated_model_round_trip_target_is_rgb_0_1_nchw_and_output_comes_back_as_the_bgr_crop()
    {
        using var crop = new Mat(Size, Size, MatType.CV_8UC3);
        for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
                crop.Set(y, x, new Vec3b((byte)(2 * x), (byte)(2 * y), (byte)((x + y) % 256)));
        var target = new float[3 * Size * Size];
        Inswapper128.TargetInput(crop, target);
        const int plane = Size * Size;
        var at = 37 * Size + 90; // y 37, x 90
        Assert.Equal(127 / 255f, target[at], 1e-6f);           // R = (x + y) % 256
        Assert.Equal(74 / 255f, target[plane + at], 1e-6f);     // G = 2y
        Assert.Equal(180 / 255f, target[2 * plane + at], 1e-6f); // B = 2x

        // The generated graph returns its target: what comes back must be the crop again.
        using var session = new InferenceSession(WriteGeneratedInswapper(new float[512 * 512]));
        var latent = new float[512];
        latent[3] = 1;
        using var results = session.Run(
        [
            NamedOnnxValue.CreateFromTensor("target", new DenseTensor<float>(target, [1, 3, Size, Size])),
            NamedOnnxValue.CreateFromTensor("source", new DenseTensor<float>(latent, [1, 512])),
        ]);
        using var back = new Mat(Size, Size, MatType.CV_8UC3);
        Inswapper128.OutputToBgr(results.Single().AsTensor<float>().ToArray(), back);
        using var diff = new Mat();
        Cv2.Absdiff(crop, back, diff);
        diff.MinMaxLoc(out double _, out double worst);
        Assert.True(worst <= 1, $"round trip differs by {worst}"); // 255·(v/255) may truncate one level down, as in numpy
    }

    [Fact]
    public void Paste_back_of_a_solid_crop_lands_inside_the_face_leaves_far_pixels_and_feathers_the_edge()
    {
        using var frame = new Mat(400, 400, MatType.CV_8UC3, new Scalar(100, 100, 100));
        using var crop = new Mat(Size, Size, MatType.CV_8UC3, new Scalar(0, 0, 255));
        // The crop covers the frame's square [100, 300): crop pixel = (frame pixel − 100) · 128/200.
        var frameToCrop = Affine2D.ScaleTranslate(Size / 200f, -100 * Size / 200f, -100 * Size / 200f);
        Inswapper128.PasteBack(frame, crop, frameToCrop);

        // Inside, the blurred mask is 1 less float rounding, and the blend truncates as numpy's astype: 254 or 255.
        foreach (var (y, x) in new[] { (200, 200), (150, 250), (130, 130) })
        {
            var inside = frame.Get<Vec3b>(y, x);
            Assert.True(inside.Item0 == 0 && inside.Item1 == 0 && inside.Item2 >= 254, $"({x},{y}) is {inside}");
        }
        var changedFarOutside = 0;
        for (var y = 0; y < 400; y++)
            for (var x = 0; x < 400; x++)
                if ((x < 88 || x > 311 || y < 88 || y > 311) && frame.Get<Vec3b>(y, x) != new Vec3b(100, 100, 100)) changedFarOutside++;
        Assert.Equal(0, changedFarOutside);

        // Independent feathering along the middle row: the warped mask covers x 99..299 (s = 200); eroded by a 20-px
        // box it starts at x = 109; blurred by cv2's 21-tap Gaussian (sigma 0.3·(10 − 1) + 0.8 = 3.5).
        const int kernel = 21, radius = kernel / 2;
        const double sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8;
        var taps = Enumerable.Range(-radius, kernel).Select(i => Math.Exp(-i * i / (2 * sigma * sigma))).ToArray();
        var tapSum = taps.Sum();
        for (var x = 90; x <= 135; x++)
        {
            var weight = Enumerable.Range(-radius, kernel).Sum(i => x + i >= 109 ? taps[i + radius] : 0) / tapSum;
            var expectedRed = (int)(weight * 255 + (1 - weight) * 100);
            var actual = frame.Get<Vec3b>(200, x);
            output.WriteLine($"x {x}: red {actual.Item2} (expected {expectedRed}), blue {actual.Item0}");
            Assert.InRange(actual.Item2, expectedRed - 2, expectedRed + 2);
            Assert.Equal(actual.Item0, actual.Item1); // blue and green blend 100 with 0 alike
        }
        var feathered = Enumerable.Range(90, 46).Count(x => frame.Get<Vec3b>(200, x).Item2 is > 105 and < 250);
        Assert.InRange(feathered, 8, 20);
    }

    [Fact]
    public void Generated_models_run_through_the_stream_engine_as_the_neural_swap()
    {
        // inswapper-shaped: returns its target crop; ArcFace-shaped: channel means through a fixed 3×512 map.
        var emap = Enumerable.Range(0, 512 * 512).Select(i => MathF.Cos(i * 0.37f)).ToArray();
        var store = new ModelStore(Path.Combine(_dir.Path, "store"));
        var swapperCheck = PresetChecker.Check(WriteGeneratedInswapper(emap), ModelPresets.Inswapper128 with { Sha256 = null });
        var swapperManifest = PresetChecker.Add(store, swapperCheck);
        var arcfacePath = WriteGeneratedArcFace(_dir.Path, "input.1");
        PresetChecker.Add(store, PresetChecker.Check(arcfacePath, ModelPresets.ArcFaceW600kR50));

        using var swapperModel = ModelSession.Open(store, "inswapper_128", new InferenceOptions(), NullLogger.Instance);
        using var embedderModel = ModelSession.Open(store, "arcface_w600k_r50", new InferenceOptions(), NullLogger.Instance);
        var neural = new NeuralSwapper(swapperModel, store.VerifiedPath(swapperManifest), embedderModel);
        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample5.jpg"));
        var faces = fixture.Analyzer.Analyze(BgrImage.Of(photo));
        using var source = FaceSwap.Swap.Evaluation.SwapEvaluation.SourceFrom(photo, faces[0]);
        var latent = neural.Latent(source);
        Assert.Same(latent, neural.Latent(source)); // once per source
        Assert.Equal(1.0, Math.Sqrt(latent.Sum(v => (double)v * v)), 4);

        var engine = new StreamSwapEngine(fixture.Analyzer, source, swapper: neural);
        using var frame = photo.Clone();
        Assert.Equal(faces.Count, engine.Process(frame).Swapped);
        // The identity "swap" gives each face back through crop, 128 px and paste-back: changed, but only a little,
        // and only around the faces.
        using var difference = new Mat();
        Cv2.Absdiff(photo, frame, difference);
        using var grey = difference.CvtColor(ColorConversionCodes.BGR2GRAY);
        foreach (var face in faces)
        {
            using var region = grey[new Rect((int)face.Detection.Box.X, (int)face.Detection.Box.Y, (int)face.Detection.Box.Width, (int)face.Detection.Box.Height)];
            var mean = Cv2.Mean(region).Val0;
            output.WriteLine($"face {face.Detection}: mean change {mean:F2} grey levels");
            Assert.InRange(mean, 0.05, 12);
        }
        Assert.Equal(0, grey.At<byte>(5, 5));
        Assert.Throws<ArgumentException>(() => new NeuralSwapper(embedderModel, arcfacePath, embedderModel));
    }

    /// <summary>An ArcFace-shaped graph: channel means of the 112 crop through a fixed 3×512 map.</summary>
    internal static string WriteGeneratedArcFace(string dir, string inputName)
    {
        var arcface = new OnnxGraphBuilder("generated-arcface");
        arcface.AddInput(inputName, DataType.Float, 1, 3, 112, 112);
        var pooled = arcface.AddNode("GlobalAveragePool", [inputName], "pooled");
        var flat = arcface.AddNode("Flatten", [pooled], "flat");
        var map = arcface.AddInitializer("map", Enumerable.Range(0, 3 * 512).Select(i => MathF.Sin(i * 0.1f)).ToArray(), 3, 512);
        arcface.AddOutputNode("MatMul", [flat, map], "683");
        arcface.AddOutput("683", DataType.Float, 1, 512);
        var path = Path.Combine(dir, $"arcface-{inputName}.onnx");
        File.WriteAllBytes(path, arcface.Build("fsc-tests", "1", "generated model: ArcFace signature").ToByteArray());
        return path;
    }

    private string WriteGeneratedInswapper(float[] emap)
    {
        var graph = new OnnxGraphBuilder("generated-inswapper");
        graph.Reserve("output");
        graph.AddInput("target", DataType.Float, 1, 3, Size, Size);
        graph.AddInput("source", DataType.Float, 1, 512);
        var zero = graph.AddInitializer("zero", [0f], 1);
        var sum = graph.AddNode("ReduceSum", ["source"], "source_sum");
        var none = graph.AddNode("Mul", [sum, zero], "source_times_zero");
        graph.AddOutputNode("Add", ["target", none], "output");
        graph.AddOutput("output", DataType.Float, 1, 3, Size, Size);
        graph.AddInitializer("emap", emap, 512, 512); // last, where insightface reads it
        var path = Path.Combine(_dir.Path, "inswapper.onnx");
        File.WriteAllBytes(path, graph.Build("fsc-tests", "1", "generated model: inswapper_128 signature, not its weights").ToByteArray());
        return path;
    }

    private static double Distance(Point2f a, Point2f b) => Math.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y));
}
