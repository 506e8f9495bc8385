using System.CommandLine;
using System.Text.Json;
using FaceSwap.Cluster.Configuration;
using FaceSwap.Faces;
using FaceSwap.Governance.Consent;
using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap;
using FaceSwap.Swap.Evaluation;
using FaceSwap.Swap.Identities;
using FaceSwap.Vision;
using Microsoft.Extensions.Logging;
using OpenCvSharp;

namespace FaceSwap.Cli.Commands;

/// <summary>
/// <c>fsc eval</c>: the swap's quality on the sample photos, measured before any mark: identity similarity to the
/// source and to the target, landmark agreement, SSIM outside the face, still-sequence jitter and flicker, cost.
/// </summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var identity = new Option<string>("--identity") { Description = "Source identity (default: average).", DefaultValueFactory = _ => "average" };
        var photoSources = new Option<bool>("--photo-sources") { Description = "Also use every face of the sample photos as a source, onto the faces of the other photos." };
        var json = new Option<string?>("--json") { Description = "Write every measurement as a JSON line to this file." };
        var plot = new Option<string?>("--plot") { Description = "Write a histogram of the identity margins to this PNG." };
        var feather = new Option<float>("--feather") { Description = "Width of the feathered edge, as a fraction of the face's size.", DefaultValueFactory = _ => new SwapOptions().Feather };
        var blend = new Option<BlendMode>("--blend") { DefaultValueFactory = _ => BlendMode.Feather, Description = "Feather or Seamless." };
        var shape = new Option<float>("--shape") { Description = "How far the inner features take the source's shape, 0 to 1.", DefaultValueFactory = _ => new SwapOptions().ShapeTransfer };
        var colour = new Option<ColorTransfer>("--color") { Description = "Colour transfer: LabStatistics or None.", DefaultValueFactory = _ => new SwapOptions().Color };
        var keep = new Option<bool>("--keep-eyes-and-mouth") { Description = "Keep the target's eye and mouth openings.", DefaultValueFactory = _ => new SwapOptions().KeepEyesAndMouth };
        var swapper = new Option<string>("--swapper") { Description = "mesh (built in), or a bring-your-own swapper from the model store: inswapper_128, simswap_256.", DefaultValueFactory = _ => "mesh" };
        swapper.AcceptOnlyFromAmong(["mesh", .. FaceSwap.Swap.Neural.NeuralSwapper.EmbedderOf.Keys]);
        var command = new Command("eval", "Measure a swap on the sample photos (the built-in one, or a bring-your-own): identity, landmarks, SSIM outside the face, jitter, flicker, cost.")
            { identity, photoSources, json, plot, blend, feather, shape, colour, keep, swapper };
        command.SetAction(parse => CliErrors.Run(() => Run(parse.GetValue(identity)!, parse.GetValue(photoSources),
            parse.GetValue(json), parse.GetValue(plot), new SwapOptions
            {
                Blend = parse.GetValue(blend), Feather = parse.GetValue(feather), ShapeTransfer = parse.GetValue(shape),
                Color = parse.GetValue(colour), KeepEyesAndMouth = parse.GetValue(keep),
            }, parse.GetValue(swapper)!)));
        return command;
    }

    private static int Run(string identityId, bool photoSources, string? jsonPath, string? plotPath, SwapOptions options, string swapperName)
    {
        var settings = FscSettings.Load();
        var identityStore = settings.IdentityStore;
        using var logging = CliLogging.Create();
        using (var governance = CliGovernance.Open(settings, logging.CreateLogger("consent")))
            governance.Consent.Require(identityId, ConsentScopes.Eval, DateTimeOffset.UtcNow);
        var models = new ModelStore(RepositoryPaths.ModelStore);
        using var analyzer = FaceAnalyzer.Open(models, new InferenceOptions(), DetectorOptions.Photos, logging.CreateLogger("fsc"));
        using var neuralModels = swapperName == "mesh" ? null : ByoModels.OpenNeural(models, swapperName, new InferenceOptions { ModelPrecision = settings.ModelPrecision }, logging.CreateLogger("fsc"));
        var neural = neuralModels?.Swapper;
        var (record, identity) = new IdentityStore(identityStore).Load(identityId);
        using var identityFace = identity;
        var identityEmbedding = analyzer.Analyze(BgrImage.Of(identity.Texture)).FirstOrDefault()?.Embedding
            ?? throw new ImageFileException(Path.Combine(identityStore, identityId, "face.png"), "no face found in the identity's texture");

        var photos = Enumerable.Range(1, 6).Select(n => Path.Combine(RepositoryPaths.SamplePhotos, $"sample{n}.jpg")).ToList();
        var images = photos.Select(p => ImageFile.ReadBgr(p)).ToList();
        try
        {
            var faces = images.Select(image => analyzer.Analyze(BgrImage.Of(image))).ToList();
            var measurements = new List<(string Kind, SwapMeasurement Measurement)>();
            for (var t = 0; t < images.Count; t++)
            {
                measurements.AddRange(SwapEvaluation.Measure(analyzer, record.Id, identity, identityEmbedding, Path.GetFileName(photos[t]), images[t], faces[t], options, neural).Select(m => ("identity", m)));
                Console.Error.Write($"\r{record.Id}: {t + 1}/{images.Count} photos");
            }
            Console.Error.WriteLine();
            if (photoSources)
                for (var s = 0; s < images.Count; s++)
                {
                    for (var f = 0; f < faces[s].Count; f++)
                    {
                        using var source = SwapEvaluation.SourceFrom(images[s], faces[s][f]);
                        for (var t = 0; t < images.Count; t++)
                            if (t != s)
                                measurements.AddRange(SwapEvaluation.Measure(analyzer, $"{Path.GetFileName(photos[s])}#{f}", source, faces[s][f].Embedding,
                                    Path.GetFileName(photos[t]), images[t], faces[t], options, neural).Select(m => ("photo faces", m)));
                    }
                    Console.Error.Write($"\rphoto sources: {s + 1}/{images.Count} photos");
                }
            if (photoSources) Console.Error.WriteLine();

            foreach (var group in measurements.GroupBy(m => m.Kind))
            {
                var list = group.Select(g => g.Measurement).ToList();
                Console.WriteLine($"sources: {group.Key} ({list.Count} swaps)");
                Console.WriteLine($"  identity margin cos(out,source)-cos(out,target): {Distribution(list.Select(m => (double)m.Margin))}; >= 0.10 for {list.Count(m => m.Margin >= 0.10f)}/{list.Count}");
                Console.WriteLine($"  cos(out,source): {Distribution(list.Select(m => (double)m.CosineToSource))}");
                Console.WriteLine($"  cos(out,target): {Distribution(list.Select(m => (double)m.CosineToTarget))}");
                Console.WriteLine($"  landmark error, median over 468 points, in IOD: {Distribution(list.Select(m => (double)m.LandmarkError))}");
                Console.WriteLine($"  SSIM outside the dilated face: {Distribution(list.Select(m => m.SsimOutsideFace))}");
                Console.WriteLine($"  swap cost per face (ms, 1920-px photo): {Distribution(list.Select(m => m.SwapMilliseconds))}");
            }

            using var still = StillFrames.Astronaut640x480();
            using (var streaming = FaceAnalyzer.Open(models, new InferenceOptions(), new DetectorOptions(), logging.CreateLogger("fsc")))
            {
                var sequence = SwapEvaluation.StillSequence(streaming, identity, still, new StreamEngineOptions { Swap = options }, noiseSigma: 1, neural: neural);
                Console.WriteLine($"still sequence (astronaut, 640x480, 60 frames, noise sigma 1): landmark std {sequence.LandmarkStd:F3} px (max {sequence.LandmarkStdMax:F3}), " +
                    $"jitter {sequence.Jitter:F3} px/frame, flicker {sequence.Flicker:F3} grey levels, {sequence.MillisecondsPerFrame:F1} ms per frame");
            }

            if (jsonPath is not null)
                File.WriteAllLines(jsonPath, measurements.Select(m => JsonSerializer.Serialize(new { kind = m.Kind, m.Measurement.Source, m.Measurement.Target, m.Measurement.Margin,
                    m.Measurement.CosineToSource, m.Measurement.CosineToTarget, m.Measurement.LandmarkError, m.Measurement.SsimOutsideFace, m.Measurement.SwapMilliseconds })));
            if (plotPath is not null) Histogram(measurements.Select(m => (double)m.Measurement.Margin).ToList(), plotPath);
            return 0;
        }
        finally
        {
            foreach (var image in images) image.Dispose();
        }
    }

    private static string Distribution(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        double At(double q) => sorted[(int)Math.Min(sorted.Count - 1, Math.Round(q * (sorted.Count - 1)))];
        return $"min {sorted[0]:F3}  p10 {At(0.1):F3}  p50 {At(0.5):F3}  p90 {At(0.9):F3}  p99 {At(0.99):F3}  max {sorted[^1]:F3}";
    }

    /// <summary>A bar chart of the margins, with the acceptance line at 0.10.</summary>
    private static void Histogram(List<double> margins, string path)
    {
        const int Width = 720, Height = 360, Bins = 40;
        const double Low = -0.3, High = 0.5;
        using var chart = new Mat(Height, Width, MatType.CV_8UC3, Scalar.White);
        var counts = new int[Bins];
        foreach (var m in margins) counts[Math.Clamp((int)((m - Low) / (High - Low) * Bins), 0, Bins - 1)]++;
        var top = Math.Max(1, counts.Max());
        const int Left = 50, Bottom = 310, PlotWidth = Width - 70, PlotHeight = 260;
        for (var b = 0; b < Bins; b++)
        {
            var h = (int)(PlotHeight * counts[b] / (double)top);
            Cv2.Rectangle(chart, new Rect(Left + b * PlotWidth / Bins + 1, Bottom - h, PlotWidth / Bins - 2, h), new Scalar(180, 110, 40), -1);
        }
        var threshold = Left + (int)((0.10 - Low) / (High - Low) * PlotWidth);
        Cv2.Line(chart, new Point(threshold, Bottom - PlotHeight), new Point(threshold, Bottom), Scalar.Red, 2);
        Cv2.Line(chart, new Point(Left, Bottom), new Point(Left + PlotWidth, Bottom), Scalar.Black, 1);
        for (var tick = Low; tick <= High + 1e-9; tick += 0.1)
        {
            var x = Left + (int)((tick - Low) / (High - Low) * PlotWidth);
            Cv2.PutText(chart, $"{tick:F1}", new Point(x - 12, Bottom + 18), HersheyFonts.HersheySimplex, 0.4, Scalar.Black);
        }
        Cv2.PutText(chart, $"identity margin cos(out,source) - cos(out,target), {margins.Count} swaps; red: 0.10", new Point(Left, 30), HersheyFonts.HersheySimplex, 0.5, Scalar.Black);
        Cv2.PutText(chart, $"max count {top}", new Point(Left, 48), HersheyFonts.HersheySimplex, 0.4, Scalar.Black);
        Cv2.ImWrite(path, chart);
    }
}
