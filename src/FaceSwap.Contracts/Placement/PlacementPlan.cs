using MessagePack;

namespace FaceSwap.Contracts.Placement;

/// <summary>
/// The coordinator's decision, kept in DistributedData (majority writes, durable store) so a new coordinator
/// resumes it: which nodes hold each model, the operator's overrides, and the loads that failed. Nodes are
/// named by their cluster address (akka.tcp://system@host:port).
/// </summary>
[MessagePackObject]
public sealed record PlacementPlan(
    [property: Key(0)] long Version,
    [property: Key(1)] PlacedModel[] Models,
    [property: Key(2)] ModelPin[] Pins,
    [property: Key(3)] string[] Drained,
    [property: Key(4)] FailedLoad[] Failed) : IFaceSwapMessage
{
    public static PlacementPlan Empty { get; } = new(0, [], [], [], []);

    /// <summary>The nodes that hold <paramref name="model"/> (none when it is not placed).</summary>
    public IReadOnlyList<string> NodesOf(string model) => Models.FirstOrDefault(m => m.Model == model)?.Nodes ?? [];

    /// <summary>The models placed on <paramref name="node"/>.</summary>
    public IEnumerable<string> ModelsOn(string node) => Models.Where(m => m.Nodes.Contains(node)).Select(m => m.Model);

    public bool IsDrained(string node) => Drained.Contains(node);
}

/// <summary>A model and the nodes told to hold it; <see cref="Unplaced"/> says why it has none (or fewer than asked).</summary>
[MessagePackObject]
public sealed record PlacedModel([property: Key(0)] string Model, [property: Key(1)] string[] Nodes, [property: Key(2)] string? Unplaced = null);

/// <summary>Operator override: <see cref="Model"/> is held on these nodes only.</summary>
[MessagePackObject]
public sealed record ModelPin([property: Key(0)] string Model, [property: Key(1)] string[] Nodes);

/// <summary>A load that failed (out of device memory, a corrupt file): the model is placed elsewhere until the node rejoins.</summary>
[MessagePackObject]
public sealed record FailedLoad([property: Key(0)] string Node, [property: Key(1)] string Model, [property: Key(2)] string Error);
