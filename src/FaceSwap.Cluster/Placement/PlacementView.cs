using Akka.Actor;
using FaceSwap.Contracts.Placement;

namespace FaceSwap.Cluster.Placement;

/// <summary>
/// This node's copy of the placement plan, as DistributedData last delivered it (<see cref="PlanWatcher"/>): the
/// shard allocation strategy reads it on every allocation, so it must not ask anyone.
/// </summary>
public sealed class PlacementView : IExtension
{
    private volatile PlacementPlan _plan = PlacementPlan.Empty;

    public PlacementPlan Plan => _plan;

    /// <summary>Takes <paramref name="plan"/> unless a newer one is already here (replicas may deliver out of order).</summary>
    public void Update(PlacementPlan plan)
    {
        if (plan.Version >= _plan.Version) _plan = plan;
    }

    /// <summary>The plan once <paramref name="condition"/> holds for it.</summary>
    /// <exception cref="TimeoutException">it did not within <paramref name="timeout"/>; the message shows the last plan</exception>
    public async Task<PlacementPlan> When(Func<PlacementPlan, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition(_plan))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the placement plan did not reach the expected state within {timeout.TotalSeconds:F0} s; last: {Describe(_plan)}");
            await Task.Delay(50);
        }
        return _plan;
    }

    public static PlacementView For(ActorSystem system) => system.WithExtension<PlacementView, PlacementViewProvider>();

    /// <summary>One line per model: where it is, or why it is nowhere.</summary>
    public static string Describe(PlacementPlan plan) =>
        $"v{plan.Version}: " + string.Join("; ", plan.Models.Select(m => $"{m.Model} on [{string.Join(", ", m.Nodes)}]{(m.Unplaced is null ? "" : $" ({m.Unplaced})")}"))
        + (plan.Pins.Length > 0 ? $"; pins {string.Join(", ", plan.Pins.Select(p => $"{p.Model}->[{string.Join(", ", p.Nodes)}]"))}" : "")
        + (plan.Drained.Length > 0 ? $"; drained [{string.Join(", ", plan.Drained)}]" : "")
        + (plan.Failed.Length > 0 ? $"; failed {string.Join(", ", plan.Failed.Select(f => $"{f.Model}@{f.Node}"))}" : "");
}

public sealed class PlacementViewProvider : ExtensionIdProvider<PlacementView>
{
    public override PlacementView CreateExtension(ExtendedActorSystem system) => new();
}
