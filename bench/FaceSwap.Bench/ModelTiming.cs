using System.Diagnostics;
using FaceSwap.Inference.Runtime;

namespace FaceSwap.Bench;

/// <summary>A model timed alone on this provider, outside any batcher.</summary>
public static class ModelTiming
{
    /// <summary>Mean time of one run of <paramref name="model"/> at <paramref name="batch"/>, after 5 warm-up runs, over <paramref name="runs"/> runs.</summary>
    public static double MeanRunMs(ModelSession model, int batch, int runs)
    {
        using var bound = model.Bind(batch);
        var input = bound.Input();
        for (var i = 0; i < input.Length; i++) input[i] = (i % 255) / 255f;
        for (var i = 0; i < 5; i++) bound.Run();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < runs; i++) bound.Run();
        return clock.Elapsed.TotalMilliseconds / runs;
    }
}
