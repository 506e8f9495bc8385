using System.Collections.Concurrent;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Faces.Landmarks;
using FaceSwap.Inference.Batching;
using FaceSwap.Inference.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FaceSwap.Cluster.Worker;

/// <summary>
/// What a gpu-worker node's stage entities share: the detector and FaceMesh behind one batcher each (requests of
/// all streams form batches), the source faces behind their consent, and the enhancers, opened once per node.
/// </summary>
public sealed class WorkerModels : IDisposable
{
    /// <summary>Entities block on inference: they run on their own threads, so cluster heartbeats never wait behind a model.</summary>
    public const string Dispatcher = "faceswap.stage-dispatcher";

    private readonly Func<string, ModelSession>? _openEnhancer;
    private readonly Lock _enhancing = new();
    private readonly ConcurrentDictionary<string, Lazy<ModelSession>> _enhancers = new();

    /// <param name="analyzer">its sessions back the batchers (ONNX Runtime sessions run concurrently; the analyser's own buffers stay unused here)</param>
    /// <param name="batching">max batch and max queue delay of both batchers; none: <see cref="BatchingOptions"/>' defaults</param>
    public WorkerModels(FaceAnalyzer analyzer, ISourceFaces sources, string workerName, Func<string, ModelSession>? openEnhancer = null,
        BatchingOptions? batching = null, ILogger? logger = null)
    {
        Analyzer = analyzer;
        Sources = sources;
        Name = workerName;
        _openEnhancer = openEnhancer;
        Batching = (batching ?? new BatchingOptions()).Validated();
        Detector = new BatchedDetector(analyzer.Detector.Model, new DetectorOptions(), Batching, logger ?? NullLogger.Instance);
        Landmarks = new BatchedLandmarker(analyzer.Landmarker.Model, Batching, logger ?? NullLogger.Instance);
    }

    public FaceAnalyzer Analyzer { get; }
    public ISourceFaces Sources { get; }
    /// <summary>The node's name, returned with every answer so the edge can tell which worker served a frame.</summary>
    public string Name { get; }
    public BatchingOptions Batching { get; }
    public BatchedDetector Detector { get; }
    public BatchedLandmarker Landmarks { get; }

    /// <summary>What each batcher has done so far: batch sizes, expired requests, waits.</summary>
    public IReadOnlyList<BatchingStats> BatchingStats() => [Detector.Batcher.Stats(), Landmarks.Batcher.Stats()];

    /// <summary>Runs an enhancer, one call at a time per node: enhancers are bring-your-own models, not batched, and their sessions keep per-call buffers.</summary>
    public void Enhance(Action enhance)
    {
        lock (_enhancing) enhance();
    }

    /// <exception cref="InvalidOperationException">this worker was started without enhancer models</exception>
    public ModelSession EnhancerModel(string name)
    {
        if (_openEnhancer is null) throw new InvalidOperationException($"worker {Name} has no enhancer models: '{name}' cannot run here");
        return _enhancers.GetOrAdd(name, n => new Lazy<ModelSession>(() => _openEnhancer(n))).Value;
    }

    public void Dispose()
    {
        Detector.Dispose();
        Landmarks.Dispose();
        foreach (var model in _enhancers.Values.Where(m => m.IsValueCreated)) model.Value.Dispose();
        Analyzer.Dispose();
    }
}
