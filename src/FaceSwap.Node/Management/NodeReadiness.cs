using Akka.Actor;
using Akka.Cluster;
using FaceSwap.Cluster.Placement;
using FaceSwap.Cluster.Worker;

namespace FaceSwap.Node.Management;

/// <summary>
/// Readiness, for the probe and the metric: the node is up in the cluster, and a worker holds every model the
/// placement plan put on it (a worker still loading would only fail the frames routed to it).
/// </summary>
public static class NodeReadiness
{
    public static (bool Ready, string Reason) Check(ActorSystem system, WorkerModels? worker)
    {
        if (system.WhenTerminated.IsCompleted) return (false, "the actor system has terminated");
        var cluster = Akka.Cluster.Cluster.Get(system);
        var status = cluster.SelfMember.Status;
        if (status != MemberStatus.Up) return (false, $"this node is {ClusterStatus.Name(status)} in the cluster, not up");
        if (worker is null) return (true, "up");
        var plan = PlacementView.For(system).Plan;
        if (plan.Version == 0) return (false, "no placement plan yet: the coordinator has not answered");
        var missing = plan.ModelsOn(cluster.SelfAddress.ToString()).Except(worker.LoadedModels()).ToList();
        return missing.Count == 0
            ? (true, $"up, holding the {plan.ModelsOn(cluster.SelfAddress.ToString()).Count()} model(s) plan v{plan.Version} puts here")
            : (false, $"plan v{plan.Version} puts {string.Join(", ", missing)} here; not loaded yet");
    }
}
