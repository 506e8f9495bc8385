using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Util;
using FaceSwap.Contracts.Placement;

namespace FaceSwap.Cluster.Placement;

/// <summary>
/// Placement-aware shard allocation. A stage's shard goes only to a region on a node where the plan placed the model
/// that stage needs; among those, rendezvous hashing on (shard number, node) ranks the nodes, so a stream's detect
/// "42", swap "42" and enhance "gfpgan_1.4/42" pick the same node when their eligible nodes agree, and a member that
/// joins or leaves moves mostly the shards that rank it first. A bounded load (an even share plus a slack) passes over
/// a node that has taken its share, so hashing never piles streams on one GPU.
/// </summary>
/// <remarks>
/// Loads and shares are counted per model: the enhance region's shards for different enhancers have different
/// eligible nodes, and are balanced each among their own. Rebalance moves only shards that allocation would now put
/// elsewhere, so it never fights allocation (each move would cost the stream its tracker state for nothing).
/// </remarks>
public sealed class PlacementAllocationStrategy : IShardAllocationStrategy
{
    private readonly Func<PlacementPlan> _plan;
    private readonly Func<string, string?> _modelOf;
    private readonly Func<IActorRef, Address> _nodeOf;
    private readonly Func<Address, bool> _isReachable;
    private readonly ILoggingAdapter? _log;
    private readonly int _maxMovesPerRound;
    private readonly int _loadSlack;
    private readonly ConcurrentDictionary<string, bool> _warnedUnplaced = new();

    /// <param name="plan">The coordinator's current plan.</param>
    /// <param name="modelOf">The model a shard's stage needs (null or empty: none, any region will do).</param>
    /// <param name="selfAddress">This node's address, for a region ref with local scope.</param>
    /// <param name="log">Where a shard no worker can serve is reported.</param>
    /// <param name="maxMovesPerRound">Shards moved per rebalance round to even the load (misplaced ones all move).</param>
    /// <param name="loadSlack">
    /// Shards a region may hold above an even share before allocation passes it over. Zero keeps every region within
    /// one shard of the others (with few streams, shards are streams: four on three GPUs go 2/1/1, never 3/1/0); each
    /// stage then co-locates a stream whenever the stages saw streams start in the same order. One tolerates orders that
    /// differ (streams starting at once) at a spread of up to four shards over three nodes.
    /// </param>
    /// <param name="nodeOf">The node a region runs on; defaults to its path's address.</param>
    /// <param name="isReachable">Whether the failure detector reaches a node now; defaults to every node.</param>
    public PlacementAllocationStrategy(Func<PlacementPlan> plan, Func<string, string?> modelOf, Address selfAddress,
        ILoggingAdapter? log = null, int maxMovesPerRound = 3, int loadSlack = 0, Func<IActorRef, Address>? nodeOf = null,
        Func<Address, bool>? isReachable = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(modelOf);
        ArgumentNullException.ThrowIfNull(selfAddress);
        ArgumentOutOfRangeException.ThrowIfNegative(maxMovesPerRound);
        ArgumentOutOfRangeException.ThrowIfNegative(loadSlack);
        _plan = plan;
        _modelOf = shardId => modelOf(shardId) is { Length: > 0 } model ? model : null;
        _log = log;
        _maxMovesPerRound = maxMovesPerRound;
        _loadSlack = loadSlack;
        _nodeOf = nodeOf ?? (region => region.Path.Address.HasLocalScope ? selfAddress : region.Path.Address);
        _isReachable = isReachable ?? (_ => true);
    }

    public Task<IActorRef> AllocateShard(IActorRef requester, string shardId,
        IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        if (currentShardAllocations.Count == 0)
            return Task.FromResult(requester);

        var model = _modelOf(shardId);
        var regions = Regions(currentShardAllocations);
        var eligible = Eligible(model, regions, _plan());
        // A region the failure detector cannot reach would take the shard and never answer: pass it over while others can.
        if (eligible.Any(r => r.Reachable) && eligible.Any(r => !r.Reachable))
            eligible = [.. eligible.Where(r => r.Reachable)];
        if (eligible.Count == 0)
        {
            // Never fail allocation: the entity runs somewhere and answers each frame that the model is not loaded.
            if (_warnedUnplaced.TryAdd(shardId, true))
                _log?.Warning("No worker holds model {0}, which shard {1} needs; allocating it anyway, its entities will answer that the model is not loaded until the placement coordinator places it",
                    model, shardId);
            eligible = regions;
        }
        else
        {
            _warnedUnplaced.TryRemove(shardId, out _);
        }

        var load = eligible.ToDictionary(r => r.Ref, r => currentShardAllocations[r.Ref].Count(s => _modelOf(s) == model));
        return Task.FromResult(Choose(shardId, eligible, load).Ref);
    }

    public Task<IImmutableSet<string>> Rebalance(IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations,
        IImmutableSet<string> rebalanceInProgress)
    {
        var plan = _plan();
        var regions = Regions(currentShardAllocations);
        // While a member is unreachable nothing moves: a hand-off waits for every region's answer, and the unreachable
        // one's never comes (the shard would stay homeless until the hand-off timeout). Once it is downed, sharding
        // re-homes its shards itself.
        if (regions.Any(r => !r.Reachable))
            return Task.FromResult<IImmutableSet<string>>(ImmutableHashSet<string>.Empty);
        var moves = ImmutableHashSet.CreateBuilder<string>();
        var misplacedCount = 0;
        var evenedCount = 0;

        var byModel = regions
            .SelectMany(r => currentShardAllocations[r.Ref].Select(shard => (Region: r, Shard: shard)))
            .GroupBy(x => _modelOf(x.Shard))
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var group in byModel)
        {
            var eligible = Eligible(group.Key, regions, plan);
            if (eligible.Count == 0)
                continue; // nowhere better to go; allocation already warned

            var eligibleRefs = eligible.Select(r => r.Ref).ToHashSet();
            var misplaced = group.Where(x => !eligibleRefs.Contains(x.Region.Ref)).Select(x => x.Shard).ToList();
            foreach (var shard in misplaced.Where(s => !rebalanceInProgress.Contains(s)))
            {
                moves.Add(shard);
                misplacedCount++;
            }

            // Even the load only once this model's shards have settled: a handoff in flight changes the counts.
            if (misplaced.Count > 0 || group.Any(x => rebalanceInProgress.Contains(x.Shard)))
                continue;
            foreach (var shard in Even(group.Select(x => (x.Region.Ref, x.Shard)), eligible, _maxMovesPerRound - evenedCount))
            {
                moves.Add(shard);
                evenedCount++;
            }
        }

        if (moves.Count > 0)
            _log?.Info("Rebalancing {0} shards: {1} off nodes that no longer hold their model, {2} to even the load",
                moves.Count, misplacedCount, evenedCount);
        return Task.FromResult<IImmutableSet<string>>(moves.ToImmutable());
    }

    /// <summary>
    /// Up to <paramref name="budget"/> shards to move, each from the most loaded region to a region allocation would
    /// now choose and that holds at least two fewer, preferring shards that rank the least loaded region first.
    /// </summary>
    private List<string> Even(IEnumerable<(IActorRef Region, string Shard)> shards, IReadOnlyList<Region> eligible, int budget)
    {
        var held = eligible.ToDictionary(r => r.Ref, _ => new List<string>());
        foreach (var (region, shard) in shards)
            held[region].Add(shard);
        var load = held.ToDictionary(kv => kv.Key, kv => kv.Value.Count);
        var moves = new List<string>();

        while (moves.Count < budget)
        {
            var least = eligible.OrderBy(r => load[r.Ref]).ThenBy(r => r.Node, StringComparer.Ordinal).First();
            var move = eligible
                .Where(r => load[r.Ref] - load[least.Ref] >= 2)
                .OrderByDescending(r => load[r.Ref]).ThenBy(r => r.Node, StringComparer.Ordinal)
                .Select(from => Candidate(from, least, held[from.Ref], eligible, load))
                .FirstOrDefault(m => m is not null);
            if (move is not { } m)
                break;

            held[m.From.Ref].Remove(m.Shard);
            held[m.To.Ref].Add(m.Shard);
            load[m.From.Ref]--;
            load[m.To.Ref]++;
            moves.Add(m.Shard);
        }

        return moves;
    }

    private (string Shard, Region From, Region To)? Candidate(Region from, Region least, List<string> shards,
        IReadOnlyList<Region> eligible, Dictionary<IActorRef, int> load)
    {
        (string Shard, Region From, Region To, int Preference)? best = null;
        load[from.Ref]--; // as allocation will see it once the shard is handed off
        try
        {
            foreach (var shard in shards.Order(StringComparer.Ordinal))
            {
                var to = Choose(shard, eligible, load);
                if (to.Ref.Equals(from.Ref) || load[to.Ref] > load[from.Ref] - 1)
                    continue; // would come straight back, or only swap which region is the heaviest
                var preference = Ranked(shard, eligible)[0].Ref.Equals(least.Ref) ? 0 : to.Ref.Equals(least.Ref) ? 1 : 2;
                if (best is null || preference < best.Value.Preference)
                    best = (shard, from, to, preference);
                if (preference == 0)
                    break;
            }
        }
        finally
        {
            load[from.Ref]++;
        }

        return best is { } b ? (b.Shard, b.From, b.To) : null;
    }

    /// <summary>The highest-ranked region holding fewer than an even share (counting this shard) plus the slack.</summary>
    private Region Choose(string shardId, IReadOnlyList<Region> regions, IReadOnlyDictionary<IActorRef, int> load)
    {
        var total = regions.Sum(r => load[r.Ref]);
        var cap = (total + regions.Count) / regions.Count + _loadSlack; // ceil((total + 1) / n) + slack
        return Ranked(shardId, regions).First(r => load[r.Ref] < cap);
    }

    /// <summary>Rendezvous order for the shard: by a stable hash of (number, node), so every stage's shard ranks alike.</summary>
    private static List<Region> Ranked(string shardId, IReadOnlyList<Region> regions)
    {
        var number = EnhanceShardExtractor.NumberOf(shardId);
        return regions
            .OrderByDescending(r => MurmurHash.StringHash(number + "@" + r.Node))
            .ThenBy(r => r.Node, StringComparer.Ordinal)
            .ThenBy(r => r.Ref.Path.ToString(), StringComparer.Ordinal)
            .ToList();
    }

    private static List<Region> Eligible(string? model, List<Region> regions, PlacementPlan plan)
    {
        if (model is null)
            return regions;
        var holders = plan.NodesOf(model).ToHashSet(StringComparer.Ordinal);
        return regions.Where(r => holders.Contains(r.Node)).ToList();
    }

    private List<Region> Regions(IImmutableDictionary<IActorRef, IImmutableList<string>> allocations) =>
        allocations.Keys.Select(r => (Ref: r, Node: _nodeOf(r))).Select(r => new Region(r.Ref, r.Node.ToString(), _isReachable(r.Node))).OrderBy(r => r.Node, StringComparer.Ordinal)
            .ThenBy(r => r.Ref.Path.ToString(), StringComparer.Ordinal).ToList();

    private sealed record Region(IActorRef Ref, string Node, bool Reachable);
}
