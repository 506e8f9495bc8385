using FaceSwap.Inference.Models;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit.Abstractions;

namespace FaceSwap.Inference.Tests;

/// <summary>
/// The converted ONNX models, run by ONNX Runtime, against TF.js (tfjs-backend-cpu in Node) on the same inputs:
/// real face crops from the sample photos, noise, and a batch of two.
/// </summary>
public sealed class TfjsParityTests(DefaultPackFixture pack, ITestOutputHelper output) : IClassFixture<DefaultPackFixture>
{
    // The acceptance limits of the foundation issue.
    private const float ScoreTolerance = 1e-3f;      // detector scores and box/keypoint regressions, max abs
    private const float LandmarkTolerancePx = 0.05f; // landmarks, at the model's input scale
    private const double MinEmbeddingCosine = 0.9999;
    private const float MaskTolerance = 1e-3f;        // segmentation mask, max abs

    [Theory]
    [InlineData("blazeface-back")]
    [InlineData("facemesh")]
    [InlineData("mobilefacenet")]
    [InlineData("selfie")]
    [InlineData("mobileface")]
    public void Converted_model_matches_tfjs_on_every_case(string model)
    {
        var manifest = pack.Store.Get(model);
        using var session = new InferenceSession(pack.Store.VerifiedPath(manifest));
        var cases = ReferenceCase.Load(Path.Combine(pack.ReferenceDir, model + ".json"));
        Assert.Contains(cases, c => c.Kind == "face");
        Assert.Contains(cases, c => c.Kind == "noise");

        foreach (var reference in cases)
        {
            var input = new DenseTensor<float>(reference.Input.Data, reference.Input.Shape);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(reference.Input.Name, input)]);
            foreach (var expected in reference.Outputs)
            {
                var actual = results.Single(r => r.Name == expected.Name).AsTensor<float>();
                Assert.Equal(expected.Shape, actual.Dimensions.ToArray());
                var values = actual.ToArray();
                var errors = values.Zip(expected.Data, (a, b) => Math.Abs(a - b)).ToArray();
                var worst = Array.IndexOf(errors, errors.Max());
                var maxError = errors[worst];
                var where = $"{model} case '{reference.Name}' output '{expected.Name}' (worst at {worst}: tfjs {expected.Data[worst]}, onnx {values[worst]})";
                switch (model, expected.Name)
                {
                    case ("facemesh", "Identity" or "Identity_2"):
                        output.WriteLine($"{where}: max landmark error {maxError:E2} px");
                        Assert.True(maxError <= LandmarkTolerancePx, $"{where}: max error {maxError} px > {LandmarkTolerancePx} px");
                        break;
                    case ("blazeface-back", "Identity" or "Identity_1"):
                        // Score logits reach -700 far from faces, where float32 rounding alone exceeds 1e-3; the limit
                        // holds for the scores they become (sigmoid), and the logits agree to 1e-4 relative.
                        var scoreError = values.Zip(expected.Data, (a, b) => Math.Abs(Sigmoid(a) - Sigmoid(b))).Max();
                        var relative = values.Zip(expected.Data, (a, b) => Math.Abs(a - b) / Math.Max(1f, Math.Abs(b))).Max();
                        output.WriteLine($"{where}: max score error {scoreError:E2}, max logit error {maxError:E2} abs, {relative:E2} relative");
                        Assert.True(scoreError <= ScoreTolerance, $"{where}: max score error {scoreError} > {ScoreTolerance}");
                        Assert.True(relative <= 1e-4f, $"{where}: max relative logit error {relative} > 1e-4");
                        break;
                    case ("mobilefacenet" or "mobileface", _):
                        if (model == "mobilefacenet")
                            // Its embeddings all lie close together (cosine >= 0.999 even between people),
                            // so the values must match closely too, not only their direction.
                            Assert.True(maxError <= 1e-4f, $"{where}: max abs error {maxError} > 1e-4");
                        else
                        {
                            // Not normalised in the graph (values of a few units): compared relative to the largest.
                            var largest = expected.Data.Max(Math.Abs);
                            Assert.True(maxError <= 1e-4f * largest, $"{where}: max abs error {maxError} > 1e-4 × {largest}");
                        }
                        var batch = expected.Shape[0];
                        var width = expected.Data.Length / batch;
                        for (var b = 0; b < batch; b++)
                        {
                            var cosine = Cosine(values.AsSpan(b * width, width), expected.Data.AsSpan(b * width, width));
                            output.WriteLine($"{where}[{b}]: cosine {cosine:F7}");
                            Assert.True(cosine >= MinEmbeddingCosine, $"{where}[{b}]: cosine {cosine} < {MinEmbeddingCosine}");
                        }
                        break;
                    default:
                        var tolerance = model == "selfie" ? MaskTolerance : ScoreTolerance;
                        output.WriteLine($"{where}: max abs error {maxError:E2}");
                        Assert.True(maxError <= tolerance, $"{where}: max abs error {maxError} > {tolerance}");
                        break;
                }
            }
        }
    }

    [Fact]
    public void Blazeface_with_fixed_batch_of_one_in_tfjs_runs_a_batch_of_two_after_conversion()
    {
        // The converter makes the batch dynamic so one session serves frames from many streams.
        var manifest = pack.Store.Get("blazeface-back");
        Assert.Equal(-1, manifest.Inputs[0].Shape[0]);
        using var session = new InferenceSession(pack.Store.VerifiedPath(manifest));
        var cases = ReferenceCase.Load(Path.Combine(pack.ReferenceDir, "blazeface-back.json")).Take(2).ToList();
        var stacked = cases.SelectMany(c => c.Input.Data).ToArray();
        int[] shape = [2, .. cases[0].Input.Shape[1..]];
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(cases[0].Input.Name, new DenseTensor<float>(stacked, shape))]);
        foreach (var expected in cases[0].Outputs)
        {
            var actual = results.Single(r => r.Name == expected.Name).AsTensor<float>().ToArray();
            for (var b = 0; b < 2; b++)
            {
                var reference = cases[b].Outputs.Single(o => o.Name == expected.Name).Data;
                var maxError = reference.Select((v, i) => Math.Abs(v - actual[b * reference.Length + i]) / Math.Max(1f, Math.Abs(v))).Max();
                Assert.True(maxError <= 1e-4f, $"batch item {b} output {expected.Name}: max relative error {maxError}");
            }
        }
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }
}
