using System.Collections.Immutable;
using Akka.Actor;
using FaceSwap.Cluster.Placement;
using FaceSwap.Contracts.Placement;

namespace FaceSwap.Node.Tests;

/// <summary>
/// Shard allocation that follows the model placement: regions on nodes without the stage's model get no shards, a
/// stream's stages share a node, the load stays within a slack of even, and rebalance moves only what it must.
/// Regions are refs with remote paths; no actor system runs.
/// </summary>
public sealed class PlacementAllocationStrategyTests
{
    private const string FaceAnalysis = "face-analysis";
    private const string A = "akka.tcp://faceswap@10.0.0.1:4053";
    private const string B = "akka.tcp://faceswap@10.0.0.2:4053";
    private const string C = "akka.tcp://faceswap@10.0.0.3:4053";
    private static readonly Address Self = Address.Parse(A);

    private static PlacementPlan Plan(params (string Model, string[] Nodes)[] models) =>
        new(1, [.. models.Select(m => new PlacedModel(m.Model, m.Nodes))], [], [], []);

    private static PlacementAllocationStrategy Stage(Func<PlacementPlan> plan, int maxMovesPerRound = 3, int loadSlack = 0) =>
        new(plan, _ => FaceAnalysis, Self, maxMovesPerRound: maxMovesPerRound, loadSlack: loadSlack);

    private static PlacementAllocationStrategy EnhanceStage(Func<PlacementPlan> plan) => new(plan, EnhanceShardExtractor.ModelOf, Self);

    /// <summary>Ceil(total / regions) + slack: what no region exceeds once <paramref name="total"/> shards are allocated.</summary>
    private static int Cap(int total, int regions, int slack = 0) => (total + regions - 1) / regions + slack;

    [Fact]
    public async Task Shards_go_only_to_nodes_that_hold_the_stage_model()
    {
        var plan = Plan((FaceAnalysis, [A, C]));
        var strategy = Stage(() => plan);
        var farm = new Farm("detect", A, B, C);

        for (var n = 0; n < 60; n++)
            await farm.Allocate(strategy, n.ToString());

        Assert.Equal(0, farm.Count(B));
        Assert.Equal(60, farm.Count(A) + farm.Count(C));
        Assert.Equal(30, farm.Count(A));
    }

    [Fact]
    public async Task A_stream_detect_swap_and_enhance_shards_share_a_node_when_every_node_holds_the_models()
    {
        var plan = Plan((FaceAnalysis, [A, B, C]), ("gfpgan_1.4", [A, B, C]));
        var (detect, swap, enhance) = (Stage(() => plan), Stage(() => plan), EnhanceStage(() => plan));
        var (detects, swaps, enhances) = (new Farm("detect", A, B, C), new Farm("swap", A, B, C), new Farm("enhance", A, B, C));

        // Streams start one after another: each reaches detect, then swap, then enhance.
        foreach (var n in Enumerable.Range(0, 100).OrderBy(n => (n * 37) % 101))
        {
            var number = n.ToString();
            var nodes = new[]
            {
                await detects.Allocate(detect, number), await swaps.Allocate(swap, number), await enhances.Allocate(enhance, $"gfpgan_1.4/{number}"),
            };
            Assert.True(nodes.Distinct().Count() == 1, $"shard {number}: detect on {nodes[0]}, swap on {nodes[1]}, enhance on {nodes[2]}");
        }

        Assert.All(new[] { A, B, C }, node => Assert.InRange(detects.Count(node), 1, 99));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public async Task The_load_stays_within_the_slack_of_even_while_shards_are_allocated_one_by_one(int slack)
    {
        var plan = Plan((FaceAnalysis, [A, B, C]));
        var strategy = Stage(() => plan, loadSlack: slack);
        var farm = new Farm("detect", A, B, C);

        for (var n = 0; n < 100; n++)
        {
            await farm.Allocate(strategy, n.ToString());
            Assert.True(farm.Max <= Cap(n + 1, 3, slack), $"slack {slack}, after {n + 1} shards: {farm}");
        }

        // No region above ceil(100 / 3) + slack leaves none below 100 - 2 * that.
        Assert.True(farm.Min >= 100 - 2 * Cap(100, 3, slack), farm.ToString());
        if (slack == 0)
            Assert.True(farm.Max - farm.Min <= 1, farm.ToString());
    }

    [Fact]
    public async Task A_few_streams_spread_over_the_nodes_rather_than_where_the_hash_sends_them()
    {
        var plan = Plan((FaceAnalysis, [A, B, C]));
        var strategy = Stage(() => plan);
        var farm = new Farm("detect", A, B, C);

        for (var n = 0; n < 6; n++)
        {
            await farm.Allocate(strategy, n.ToString());
            Assert.True(farm.Max - farm.Min <= 1, $"after {n + 1} shards: {farm}");
        }
    }

    [Fact]
    public async Task With_no_worker_holding_the_model_a_shard_still_gets_a_region()
    {
        var plan = Plan(("some-other-model", [A]));
        var strategy = Stage(() => plan);
        var farm = new Farm("detect", A, B, C);

        for (var n = 0; n < 9; n++)
            Assert.Contains(await farm.Allocate(strategy, n.ToString()), new[] { A, B, C });
        Assert.Equal(9, farm.Count(A) + farm.Count(B) + farm.Count(C));
        Assert.Empty(await strategy.Rebalance(farm.Current, ImmutableHashSet<string>.Empty)); // nowhere better to go
    }

    [Fact]
    public async Task A_region_with_a_local_path_is_this_node()
    {
        var plan = Plan((FaceAnalysis, [A]));
        var strategy = Stage(() => plan);
        var local = new RegionRef(ActorPath.Parse("akka://faceswap/system/sharding/detect"));
        var remote = new RegionRef(ActorPath.Parse($"{B}/system/sharding/detect"));
        var allocations = ImmutableDictionary<IActorRef, IImmutableList<string>>.Empty
            .Add(local, ImmutableList<string>.Empty).Add(remote, ImmutableList<string>.Empty);

        for (var n = 0; n < 10; n++)
            Assert.Same(local, await strategy.AllocateShard(remote, n.ToString(), allocations));
    }

    [Fact]
    public async Task Rebalance_returns_the_shards_on_a_node_the_plan_moved_the_model_off_but_not_those_in_progress()
    {
        var plan = Plan((FaceAnalysis, [A, B, C]));
        var strategy = Stage(() => plan);
        var farm = new Farm("detect", A, B, C);
        for (var n = 0; n < 30; n++)
            await farm.Allocate(strategy, n.ToString());
        Assert.Empty(await strategy.Rebalance(farm.Current, ImmutableHashSet<string>.Empty));

        plan = Plan((FaceAnalysis, [A, B]));
        var onC = farm.ShardsOn(C);
        var inProgress = ImmutableHashSet.Create(onC[0]);
        var moves = await strategy.Rebalance(farm.Current, inProgress);

        Assert.Equal(onC.Skip(1).ToHashSet(), moves.ToHashSet());

        // Handed off, they land on the nodes that hold the model.
        foreach (var shard in onC)
        {
            farm.Remove(shard);
            Assert.NotEqual(C, await farm.Allocate(strategy, shard));
        }
    }

    [Fact]
    public async Task A_joining_node_gets_shards_by_rebalance_a_few_per_round_until_the_load_is_even()
    {
        var plan = Plan((FaceAnalysis, [A, B]));
        var strategy = Stage(() => plan, maxMovesPerRound: 3);
        var farm = new Farm("detect", A, B);
        for (var n = 0; n < 100; n++)
            await farm.Allocate(strategy, n.ToString());
        Assert.Empty(await strategy.Rebalance(farm.Current, ImmutableHashSet<string>.Empty));

        farm.Join(C);
        plan = Plan((FaceAnalysis, [A, B, C]));
        var moved = new Dictionary<string, int>();
        var rounds = 0;
        for (; rounds < 100; rounds++)
        {
            var moves = await strategy.Rebalance(farm.Current, ImmutableHashSet<string>.Empty);
            if (moves.Count == 0)
                break;
            Assert.InRange(moves.Count, 1, 3);
            foreach (var shard in moves)
            {
                farm.Remove(shard);
                await farm.Allocate(strategy, shard);
                moved[shard] = moved.GetValueOrDefault(shard) + 1;
            }
        }

        Assert.InRange(rounds, 10, 99);
        Assert.True(farm.Max - farm.Min <= 2, farm.ToString());
        Assert.All(moved.Values, times => Assert.Equal(1, times)); // a moved stream moves once
        for (var i = 0; i < 3; i++)
            Assert.Empty(await strategy.Rebalance(farm.Current, ImmutableHashSet<string>.Empty));
    }

    [Fact]
    public async Task Rebalance_moves_nothing_while_a_handoff_of_that_model_is_in_progress()
    {
        var plan = Plan((FaceAnalysis, [A, B]));
        var strategy = Stage(() => plan);
        var farm = new Farm("detect", A, B);
        for (var n = 0; n < 30; n++)
            await farm.Allocate(strategy, n.ToString());
        farm.Join(C);
        plan = Plan((FaceAnalysis, [A, B, C]));

        var first = await strategy.Rebalance(farm.Current, ImmutableHashSet<string>.Empty);
        Assert.NotEmpty(first);
        Assert.Empty(await strategy.Rebalance(farm.Current, first));
    }

    [Fact]
    public async Task Enhance_shards_go_where_their_own_enhancer_is_and_balance_among_its_holders()
    {
        var plan = Plan(("gfpgan_1.4", [A]), ("codeformer", [B, C]));
        var strategy = EnhanceStage(() => plan);
        var farm = new Farm("enhance", A, B, C);

        for (var n = 0; n < 20; n++)
        {
            Assert.Equal(A, await farm.Allocate(strategy, $"gfpgan_1.4/{n}"));
            Assert.NotEqual(A, await farm.Allocate(strategy, $"codeformer/{n}"));
        }

        Assert.InRange(farm.Count(B), 9, 11);
        // A holds twice the shards of B or C, but it is the only GFPGAN holder: nothing to even.
        Assert.Empty(await strategy.Rebalance(farm.Current, ImmutableHashSet<string>.Empty));

        // GFPGAN is placed on C as well: half of A's shards may go there, a few a round; no CodeFormer shard moves.
        plan = Plan(("gfpgan_1.4", [A, C]), ("codeformer", [B, C]));
        var moves = await strategy.Rebalance(farm.Current, ImmutableHashSet<string>.Empty);
        Assert.InRange(moves.Count, 1, 3);
        Assert.All(moves, shard => Assert.Equal("gfpgan_1.4", EnhanceShardExtractor.ModelOf(shard)));
    }

    /// <summary>The shard regions and what each holds, by node.</summary>
    [Fact]
    public async Task While_a_node_is_unreachable_its_shards_stay_put_and_new_shards_pass_it_over()
    {
        var plan = Plan((FaceAnalysis, [A, B]));
        var unreachable = new HashSet<string>();
        var strategy = new PlacementAllocationStrategy(() => plan, _ => FaceAnalysis, Self, isReachable: node => !unreachable.Contains(node.ToString()));
        var farm = new Farm("detect", A, B);
        for (var n = 0; n < 10; n++)
            await farm.Allocate(strategy, n.ToString());
        Assert.True(farm.Count(B) > 0);

        // B stops answering heartbeats, and the coordinator re-plans without it: its shards are misplaced now, but a
        // hand-off to B would wait for an answer that cannot come.
        unreachable.Add(B);
        plan = Plan((FaceAnalysis, [A]));
        Assert.Empty(await strategy.Rebalance(farm.Current, ImmutableHashSet<string>.Empty));
        plan = Plan((FaceAnalysis, [A, B]));
        for (var n = 10; n < 20; n++)
            Assert.Equal(A, await farm.Allocate(strategy, n.ToString()));

        // B is reachable again and the plan still leaves it out: now its shards move.
        unreachable.Clear();
        plan = Plan((FaceAnalysis, [A]));
        Assert.Equal(farm.ShardsOn(B).ToHashSet(), (await strategy.Rebalance(farm.Current, ImmutableHashSet<string>.Empty)).ToHashSet());
    }

    private sealed class Farm
    {
        private readonly string _type;
        private readonly Dictionary<string, IActorRef> _regions = [];
        private readonly Dictionary<IActorRef, List<string>> _shards = [];

        public Farm(string type, params string[] nodes)
        {
            _type = type;
            foreach (var node in nodes)
                Join(node);
        }

        public IImmutableDictionary<IActorRef, IImmutableList<string>> Current =>
            _shards.ToImmutableDictionary(kv => kv.Key, kv => (IImmutableList<string>)kv.Value.ToImmutableList());

        public int Max => _shards.Values.Max(s => s.Count);
        public int Min => _shards.Values.Min(s => s.Count);

        public void Join(string node)
        {
            _regions[node] = Region(node, _type);
            _shards[_regions[node]] = [];
        }

        public async Task<string> Allocate(PlacementAllocationStrategy strategy, string shard)
        {
            var region = await strategy.AllocateShard(_regions.Values.First(), shard, Current);
            _shards[region].Add(shard);
            return region.Path.Address.ToString();
        }

        public void Remove(string shard) => _shards.Values.Single(s => s.Contains(shard)).Remove(shard);

        public int Count(string node) => _shards[_regions[node]].Count;

        public List<string> ShardsOn(string node) => [.. _shards[_regions[node]]];

        public override string ToString() => string.Join(", ", _regions.Select(kv => $"{kv.Key}: {_shards[kv.Value].Count}"));

        private static RegionRef Region(string node, string type) => new(ActorPath.Parse($"{node}/system/sharding/{type}"));
    }

    /// <summary>A shard region as the coordinator sees it: a ref with a path. Refs with equal paths are equal.</summary>
    private sealed class RegionRef(ActorPath path) : MinimalActorRef
    {
        public override ActorPath Path { get; } = path;
        public override IActorRefProvider Provider => throw new NotSupportedException("a test stand-in for a shard region");
    }
}
