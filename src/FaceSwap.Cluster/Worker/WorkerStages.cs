using Akka.Actor;
using FaceSwap.Cluster.Stages;

namespace FaceSwap.Cluster.Worker;

/// <summary>
/// What a gpu-worker node hosts in its stage regions: the entities' props and the models the placement agent
/// follows. The node builds the regions, their placement-aware allocation and the agent the same way for any set.
/// </summary>
/// <param name="Detect">a detect entity</param>
/// <param name="Swap">a swap entity, given the enhance region (null where the set has no enhance stage)</param>
/// <param name="Enhance">an enhance entity; null: this worker starts no enhance region</param>
public sealed record WorkerStages(IModelHost Models, Func<Props> Detect, Func<IActorRef?, Props> Swap, Func<Props>? Enhance)
{
    /// <summary>The product's stages on real models.</summary>
    public static WorkerStages Of(WorkerModels models) =>
        new(models, () => DetectStage.Props(models), enhance => SwapStage.Props(models, enhance), () => EnhanceStage.Props(models));
}
