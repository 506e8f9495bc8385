using Akka.Actor;
using FaceSwap.Contracts.Management;

namespace FaceSwap.Node.Management;

/// <summary><c>actor hierarchy</c>: the node's actors under /user and /system, from the guardians' own child lists.</summary>
public static class ActorTree
{
    public static ActorNode[] Of(ActorSystem system, int depth)
    {
        var extended = (ExtendedActorSystem)system;
        return [Node(extended.Guardian, depth), Node(extended.SystemGuardian, depth)];
    }

    private static ActorNode Node(IActorRef actor, int depth)
    {
        var children = depth > 0 && actor is ActorRefWithCell cell
            ? cell.Children.OrderBy(c => c.Path.Name, StringComparer.Ordinal).Select(c => Node(c, depth - 1)).ToArray()
            : [];
        return new ActorNode(actor.Path.Name, actor.Path.ToStringWithoutAddress(), children);
    }
}
