using Akka.Actor;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts.Management;

namespace FaceSwap.Node.Management;

/// <summary>
/// Every node's answer to the management API of any node (<c>/user/management</c>): its streams and its doctor's
/// findings, so one API call reports the whole cluster.
/// </summary>
public sealed class ManagementAgent : ReceiveActor
{
    public const string Name = "management";

    public static Props Props(NodeSettings settings, StreamDirectory streams, WorkerModels? worker) =>
        Akka.Actor.Props.Create(() => new ManagementAgent(settings, streams, worker));

    public ManagementAgent(NodeSettings settings, StreamDirectory streams, WorkerModels? worker)
    {
        var self = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        Receive<QueryNode>(query => Sender.Tell(new NodeStatus(self, [.. settings.Roles],
            query.Streams ? [.. streams.Summaries()] : [],
            query.Doctor ? NodeDoctor.Findings(Context.System, settings, worker) : [])));
    }
}
