using FaceSwap.Cluster.Worker;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Governance.Consent;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap.Identities;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Node;

/// <summary>Opens what a gpu-worker node's entities share: the default pack (hash-checked), the identity store behind the consent registry, and the store's enhancers for the coordinator to place.</summary>
public static class WorkerFactory
{
    public static WorkerModels Open(NodeSettings settings, ModelStore store, ILogger logger)
    {
        var inference = new InferenceOptions { ModelPrecision = settings.Fsc.ModelPrecision };
        var analyzer = FaceAnalyzer.Open(store, inference, new DetectorOptions(), logger);
        var consent = new ConsentRegistry(settings.Fsc.ConsentDatabase, logger: logger);
        var sources = new ConsentedSourceFaces(new IdentityStore(settings.Fsc.IdentityStore), consent);
        return new WorkerModels(analyzer, sources, settings.Fsc.NodeName, store, settings.Batching, logger,
            reopenAnalysis: () => FaceAnalyzer.Open(store, inference, new DetectorOptions(), logger), inference: inference);
    }
}
