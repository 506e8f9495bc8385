using FaceSwap.Contracts.Placement;
using FaceSwap.Inference.Batching;

namespace FaceSwap.Cluster.Worker;

/// <summary>
/// A worker's models as the placement agent sees them: what it offers, what it holds, load and unload at the
/// coordinator's word, and how many frames it served. <see cref="WorkerModels"/> runs real ONNX sessions behind it;
/// a simulated device (<see cref="Simulation.SimulatedWorker"/>) runs a cost model, so a farm can be dry-run.
/// </summary>
public interface IModelHost
{
    /// <summary>The node's name, returned with every answer so the edge can tell which worker served a frame.</summary>
    string Name { get; }
    /// <summary>The execution provider the models run on (what the worker reports to the coordinator).</summary>
    string Provider { get; }
    /// <summary>The models this worker can load, with the memory each takes.</summary>
    IReadOnlyList<ModelOffer> Offers();
    /// <summary>The models loaded now.</summary>
    IReadOnlyList<string> LoadedModels();
    void Load(string model);
    void Unload(string model);
    /// <summary>What each batcher has done so far.</summary>
    IReadOnlyList<BatchingStats> BatchingStats();
    /// <summary>Frames swapped so far (one per face region), for the served rate the worker reports.</summary>
    long Served { get; }
    /// <summary>The device memory this worker has for models (bytes); 0: the host's available memory (a CPU worker).</summary>
    long DeviceMemoryBytes => 0;
}
