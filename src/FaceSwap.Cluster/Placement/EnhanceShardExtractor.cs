using Akka.Cluster.Sharding;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;

namespace FaceSwap.Cluster.Placement;

/// <summary>
/// The enhance region's extractor: entity id = stream id, shard id = "enhancer/number", where number is the shard
/// <see cref="StreamShardExtractor"/> gives the same stream in the detect and swap regions. The model in the id lets
/// the allocation strategy send the shard where that enhancer is loaded; the shared number lets it co-locate the
/// stream's stages.
/// </summary>
public sealed class EnhanceShardExtractor(int shards = StreamShardExtractor.DefaultShards) : IMessageExtractor
{
    private const char Separator = '/';

    private readonly StreamShardExtractor _numbers = new(shards);

    /// <summary>The stream; sharding itself unwraps <see cref="ShardRegion.StartEntity"/> and <see cref="ShardingEnvelope"/>.</summary>
    public string? EntityId(object message) => message is IStreamMessage m ? m.StreamId : null;

    public object? EntityMessage(object message) => message;

    public string ShardId(object message) => EntityId(message) is { } id ? ShardId(id, message) : null!;

    /// <summary>
    /// Anything but an <see cref="EnhanceFrame"/> naming its enhancer (a remembered entity's restart) gets the plain
    /// number: a shard no model is required for.
    /// </summary>
    public string ShardId(string entityId, object? messageHint = null)
    {
        var number = _numbers.ShardId(entityId, messageHint);
        return messageHint is EnhanceFrame { Settings.Enhancer: { Length: > 0 } enhancer } ? enhancer + Separator + number : number;
    }

    /// <summary>The enhancer an enhance shard needs; empty for a plain shard (no model required).</summary>
    public static string ModelOf(string shardId)
    {
        var at = shardId.LastIndexOf(Separator);
        return at < 0 ? "" : shardId[..at];
    }

    /// <summary>The stream-shard number: "42" for "gfpgan_1.4/42" and for "42".</summary>
    public static string NumberOf(string shardId)
    {
        var at = shardId.LastIndexOf(Separator);
        return at < 0 ? shardId : shardId[(at + 1)..];
    }
}
