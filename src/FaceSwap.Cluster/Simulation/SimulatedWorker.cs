using System.Diagnostics;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts.Placement;
using FaceSwap.Inference.Batching;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FaceSwap.Cluster.Simulation;

/// <summary>
/// A gpu-worker's models on a simulated device: every model sits behind the real <see cref="BatchingExecutor{TRequest,TResult}"/>,
/// and a batch of n takes the model's fixed + n × per-item time, waited (not burnt) with the device held, so the
/// models of one worker share its device as kernels on one stream do. The whole profile is one placement unit,
/// face-analysis, offered with its device memory; the device's memory is what the worker reports.
/// </summary>
public sealed class SimulatedWorker : IModelHost, IDisposable
{
    private readonly Lock _device = new();
    private readonly Lock _loading = new();
    private readonly Dictionary<string, BatchingExecutor<int, int>> _batchers;
    private readonly ILogger _logger;
    private long _busyTicks;
    // Sleeps end late by the scheduler's slack: the debt is taken off the next wait, so the mean cost is the model's.
    private double _debtMs;
    private volatile bool _loaded = true;

    public SimulatedWorker(SimulatedProfile profile, string name, BatchingOptions? batching = null, ILogger? logger = null)
    {
        Profile = profile.Validated();
        Name = name;
        Batching = (batching ?? new BatchingOptions()).Validated();
        _logger = logger ?? NullLogger.Instance;
        _batchers = profile.Models.ToDictionary(m => m.Name, m => new BatchingExecutor<int, int>(m.Name, Batching, batch => RunOnDevice(m, batch), _logger));
    }

    public SimulatedProfile Profile { get; }
    public string Name { get; }
    public BatchingOptions Batching { get; }
    public string Provider => "Simulated";
    public long DeviceMemoryBytes => Profile.MemoryBytes;

    /// <summary>The device's busy time so far: the sum of the batches' modelled times.</summary>
    public TimeSpan DeviceBusy => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _busyTicks));

    public long Served => _batchers[Profile.Swapper.Name].Stats().Requests;

    public IReadOnlyList<ModelOffer> Offers() => [new(WorkerModels.FaceAnalysis, Profile.DeviceBytes)];

    public IReadOnlyList<string> LoadedModels() => _loaded ? [WorkerModels.FaceAnalysis] : [];

    public void Load(string model)
    {
        lock (_loading) _loaded = model == WorkerModels.FaceAnalysis ? true : throw new ArgumentException($"simulated worker {Name} offers only {WorkerModels.FaceAnalysis}, not '{model}'");
    }

    public void Unload(string model)
    {
        lock (_loading)
            if (model == WorkerModels.FaceAnalysis) _loaded = false;
    }

    public IReadOnlyList<BatchingStats> BatchingStats() => [.. _batchers.Values.Select(b => b.Stats())];

    /// <summary>Runs one item of <paramref name="model"/> in the batch it joins; blocks until that batch has run.</summary>
    /// <exception cref="BudgetExpiredException"><paramref name="deadline"/> passed in the queue</exception>
    /// <exception cref="ModelNotLoadedException">the plan moved the models off this worker</exception>
    public void Run(SimulatedModel model, string stream, long deadline)
    {
        if (!_loaded) throw new ModelNotLoadedException(WorkerModels.FaceAnalysis, $"the simulated models are not loaded on worker {Name}: the placement plan moved them elsewhere");
        if (!_batchers.TryGetValue(model.Name, out var batcher))
            throw new ArgumentException($"simulated worker {Name} has no model '{model.Name}' (it has {string.Join(", ", _batchers.Keys)})");
        batcher.Run(0, stream, deadline);
    }

    private IReadOnlyList<int> RunOnDevice(SimulatedModel model, IReadOnlyList<int> batch)
    {
        var cost = model.BatchMs(batch.Count);
        lock (_device)
        {
            var started = Stopwatch.GetTimestamp();
            var wait = cost - _debtMs;
            if (wait >= 0.5) Thread.Sleep(TimeSpan.FromMilliseconds(Math.Round(wait)));
            var took = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            _debtMs = Math.Clamp(took - wait, -cost, cost);
            Interlocked.Add(ref _busyTicks, (long)(cost * Stopwatch.Frequency / 1000));
        }
        return batch;
    }

    /// <summary>The stage entities of this simulated worker, for the node to host.</summary>
    public WorkerStages Stages() => new(this, () => SimulatedDetectStage.Props(this), _ => SimulatedSwapStage.Props(this), null);

    public void Dispose()
    {
        foreach (var batcher in _batchers.Values) batcher.Dispose();
    }
}
