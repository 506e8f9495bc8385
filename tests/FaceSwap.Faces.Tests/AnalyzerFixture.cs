using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace FaceSwap.Faces.Tests;

/// <summary>The default pack (built if needed) opened once per test class as a photo analyser.</summary>
public sealed class AnalyzerFixture : IDisposable
{
    public AnalyzerFixture()
    {
        var store = new ModelStore(TestPaths.ModelStore);
        DefaultPackBuilder.Build(TestPaths.NodeModules, store);
        Analyzer = FaceAnalyzer.Open(store, new InferenceOptions(), DetectorOptions.Photos, NullLogger.Instance);
    }

    public FaceAnalyzer Analyzer { get; }

    public void Dispose() => Analyzer.Dispose();
}
