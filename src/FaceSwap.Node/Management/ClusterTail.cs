using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster;
using FaceSwap.Contracts.Management;

namespace FaceSwap.Node.Management;

/// <summary>
/// <c>cluster tail</c>: membership events into a channel the HTTP response drains, from the current members (as
/// events) on. Stopped when the client goes.
/// </summary>
public sealed class ClusterTail : ReceiveActor
{
    public static Props Props(ChannelWriter<MemberEvent> events) => Akka.Actor.Props.Create(() => new ClusterTail(events));

    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);

    public ClusterTail(ChannelWriter<MemberEvent> events)
    {
        void Write(string kind, Member member) =>
            events.TryWrite(new MemberEvent(DateTimeOffset.UtcNow, kind, member.Address.ToString(), ClusterStatus.Name(member.Status), [.. member.Roles]));
        Receive<ClusterEvent.MemberJoined>(e => Write("joined", e.Member));
        Receive<ClusterEvent.MemberWeaklyUp>(e => Write("weakly-up", e.Member));
        Receive<ClusterEvent.MemberUp>(e => Write("up", e.Member));
        Receive<ClusterEvent.MemberLeft>(e => Write("left", e.Member));
        Receive<ClusterEvent.MemberExited>(e => Write("exited", e.Member));
        Receive<ClusterEvent.MemberDowned>(e => Write("downed", e.Member));
        Receive<ClusterEvent.MemberRemoved>(e => Write("removed", e.Member));
        Receive<ClusterEvent.UnreachableMember>(e => Write("unreachable", e.Member));
        Receive<ClusterEvent.ReachableMember>(e => Write("reachable", e.Member));
        Receive<ClusterEvent.IClusterDomainEvent>(_ => { });
    }

    protected override void PreStart() => _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
        typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.ReachableMember));

    protected override void PostStop() => _cluster.Unsubscribe(Self);
}
