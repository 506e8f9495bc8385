using Akka.Cluster.Sharding;
using FaceSwap.Contracts;

namespace FaceSwap.Cluster;

/// <summary>Entity id = stream id, in every stage region; shards by its hash.</summary>
public sealed class StreamShardExtractor(int shards = StreamShardExtractor.DefaultShards) : HashCodeMessageExtractor(shards)
{
    /// <summary>About ten per worker the farm may grow to: rebalancing moves shards, not single streams.</summary>
    public const int DefaultShards = 100;

    public override string EntityId(object message) => message is IStreamMessage m ? m.StreamId : null!;
}
