using Akka.Actor;
using Akka.DistributedData;
using Akka.Event;

namespace FaceSwap.Cluster.Placement;

/// <summary>Keeps this node's <see cref="PlacementView"/> current: subscribed to the plan in DistributedData.</summary>
public sealed class PlanWatcher : ReceiveActor
{
    public static Props Props() => Akka.Actor.Props.Create(() => new PlanWatcher());

    public PlanWatcher()
    {
        var view = PlacementView.For(Context.System);
        var log = Context.GetLogger();
        Receive<Changed>(changed =>
        {
            var plan = changed.Get(PlacementKeys.Plan).Value;
            if (plan is null) return;
            view.Update(plan);
            log.Debug("placement plan {0}", PlacementView.Describe(plan));
        });
    }

    protected override void PreStart() =>
        DistributedData.Get(Context.System).Replicator.Tell(Dsl.Subscribe(PlacementKeys.Plan, Self));
}
