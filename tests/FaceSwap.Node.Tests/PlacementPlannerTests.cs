using FaceSwap.Cluster.Placement;
using FaceSwap.Contracts.Placement;

namespace FaceSwap.Node.Tests;

/// <summary>The coordinator's planning step on its own: reports in, plan out, no cluster.</summary>
public sealed class PlacementPlannerTests
{
    private const long MiB = 1024 * 1024;
    private const string Face = PlacementPolicy.FaceAnalysis;
    private const string Gfpgan = "gfpgan-1.4";
    private const string CodeFormer = "codeformer";

    private static readonly PlacementPolicy Policy = new();

    private static string Node(int i) => $"akka.tcp://faceswap@10.0.0.{i}:4053";

    private static string[] Nodes(params int[] i) => [.. i.Select(Node)];

    /// <summary>A worker with <paramref name="freeMiB"/> free of <paramref name="totalMiB"/>, offering every model given (sizes in MiB).</summary>
    private static WorkerReport Worker(int i, long totalMiB, long freeMiB, (string Model, long MiB)[] offers, params string[] loaded) =>
        new(Node(i), "cuda", totalMiB * MiB, freeMiB * MiB, [.. offers.Select(o => new ModelOffer(o.Model, o.MiB * MiB))], loaded, 30, 0);

    private static readonly (string, long)[] DefaultPack = [(Face, 300), (Gfpgan, 350), (CodeFormer, 400)];

    [Fact]
    public void Face_analysis_goes_on_every_worker_that_offers_it()
    {
        var workers = new[]
        {
            Worker(1, 8000, 8000, DefaultPack),
            Worker(2, 8000, 8000, DefaultPack),
            Worker(3, 8000, 8000, [(Gfpgan, 350)]),
        };

        var plan = PlacementPlanner.Plan(PlacementPlan.Empty, workers, Policy);

        Assert.Equal(Nodes(1, 2), plan.NodesOf(Face));
        Assert.Null(plan.Models.Single(m => m.Model == Face).Unplaced);
        Assert.Equal(1, plan.Version);
    }

    [Fact]
    public void An_enhancer_gets_Replicas_nodes_the_ones_with_most_memory()
    {
        var workers = new[]
        {
            Worker(1, 8000, 2000, [(Gfpgan, 350)]),
            Worker(2, 8000, 7000, [(Gfpgan, 350)]),
            Worker(3, 8000, 5000, [(Gfpgan, 350)]),
        };

        var plan = PlacementPlanner.Plan(PlacementPlan.Empty, workers, Policy with { Replicas = 2 });

        Assert.Equal(Nodes(2, 3), plan.NodesOf(Gfpgan));
    }

    [Fact]
    public void Enhancers_spread_to_the_workers_with_most_memory_left_after_earlier_placements()
    {
        var workers = new[]
        {
            Worker(1, 8000, 6000, [(CodeFormer, 3000), (Gfpgan, 3000)]),
            Worker(2, 8000, 5000, [(CodeFormer, 3000), (Gfpgan, 3000)]),
        };

        var plan = PlacementPlanner.Plan(PlacementPlan.Empty, workers, Policy with { Replicas = 1, MemoryHeadroom = 0 });

        // codeformer comes first by name and takes the roomier worker; gfpgan then finds more left on the other.
        Assert.Equal(Nodes(1), plan.NodesOf(CodeFormer));
        Assert.Equal(Nodes(2), plan.NodesOf(Gfpgan));
    }

    [Fact]
    public void Models_and_their_nodes_are_sorted_by_name()
    {
        var workers = new[] { Worker(3, 8000, 8000, DefaultPack), Worker(1, 8000, 8000, DefaultPack), Worker(2, 8000, 8000, DefaultPack) };

        var plan = PlacementPlanner.Plan(PlacementPlan.Empty, workers, Policy);

        Assert.Equal(new[] { CodeFormer, Face, Gfpgan }, plan.Models.Select(m => m.Model));
        Assert.All(plan.Models, m => Assert.Equal(m.Nodes.Order(StringComparer.Ordinal), m.Nodes));
        Assert.Equal(Nodes(1, 2, 3), plan.NodesOf(Face));
    }

    [Fact]
    public void Replanning_with_the_same_reports_returns_the_same_plan()
    {
        var workers = new[] { Worker(1, 8000, 8000, DefaultPack), Worker(2, 8000, 6000, DefaultPack), Worker(3, 8000, 4000, DefaultPack) };
        var first = PlacementPlanner.Plan(PlacementPlan.Empty, workers, Policy);

        // Rebuilt reports and a plan copied field by field (as read back from DistributedData) still compare unchanged.
        var copy = first with { Models = [.. first.Models.Select(m => m with { Nodes = [.. m.Nodes] })], Failed = [.. first.Failed] };
        var rebuilt = new[] { Worker(1, 8000, 8000, DefaultPack), Worker(2, 8000, 6000, DefaultPack), Worker(3, 8000, 4000, DefaultPack) };

        Assert.Same(first, PlacementPlanner.Plan(first, workers, Policy));
        Assert.Same(copy, PlacementPlanner.Plan(copy, rebuilt, Policy));
        Assert.Equal(1, first.Version);
    }

    [Fact]
    public void A_newly_joined_worker_gets_face_analysis_and_the_version_goes_up()
    {
        var two = new[] { Worker(1, 8000, 8000, DefaultPack), Worker(2, 8000, 8000, DefaultPack) };
        var before = PlacementPlanner.Plan(PlacementPlan.Empty, two, Policy);

        var after = PlacementPlanner.Plan(before, [.. two, Worker(3, 8000, 8000, DefaultPack)], Policy);

        Assert.NotSame(before, after);
        Assert.Equal(before.Version + 1, after.Version);
        Assert.Equal(Nodes(1, 2, 3), after.NodesOf(Face));
    }

    [Fact]
    public void Existing_holders_keep_an_enhancer_when_a_roomier_worker_joins()
    {
        var two = new[]
        {
            Worker(1, 8000, 4000, [(Gfpgan, 350)]),
            Worker(2, 8000, 3000, [(Gfpgan, 350)]),
        };
        var before = PlacementPlanner.Plan(PlacementPlan.Empty, two, Policy);
        Assert.Equal(Nodes(1, 2), before.NodesOf(Gfpgan));

        // Now loaded on both, as the workers report it; the newcomer has far more room.
        var loaded = new[]
        {
            Worker(1, 8000, 3650, [(Gfpgan, 350)], Gfpgan),
            Worker(2, 8000, 2650, [(Gfpgan, 350)], Gfpgan),
            Worker(3, 80000, 80000, [(Gfpgan, 350)]),
        };
        var after = PlacementPlanner.Plan(before, loaded, Policy);

        Assert.Same(before, after);
        Assert.Equal(Nodes(1, 2), after.NodesOf(Gfpgan));
    }

    [Fact]
    public void A_lost_holder_is_replaced_by_the_roomiest_candidate_and_the_other_holder_stays()
    {
        var three = new[]
        {
            Worker(1, 8000, 6000, [(Gfpgan, 350)]),
            Worker(2, 8000, 5000, [(Gfpgan, 350)]),
            Worker(3, 2000, 1000, [(Gfpgan, 350)]),
        };
        var before = PlacementPlanner.Plan(PlacementPlan.Empty, three, Policy);
        Assert.Equal(Nodes(1, 2), before.NodesOf(Gfpgan));

        var after = PlacementPlanner.Plan(before, [three[1], three[2], Worker(4, 2000, 900, [(Gfpgan, 350)])], Policy);

        Assert.Equal(Nodes(2, 3), after.NodesOf(Gfpgan));
    }

    [Fact]
    public void A_drained_worker_gets_nothing()
    {
        var workers = new[] { Worker(1, 8000, 8000, DefaultPack), Worker(2, 8000, 4000, DefaultPack), Worker(3, 8000, 2000, DefaultPack) };
        var before = PlacementPlanner.Plan(PlacementPlan.Empty, workers, Policy);
        Assert.Contains(Node(1), before.NodesOf(Gfpgan));

        var after = PlacementPlanner.Plan(before with { Drained = [Node(1)] }, workers, Policy);

        Assert.Empty(after.ModelsOn(Node(1)));
        Assert.Equal(Nodes(2, 3), after.NodesOf(Face));
        Assert.Equal(Nodes(2, 3), after.NodesOf(Gfpgan));
        Assert.Equal(Nodes(1), after.Drained);
    }

    [Fact]
    public void A_model_every_offering_worker_is_drained_or_failed_for_is_unplaced_with_the_reason()
    {
        var workers = new[] { Worker(1, 8000, 8000, [(Gfpgan, 350)]), Worker(2, 8000, 8000, [(Gfpgan, 350)]) };
        var current = PlacementPlan.Empty with { Drained = [Node(1)], Failed = [new FailedLoad(Node(2), Gfpgan, "CUDA out of memory")] };

        var model = PlacementPlanner.Plan(current, workers, Policy).Models.Single(m => m.Model == Gfpgan);

        Assert.Empty(model.Nodes);
        Assert.Contains("drained or failed", model.Unplaced);
        Assert.Contains(Node(1), model.Unplaced);
        Assert.Contains("CUDA out of memory", model.Unplaced);
    }

    [Fact]
    public void A_pin_restricts_a_model_to_its_nodes_and_overrides_replicas()
    {
        var workers = Enumerable.Range(1, 4).Select(i => Worker(i, 8000, 8000 - i * 100, DefaultPack)).ToArray();
        var pins = new[] { new ModelPin(Gfpgan, [Node(2), Node(3), Node(4)]), new ModelPin(Face, [Node(4)]) };

        var plan = PlacementPlanner.Plan(PlacementPlan.Empty with { Pins = pins }, workers, Policy with { Replicas = 1 });

        Assert.Equal(Nodes(2, 3, 4), plan.NodesOf(Gfpgan));
        Assert.Equal(Nodes(4), plan.NodesOf(Face));
        Assert.All(plan.Models, m => Assert.Null(m.Unplaced));
        Assert.Same(pins, plan.Pins);
    }

    [Fact]
    public void A_pin_to_a_drained_or_absent_node_leaves_the_model_unplaced_with_a_reason_naming_the_node()
    {
        var workers = new[] { Worker(1, 8000, 8000, DefaultPack), Worker(2, 8000, 8000, DefaultPack) };
        var current = PlacementPlan.Empty with { Pins = [new ModelPin(Gfpgan, [Node(1), Node(9)])], Drained = [Node(1)] };

        var model = PlacementPlanner.Plan(current, workers, Policy).Models.Single(m => m.Model == Gfpgan);

        Assert.Empty(model.Nodes);
        Assert.Contains($"{Node(1)} is drained", model.Unplaced);
        Assert.Contains($"{Node(9)} is not in the cluster", model.Unplaced);
    }

    [Fact]
    public void A_pin_partly_met_places_the_model_on_the_nodes_it_can_and_says_why_not_the_rest()
    {
        var workers = new[] { Worker(1, 8000, 8000, DefaultPack), Worker(2, 8000, 8000, [(Face, 300)]) };
        var current = PlacementPlan.Empty with { Pins = [new ModelPin(Gfpgan, [Node(1), Node(2)])] };

        var model = PlacementPlanner.Plan(current, workers, Policy).Models.Single(m => m.Model == Gfpgan);

        Assert.Equal(Nodes(1), model.Nodes);
        Assert.Contains($"{Node(2)} does not offer it", model.Unplaced);
    }

    [Fact]
    public void A_pinned_model_nobody_offers_still_shows_as_unplaced()
    {
        var workers = new[] { Worker(1, 8000, 8000, DefaultPack) };
        var current = PlacementPlan.Empty with { Pins = [new ModelPin("restoreformer", [Node(1)])] };

        var model = PlacementPlanner.Plan(current, workers, Policy).Models.Single(m => m.Model == "restoreformer");

        Assert.Empty(model.Nodes);
        Assert.Contains($"{Node(1)} does not offer it", model.Unplaced);
    }

    [Fact]
    public void A_failed_load_moves_the_model_elsewhere_and_the_failure_is_kept()
    {
        var workers = new[] { Worker(1, 8000, 8000, DefaultPack), Worker(2, 8000, 6000, DefaultPack), Worker(3, 8000, 4000, DefaultPack) };
        var before = PlacementPlanner.Plan(PlacementPlan.Empty, workers, Policy);
        Assert.Equal(Nodes(1, 2), before.NodesOf(Gfpgan));
        var failure = new FailedLoad(Node(1), Gfpgan, "CUDA out of memory");

        var after = PlacementPlanner.Plan(before with { Failed = [failure] }, workers, Policy);

        Assert.Equal(Nodes(2, 3), after.NodesOf(Gfpgan));
        Assert.Contains(Node(1), after.NodesOf(Face));
        Assert.Equal(new[] { failure }, after.Failed);
        Assert.Same(after, PlacementPlanner.Plan(after, workers, Policy));
    }

    [Fact]
    public void A_failure_is_forgotten_when_its_worker_leaves()
    {
        var workers = new[] { Worker(1, 8000, 8000, DefaultPack), Worker(2, 8000, 6000, DefaultPack) };
        var current = PlacementPlanner.Plan(PlacementPlan.Empty, workers, Policy) with
        {
            Failed = [new FailedLoad(Node(1), Gfpgan, "CUDA out of memory"), new FailedLoad(Node(2), CodeFormer, "corrupt file")],
        };

        var after = PlacementPlanner.Plan(current, [workers[1]], Policy);

        Assert.Equal(new[] { new FailedLoad(Node(2), CodeFormer, "corrupt file") }, after.Failed);
        Assert.Equal(current.Version + 1, after.Version);
        // Back again, it starts clean.
        var back = PlacementPlanner.Plan(after, workers, Policy);
        Assert.Contains(Node(1), back.NodesOf(Gfpgan));
    }

    [Fact]
    public void A_model_too_big_for_every_worker_is_unplaced_with_the_sizes_in_MiB()
    {
        var workers = new[] { Worker(1, 100, 100, [("inswapper-128", 120)]), Worker(2, 50, 50, [("inswapper-128", 120)]) };

        var model = PlacementPlanner.Plan(PlacementPlan.Empty, workers, Policy with { MemoryHeadroom = 0.2 }).Models.Single();

        Assert.Empty(model.Nodes);
        Assert.Equal($"no worker has 120 MiB free for it (largest budget: 80 MiB on {Node(1)})", model.Unplaced);
    }

    [Fact]
    public void Headroom_is_never_planned()
    {
        // 1000 MiB total, all free: a 950 MiB model fits when 5% is held back, not 10%.
        var workers = new[] { Worker(1, 1000, 1000, [(Gfpgan, 950)]) };

        Assert.Empty(PlacementPlanner.Plan(PlacementPlan.Empty, workers, Policy with { MemoryHeadroom = 0.1 }).NodesOf(Gfpgan));
        Assert.Equal(Nodes(1), PlacementPlanner.Plan(PlacementPlan.Empty, workers, Policy with { MemoryHeadroom = 0.05 }).NodesOf(Gfpgan));
    }

    [Fact]
    public void Memory_a_worker_already_spends_on_loaded_models_counts_as_its_budget()
    {
        // 200 MiB free but gfpgan's 700 MiB is loaded: 900 MiB of budget, enough for gfpgan kept and face-analysis beside it.
        var workers = new[] { Worker(1, 1000, 200, [(Face, 200), (Gfpgan, 700)], Gfpgan) };

        var plan = PlacementPlanner.Plan(PlacementPlan.Empty, workers, Policy with { MemoryHeadroom = 0 });

        Assert.Equal(Nodes(1), plan.NodesOf(Face));
        Assert.Equal(Nodes(1), plan.NodesOf(Gfpgan));
    }

    [Fact]
    public void Face_analysis_is_placed_before_enhancers_take_the_memory()
    {
        // Room for one of the two: face-analysis wins though codeformer sorts first by name.
        var workers = new[] { Worker(1, 1000, 1000, [(CodeFormer, 600), (Face, 600)]) };

        var plan = PlacementPlanner.Plan(PlacementPlan.Empty, workers, Policy with { MemoryHeadroom = 0 });

        Assert.Equal(Nodes(1), plan.NodesOf(Face));
        Assert.Empty(plan.NodesOf(CodeFormer));
        Assert.StartsWith("no worker has 600 MiB free for it", plan.Models.Single(m => m.Model == CodeFormer).Unplaced);
    }

    [Fact]
    public void A_model_no_worker_offers_disappears_from_the_plan()
    {
        var before = PlacementPlanner.Plan(PlacementPlan.Empty, [Worker(1, 8000, 8000, DefaultPack)], Policy);

        var after = PlacementPlanner.Plan(before, [Worker(1, 8000, 8000, [(Face, 300)])], Policy);

        Assert.Equal(new[] { Face }, after.Models.Select(m => m.Model));
    }

    [Theory]
    [InlineData(0, 0.1, "replicas")]
    [InlineData(65, 0.1, "replicas")]
    [InlineData(2, -0.1, "memory-headroom")]
    [InlineData(2, 0.95, "memory-headroom")]
    [InlineData(2, double.NaN, "memory-headroom")]
    public void A_policy_out_of_range_is_refused_naming_the_setting(int replicas, double headroom, string setting)
    {
        var policy = new PlacementPolicy { Replicas = replicas, MemoryHeadroom = headroom };

        var error = Assert.Throws<ArgumentException>(() => policy.Validated());
        Assert.Contains(setting, error.Message);
        Assert.Throws<ArgumentException>(() => PlacementPlanner.Plan(PlacementPlan.Empty, [], policy));
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(64, 0.9)]
    public void A_policy_at_its_limits_is_accepted(int replicas, double headroom)
    {
        var policy = new PlacementPolicy { Replicas = replicas, MemoryHeadroom = headroom };

        Assert.Same(policy, policy.Validated());
    }
}
