using FaceSwap.Inference.Models;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.Onnx;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap.Enhancement;
using FaceSwap.Vision;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FaceSwap.Swap.Tests;

/// <summary>
/// The enhancement stage's pre- and post-processing on generated models with the enhancers' signatures (GFPGAN 1.4,
/// CodeFormer, GPEN-BFR 256), none of the real weights: one "restores" every face to one flat colour (R beyond the
/// [−1, 1] range, so the clipping shows), one paints where its template puts an eye.
/// </summary>
public sealed class FaceEnhancerTests(AnalyzerOnlyFixture fixture) : IClassFixture<AnalyzerOnlyFixture>, IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    /// <summary>output = input · 0 + (R 3.0, G −1, B 0): after the clip, BGR (128, 0, 255) in the crop.</summary>
    private ModelSession FlatColourEnhancer()
    {
        var graph = new OnnxGraphBuilder("generated-gfpgan-shaped");
        graph.AddInput("input", DataType.Float, 1, 3, 512, 512);
        var zero = graph.AddInitializer("zero", [0f, 0f, 0f], 1, 3, 1, 1);
        var colour = graph.AddInitializer("colour", [3f, -1f, 0f], 1, 3, 1, 1);
        var scaled = graph.AddNode("Mul", ["input", zero], "scaled");
        graph.AddOutputNode("Add", [scaled, colour], "output");
        graph.AddOutput("output", DataType.Float, 1, 3, 512, 512);
        return Open(graph, ModelPresets.Gfpgan14);
    }

    /// <summary>Writes the generated graph, adds it to a store as <c>fsc models add</c> does, and opens it.</summary>
    private ModelSession Open(OnnxGraphBuilder graph, ModelPreset preset)
    {
        var path = Path.Combine(_dir.Path, preset.Name + ".onnx");
        File.WriteAllBytes(path, graph.Build("test", "1", "generated").ToByteArray());
        var store = new ModelStore(Path.Combine(_dir.Path, "store-" + preset.Name));
        var check = PresetChecker.Check(path, preset);
        Assert.True(check.Fits, string.Join("; ", check.Differences));
        return ModelSession.Open(store, PresetChecker.Add(store, check).Name, new InferenceOptions(), NullLogger.Instance);
    }

    [Fact]
    public void A_generated_model_restores_the_face_region_clips_its_range_and_blends_by_strength()
    {
        using var model = FlatColourEnhancer();
        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample1.jpg"));
        var face = fixture.Analyzer.Analyze(BgrImage.Of(photo)).MaxBy(f => f.Detection.Score)!;
        var enhancer = new FaceEnhancer(model, new EnhancerOptions { Blend = 0.5f });
        using var frame = photo.Clone();
        enhancer.Enhance(frame, face.FivePoints);

        // The nose tip maps to the crop's centre, deep inside the mask: half the flat colour, half the frame.
        var nose = face.FivePoints[2];
        var before = photo.At<Vec3b>((int)nose.Y, (int)nose.X);
        var after = frame.At<Vec3b>((int)nose.Y, (int)nose.X);
        byte[] colour = [128, 0, 255]; // B from 0 → 127.5 rounded, G from −1 → 0, R from 3 clipped to 1 → 255
        for (var c = 0; c < 3; c++)
            Assert.InRange(after[c], (before[c] + colour[c]) / 2 - 2, (before[c] + colour[c]) / 2 + 2);

        // Far from the face nothing changes; the crop's edge is feathered (a band between untouched and full).
        var box = face.Detection.Box;
        Assert.Equal(photo.At<Vec3b>(5, 5), frame.At<Vec3b>(5, 5));
        using var difference = new Mat();
        Cv2.Absdiff(photo, frame, difference);
        using var grey = difference.CvtColor(ColorConversionCodes.BGR2GRAY);
        var changed = Cv2.CountNonZero(grey);
        Assert.InRange(changed, (int)(box.Width * box.Height), (int)(12 * box.Width * box.Height));
    }

    [Fact]
    public void Blend_zero_leaves_the_frame_as_it_was_and_bad_options_are_refused()
    {
        using var model = FlatColourEnhancer();
        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample1.jpg"));
        var face = fixture.Analyzer.Analyze(BgrImage.Of(photo)).MaxBy(f => f.Detection.Score)!;
        using var frame = photo.Clone();
        new FaceEnhancer(model, new EnhancerOptions { Blend = 0 }).Enhance(frame, face.FivePoints);
        using var difference = new Mat();
        Cv2.Absdiff(photo, frame, difference);
        Assert.Equal(0, Cv2.CountNonZero(difference.Reshape(1)));

        Assert.Throws<ArgumentException>(() => new FaceEnhancer(model, new EnhancerOptions { Blend = 1.5f }));
        Assert.Throws<ArgumentException>(() => new FaceEnhancer(model, new EnhancerOptions { EveryNthFrame = 0 }));
    }

    [Fact]
    public void The_stream_engine_enhances_every_kth_frame_and_says_when_it_has_no_enhancer()
    {
        using var model = FlatColourEnhancer();
        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample5.jpg"));
        var faces = fixture.Analyzer.Analyze(BgrImage.Of(photo));
        using var source = FaceSwap.Swap.Evaluation.SwapEvaluation.SourceFrom(photo, faces[0]);
        var engine = new StreamSwapEngine(fixture.Analyzer, source, enhancer: new FaceEnhancer(model, new EnhancerOptions { EveryNthFrame = 2 }));
        var enhanced = Enumerable.Range(0, 3).Select(_ =>
        {
            using var frame = photo.Clone();
            return engine.Process(frame).Enhanced;
        }).ToList();
        Assert.Equal([5, 0, 5], enhanced);
        Assert.Contains("every 2 frame(s)", engine.EnhancementStatus);

        var plain = new StreamSwapEngine(fixture.Analyzer, source);
        using (var frame = photo.Clone()) Assert.Equal(0, plain.Process(frame).Enhanced);
        Assert.StartsWith("off: no enhancer model", plain.EnhancementStatus);
    }

    [Fact]
    public void A_generated_codeformer_shaped_model_gets_the_configured_fidelity()
    {
        // output = (R 3, G −1, B 0) · w: the fidelity decides the colour, so the test sees what was fed.
        var graph = new OnnxGraphBuilder("generated-codeformer-shaped");
        graph.AddInput("input", DataType.Float, 1, 3, 512, 512);
        graph.AddInput("weight", DataType.Double, 1);
        var zero = graph.AddInitializer("zero", [0f, 0f, 0f], 1, 3, 1, 1);
        var colour = graph.AddInitializer("colour", [3f, -1f, 0f], 1, 3, 1, 1);
        var w = graph.AddNode("Cast", ["weight"], "w", OnnxAttribute.Of("to", (long)DataType.Float));
        var tinted = graph.AddNode("Mul", [colour, w], "tinted");
        var scaled = graph.AddNode("Mul", ["input", zero], "scaled");
        graph.AddOutputNode("Add", [scaled, tinted], "output");
        graph.AddOutput("output", DataType.Float, 1, 3, 512, 512);
        using var model = Open(graph, ModelPresets.CodeFormer);

        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample1.jpg"));
        var face = fixture.Analyzer.Analyze(BgrImage.Of(photo)).MaxBy(f => f.Detection.Score)!;
        var nose = face.FivePoints[2];
        Vec3b At(float fidelity)
        {
            using var frame = photo.Clone();
            new FaceEnhancer(model, new EnhancerOptions { Blend = 1, Fidelity = fidelity }).Enhance(frame, face.FivePoints);
            return frame.At<Vec3b>((int)nose.Y, (int)nose.X);
        }
        var full = At(1); // (B 0 → 128, G −1 → 0, R 3 → 255)
        var none = At(0); // all channels 0 → 128
        Assert.InRange(full.Item0, 126, 130);
        Assert.InRange(full.Item1, 0, 2);
        Assert.InRange(full.Item2, 253, 255);
        Assert.All(new[] { none.Item0, none.Item1, none.Item2 }, v => Assert.InRange(v, 126, 130));
    }

    [Fact]
    public void A_generated_gpen_256_shaped_model_gets_the_face_on_the_arcface_128_template_not_ffhq()
    {
        // The model paints a green square (±6 px) where FaceFusion's arcface_128 template, ×2, puts the image-left
        // eye, and passes everything else through. Both templates written out here, apart from the code under test.
        const int Size = 256, Half = 6;
        // insightface's arcface_dst at 128 (+8 px in x), ×2; its first point is the image-left eye.
        Point2f[] template = [new((38.2946f + 8) * 2, 51.6963f * 2), new((73.5318f + 8) * 2, 51.5014f * 2),
            new((56.0252f + 8) * 2, 71.7366f * 2), new((41.5493f + 8) * 2, 92.3655f * 2), new((70.7299f + 8) * 2, 92.2041f * 2)];
        var arcface = template[0];
        var ffhq = new Point2f(192.98138f / 2, 239.94708f / 2);       // facexlib's FFHQ template at 512, ÷2
        var keep = new float[Size * Size];
        var paint = new float[3 * Size * Size];
        for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
            {
                var inside = Math.Abs(x - arcface.X) <= Half && Math.Abs(y - arcface.Y) <= Half;
                keep[y * Size + x] = inside ? 0 : 1;
                if (inside) (paint[y * Size + x], paint[Size * Size + y * Size + x], paint[2 * Size * Size + y * Size + x]) = (-1f, 1f, -1f); // RGB: green
            }
        var graph = new OnnxGraphBuilder("generated-gpen-256-shaped");
        graph.AddInput("input", DataType.Float, 1, 3, Size, Size);
        var keepMask = graph.AddInitializer("keep", keep, 1, 1, Size, Size);
        var green = graph.AddInitializer("paint", paint, 1, 3, Size, Size);
        var kept = graph.AddNode("Mul", ["input", keepMask], "kept");
        graph.AddOutputNode("Add", [kept, green], "output");
        graph.AddOutput("output", DataType.Float, 1, 3, Size, Size);
        using var model = Open(graph, ModelPresets.GpenBfr256);

        using var photo = ImageFile.ReadBgr(Path.Combine(TestPaths.SamplePhotos, "sample1.jpg"));
        var face = fixture.Analyzer.Analyze(BgrImage.Of(photo)).MaxBy(f => f.Detection.Score)!;
        using var frame = photo.Clone();
        new FaceEnhancer(model, new EnhancerOptions { Blend = 1 }).Enhance(frame, face.FivePoints);

        var fit = IndependentFit.LeastSquaresSimilarity(face.FivePoints, template);
        static int Greenness(Vec3b bgr) => bgr.Item1 - (bgr.Item0 + bgr.Item2) / 2;
        var painted = IndependentFit.Inverse(fit, arcface);
        Assert.True(Greenness(frame.At<Vec3b>((int)Math.Round(painted.Y), (int)Math.Round(painted.X))) > 200,
            $"the arcface_128 eye point ({painted.X:F0},{painted.Y:F0}) is not green: the crop was not aligned to GPEN 256's template");
        // Where the FFHQ template would have put that eye (17 crop pixels lower), the face is only passed through.
        var elsewhere = IndependentFit.Inverse(fit, ffhq);
        var (column, row) = ((int)Math.Round(elsewhere.X), (int)Math.Round(elsewhere.Y));
        Assert.InRange(Greenness(frame.At<Vec3b>(row, column)) - Greenness(photo.At<Vec3b>(row, column)), -40, 40);
        Assert.Equal(ModelPresets.GpenBfr256.Name, model.Manifest.Preset);
    }
}
