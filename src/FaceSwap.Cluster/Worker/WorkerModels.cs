using System.Collections.Concurrent;
using FaceSwap.Faces;
using FaceSwap.Inference.Runtime;

namespace FaceSwap.Cluster.Worker;

/// <summary>
/// What a gpu-worker node's stage entities share: one analyser (detector, landmarker, embedder), the source faces
/// behind their consent, and the enhancers, opened once per node. Inference runs one call at a time per node:
/// the sessions keep per-call buffers, and batching across streams is the executor's job, not the entities'.
/// </summary>
public sealed class WorkerModels(FaceAnalyzer analyzer, ISourceFaces sources, string workerName, Func<string, ModelSession>? openEnhancer = null) : IDisposable
{
    /// <summary>Entities block on inference: they run on their own threads, so cluster heartbeats never wait behind a model.</summary>
    public const string Dispatcher = "faceswap.stage-dispatcher";

    private readonly Lock _inference = new();
    private readonly ConcurrentDictionary<string, Lazy<ModelSession>> _enhancers = new();

    public FaceAnalyzer Analyzer { get; } = analyzer;
    public ISourceFaces Sources { get; } = sources;
    /// <summary>The node's name, returned with every answer so the edge can tell which worker served a frame.</summary>
    public string Name { get; } = workerName;

    public T Run<T>(Func<T> inference)
    {
        lock (_inference) return inference();
    }

    /// <exception cref="InvalidOperationException">this worker was started without enhancer models</exception>
    public ModelSession EnhancerModel(string name)
    {
        if (openEnhancer is null) throw new InvalidOperationException($"worker {Name} has no enhancer models: '{name}' cannot run here");
        return _enhancers.GetOrAdd(name, n => new Lazy<ModelSession>(() => openEnhancer(n))).Value;
    }

    public void Dispose()
    {
        foreach (var model in _enhancers.Values.Where(m => m.IsValueCreated)) model.Value.Dispose();
        Analyzer.Dispose();
    }
}
