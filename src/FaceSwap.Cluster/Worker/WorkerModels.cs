using System.Collections.Concurrent;
using FaceSwap.Contracts.Placement;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Faces.Landmarks;
using FaceSwap.Inference.Batching;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FaceSwap.Cluster.Worker;

/// <summary>
/// What a gpu-worker node's stage entities share: the face-analysis models (detector and FaceMesh behind one batcher
/// each, so requests of all streams form batches), the source faces behind their consent, and the enhancers the
/// placement coordinator told this worker to load. Models load and unload at the coordinator's word.
/// </summary>
public sealed class WorkerModels : IModelHost, IDisposable
{
    /// <summary>Entities block on inference: they run on their own threads, so cluster heartbeats never wait behind a model.</summary>
    public const string Dispatcher = "faceswap.stage-dispatcher";

    /// <summary>The default pack's detector, FaceMesh and embedder as one unit: every stream's detect and swap need all three.</summary>
    public const string FaceAnalysis = Placement.PlacementPolicy.FaceAnalysis;

    private readonly Func<FaceAnalyzer>? _reopenAnalysis;
    private readonly ModelStore? _enhancerStore;
    private readonly InferenceOptions _inference;
    private readonly ILogger _logger;
    private readonly Lock _loading = new();
    private readonly Lock _enhancing = new();
    private readonly ConcurrentDictionary<string, ModelSession> _enhancers = new();
    private readonly ConcurrentDictionary<string, long> _loadFailures = new();
    private readonly long _analysisBytes;
    private volatile Analysis? _analysis;

    /// <summary>The face-analysis unit while loaded; a new instance on each load, so entities notice a reload.</summary>
    private sealed class Analysis(FaceAnalyzer analyzer, BatchingOptions batching, ILogger logger) : IDisposable
    {
        public FaceAnalyzer Analyzer { get; } = analyzer;
        public BatchedDetector Detector { get; } = new(analyzer.Detector.Model, new DetectorOptions(), batching, logger);
        public BatchedLandmarker Landmarks { get; } = new(analyzer.Landmarker.Model, batching, logger);

        public void Dispose()
        {
            Detector.Dispose();
            Landmarks.Dispose();
            Analyzer.Dispose();
        }
    }

    /// <param name="analyzer">the face-analysis models, loaded (every worker starts with them: every stream needs them)</param>
    /// <param name="reopenAnalysis">opens them again after an unload; none: this worker cannot reload them</param>
    /// <param name="enhancers">where this worker's enhancer models are (face-enhancement models of the store); none: it offers no enhancer</param>
    /// <param name="batching">max batch and max queue delay of both batchers; none: <see cref="BatchingOptions"/>' defaults</param>
    public WorkerModels(FaceAnalyzer analyzer, ISourceFaces sources, string workerName, ModelStore? enhancers = null,
        BatchingOptions? batching = null, ILogger? logger = null, Func<FaceAnalyzer>? reopenAnalysis = null, InferenceOptions? inference = null)
    {
        Sources = sources;
        Name = workerName;
        _enhancerStore = enhancers;
        _reopenAnalysis = reopenAnalysis;
        _inference = inference ?? new InferenceOptions();
        _logger = logger ?? NullLogger.Instance;
        Batching = (batching ?? new BatchingOptions()).Validated();
        _analysis = new Analysis(analyzer, Batching, _logger);
        _analysisBytes = analyzer.Sessions.Sum(s => s.Bytes);
        Provider = analyzer.Providers.Select(p => p.Provider.ToString()).FirstOrDefault() ?? "Cpu";
    }

    public ISourceFaces Sources { get; }
    /// <summary>The node's name, returned with every answer so the edge can tell which worker served a frame.</summary>
    public string Name { get; }
    public BatchingOptions Batching { get; }
    /// <summary>The execution provider the face-analysis models run on (what the worker reports to the coordinator).</summary>
    public string Provider { get; }

    /// <exception cref="ModelNotLoadedException">the coordinator had the face-analysis models unloaded here</exception>
    public FaceAnalyzer Analyzer => Loaded().Analyzer;
    /// <inheritdoc cref="Analyzer"/>
    public BatchedDetector Detector => Loaded().Detector;
    /// <inheritdoc cref="Analyzer"/>
    public BatchedLandmarker Landmarks => Loaded().Landmarks;

    private Analysis Loaded() =>
        _analysis ?? throw new ModelNotLoadedException(FaceAnalysis, $"the face-analysis models are not loaded on worker {Name}: the placement plan moved them elsewhere");

    /// <summary>What each batcher has done so far: batch sizes, expired requests, waits (none while unloaded).</summary>
    public IReadOnlyList<BatchingStats> BatchingStats() =>
        _analysis is { } a ? [a.Detector.Batcher.Stats(), a.Landmarks.Batcher.Stats()] : [];

    /// <summary>FaceMesh requests so far (one per face region swapped); 0 while the face-analysis models are unloaded.</summary>
    public long Served => _analysis is { } a ? a.Landmarks.Batcher.Stats().Requests : 0;

    /// <summary>The models this worker can load, with the memory each takes: what it offers the placement coordinator.</summary>
    public IReadOnlyList<ModelOffer> Offers()
    {
        var offers = new List<ModelOffer> { new(FaceAnalysis, _analysisBytes) };
        if (_enhancerStore is not null && Directory.Exists(_enhancerStore.Directory))
            foreach (var manifest in _enhancerStore.List().Where(m => m.Task == "face-enhancement"))
            {
                var file = new FileInfo(_enhancerStore.ModelPath(manifest));
                offers.Add(new ModelOffer(manifest.Name, file.Exists ? file.Length : 0));
            }
        return offers;
    }

    /// <summary>Each loaded model file and the execution provider its session really runs on.</summary>
    public IReadOnlyList<(string Model, string Provider)> Providers() =>
        [.. (_analysis?.Analyzer.Providers ?? []).Concat(_enhancers.Values.Select(e => (e.Name, e.Provider))).Select(p => (p.Item1, p.Item2.ToString()))];

    /// <summary>The models loaded now.</summary>
    public IReadOnlyList<string> LoadedModels() =>
        [.. (_analysis is null ? [] : new[] { FaceAnalysis }).Concat(_enhancers.Keys.Order(StringComparer.Ordinal))];

    /// <summary>Loads <paramref name="model"/> (nothing when it is loaded already).</summary>
    /// <exception cref="ModelStoreException">no such model here, or its file does not match its manifest</exception>
    public void Load(string model)
    {
        try
        {
            LoadLocked(model);
        }
        catch (Exception)
        {
            _loadFailures.AddOrUpdate(model, 1, (_, n) => n + 1);
            throw;
        }
    }

    /// <summary>Failed loads so far, by model (the metrics' count; the exception itself goes to the caller).</summary>
    public IReadOnlyDictionary<string, long> LoadFailures => _loadFailures;

    private void LoadLocked(string model)
    {
        lock (_loading)
        {
            if (model == FaceAnalysis)
            {
                if (_analysis is not null) return;
                if (_reopenAnalysis is null) throw new InvalidOperationException($"worker {Name} cannot reload the face-analysis models once unloaded");
                _analysis = new Analysis(_reopenAnalysis(), Batching, _logger);
                return;
            }
            if (_enhancers.ContainsKey(model)) return;
            if (_enhancerStore is null || !_enhancerStore.Contains(model))
                throw new ModelStoreException(_enhancerStore?.ManifestPath(model) ?? model, NotInStore(model));
            _enhancers[model] = ModelSession.Open(_enhancerStore, model, _inference, _logger);
        }
    }

    /// <summary>Frees <paramref name="model"/>; entities still using it fail their frames with <see cref="ModelNotLoadedException"/> or a disposed session.</summary>
    public void Unload(string model)
    {
        lock (_loading)
        {
            if (model == FaceAnalysis)
            {
                var analysis = _analysis;
                _analysis = null;
                analysis?.Dispose();
            }
            else if (_enhancers.TryRemove(model, out var session))
            {
                lock (_enhancing) session.Dispose();
            }
        }
    }

    /// <summary>Runs an enhancer, one call at a time per node: enhancers are bring-your-own models, not batched, and their sessions keep per-call buffers.</summary>
    public void Enhance(Action enhance)
    {
        lock (_enhancing) enhance();
    }

    /// <exception cref="ModelNotLoadedException">the plan did not place this enhancer on this worker</exception>
    public ModelSession EnhancerModel(string name) =>
        _enhancers.TryGetValue(name, out var session)
            ? session
            : throw new ModelNotLoadedException(name, _enhancerStore?.Contains(name) == true
                ? $"enhancer '{name}' is not loaded on worker {Name}: the placement plan did not put it here"
                : NotInStore(name));

    private string NotInStore(string model) => $"worker {Name} has no '{model}' model in its store: add it with 'fsc models add FILE.onnx --preset {model}'";

    public void Dispose()
    {
        lock (_loading)
        {
            _analysis?.Dispose();
            _analysis = null;
            foreach (var model in _enhancers.Values) model.Dispose();
            _enhancers.Clear();
        }
    }
}
