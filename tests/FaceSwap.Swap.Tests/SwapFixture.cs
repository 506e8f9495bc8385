using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace FaceSwap.Swap.Tests;

/// <summary>The analyser (photo mode) and the average face of the six sample photos, built once per test class.</summary>
public sealed class SwapFixture : IDisposable
{
    public SwapFixture()
    {
        Analyzer = OpenPhotoAnalyzer();
        Average = AverageFaceBuilder.Build(Analyzer, Samples);
    }

    /// <summary>The default pack (built if needed) behind a photo-mode analyser.</summary>
    public static FaceAnalyzer OpenPhotoAnalyzer()
    {
        var store = new ModelStore(TestPaths.ModelStore);
        DefaultPackBuilder.Build(TestPaths.NodeModules, store);
        return FaceAnalyzer.Open(store, new InferenceOptions(), DetectorOptions.Photos, NullLogger.Instance);
    }

    public static IReadOnlyList<string> Samples { get; } = Enumerable.Range(1, 6).Select(n => Path.Combine(TestPaths.SamplePhotos, $"sample{n}.jpg")).ToList();

    public FaceAnalyzer Analyzer { get; }
    public AverageFaceBuilder.Result Average { get; }

    public void Dispose()
    {
        Average.Face.Dispose();
        Analyzer.Dispose();
    }
}

/// <summary>The face analyser alone (photo mode): for tests that need five points, not the average face.</summary>
public sealed class AnalyzerOnlyFixture : IDisposable
{
    public FaceAnalyzer Analyzer { get; } = SwapFixture.OpenPhotoAnalyzer();
    public void Dispose() => Analyzer.Dispose();
}
