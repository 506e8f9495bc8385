using System.Globalization;
using FaceSwap.Contracts.Placement;

namespace FaceSwap.Cluster.Placement;

/// <summary>How the coordinator places models on workers.</summary>
public sealed record PlacementPolicy
{
    /// <summary>
    /// The default pack's analysis models (detector, FaceMesh, embedder) as one unit: every stream's detect and swap
    /// need it, so it goes on every worker that can hold it.
    /// </summary>
    public const string FaceAnalysis = "face-analysis";

    /// <summary>How many workers hold each other model (the enhancers), at most.</summary>
    public int Replicas { get; init; } = 2;

    /// <summary>Share of a worker's total memory never planned: room for frames, batches and the runtime's arenas.</summary>
    public double MemoryHeadroom { get; init; } = 0.1;

    /// <summary>This policy, or an <see cref="ArgumentException"/> naming the setting that is out of range.</summary>
    public PlacementPolicy Validated()
    {
        if (Replicas is < 1 or > 64)
            throw new ArgumentException($"replicas must be 1..64, got {Replicas}", "replicas");
        if (!(MemoryHeadroom is >= 0 and <= 0.9))
            throw new ArgumentException($"memory-headroom must be 0..0.9 (a share of total memory), got {MemoryHeadroom.ToString(CultureInfo.InvariantCulture)}", "memory-headroom");
        return this;
    }
}

/// <summary>
/// The coordinator's planning step, a pure function of the last plan and the workers' reports: which workers hold
/// which model. Operator intent (pins, drains) and failed loads come in with the plan; memory and offers with the reports.
/// </summary>
public static class PlacementPlanner
{
    private const double Mebibyte = 1024 * 1024;

    /// <summary>
    /// The plan for <paramref name="workers"/> (the latest report of each live, reachable worker). Returns
    /// <paramref name="current"/> itself when nothing changed, else a new plan one version on.
    /// </summary>
    public static PlacementPlan Plan(PlacementPlan current, IReadOnlyCollection<WorkerReport> workers, PlacementPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(workers);
        policy = (policy ?? throw new ArgumentNullException(nameof(policy))).Validated();

        var byNode = new Dictionary<string, WorkerReport>(StringComparer.Ordinal);
        foreach (var report in workers) byNode[report.Node] = report;

        // A worker that left and comes back starts clean: its failures may have been the device, since replaced.
        var failed = current.Failed.Where(f => byNode.ContainsKey(f.Node)).ToArray();
        var drained = new HashSet<string>(current.Drained, StringComparer.Ordinal);
        var pins = current.Pins.Where(p => p.Nodes.Length > 0).ToDictionary(p => p.Model, p => p.Nodes, StringComparer.Ordinal);

        var budget = byNode.Values.ToDictionary(w => w.Node, Budget, StringComparer.Ordinal);
        var planned = byNode.Keys.ToDictionary(n => n, _ => 0, StringComparer.Ordinal);

        var models = byNode.Values.SelectMany(w => w.Available).Select(o => o.Model)
            .Concat(current.Pins.Select(p => p.Model))
            .Distinct(StringComparer.Ordinal)
            .OrderBy(m => m != PlacementPolicy.FaceAnalysis)
            .ThenBy(m => !pins.ContainsKey(m))
            .ThenBy(m => m, StringComparer.Ordinal)
            .ToArray();

        var placed = new List<PlacedModel>(models.Length);
        foreach (var model in models)
        {
            var placement = pins.TryGetValue(model, out var pinNodes) ? PlacePinned(model, pinNodes)
                : model == PlacementPolicy.FaceAnalysis ? PlaceEverywhere(model)
                : PlaceReplicas(model);
            foreach (var node in placement.Nodes)
            {
                budget[node] -= Bytes(byNode[node], model);
                planned[node]++;
            }
            placed.Add(placement with { Nodes = [.. placement.Nodes.Order(StringComparer.Ordinal)] });
        }
        var next = placed.OrderBy(p => p.Model, StringComparer.Ordinal).ToArray();

        if (next.SequenceEqual(current.Models, PlacedModelComparer.Instance) && failed.SequenceEqual(current.Failed))
            return current;
        return current with { Version = current.Version + 1, Models = next, Failed = failed };

        // Models already loaded here are the same memory if kept, and free once unloaded: either way they are this worker's to plan.
        long Budget(WorkerReport w) =>
            w.MemoryFreeBytes + w.Loaded.Distinct(StringComparer.Ordinal).Sum(m => Bytes(w, m)) - (long)Math.Round(policy.MemoryHeadroom * w.MemoryTotalBytes);

        bool Offers(WorkerReport w, string model) => w.Available.Any(o => o.Model == model);

        bool Failed(string node, string model) => failed.Any(f => f.Node == node && f.Model == model);

        bool IsCandidate(string node, string model) =>
            !drained.Contains(node) && byNode.TryGetValue(node, out var w) && Offers(w, model) && !Failed(node, model);

        bool Fits(string node, string model) => budget[node] >= Bytes(byNode[node], model);

        PlacedModel PlacePinned(string model, string[] pinNodes)
        {
            var nodes = new List<string>();
            var missing = new List<string>();
            foreach (var node in pinNodes.Distinct(StringComparer.Ordinal))
            {
                var why = drained.Contains(node) ? "is drained"
                    : !byNode.TryGetValue(node, out var w) ? "is not in the cluster"
                    : !Offers(w, model) ? "does not offer it"
                    : failed.FirstOrDefault(f => f.Node == node && f.Model == model) is { } f ? $"failed to load it ({f.Error})"
                    : !Fits(node, model) ? $"has not enough memory (needs {MiB(Bytes(w, model))}, has {MiB(budget[node])})"
                    : null;
                if (why is null) nodes.Add(node);
                else missing.Add($"{node} {why}");
            }
            var unplaced = missing.Count == 0 ? null
                : $"pinned to {pinNodes.Distinct(StringComparer.Ordinal).Count()} node(s), placed on {nodes.Count}: {string.Join("; ", missing)}";
            return new PlacedModel(model, [.. nodes], unplaced);
        }

        PlacedModel PlaceEverywhere(string model)
        {
            var nodes = byNode.Keys.Where(n => IsCandidate(n, model) && Fits(n, model)).ToArray();
            return new PlacedModel(model, nodes, nodes.Length == 0 ? WhyNowhere(model) : null);
        }

        PlacedModel PlaceReplicas(string model)
        {
            // Holders first, so a re-plan (a worker joining, another model moving) does not reload what is already loaded.
            var nodes = current.NodesOf(model).Where(n => IsCandidate(n, model) && Fits(n, model)).Take(policy.Replicas).ToList();
            nodes.AddRange(byNode.Keys
                .Where(n => !nodes.Contains(n) && IsCandidate(n, model) && Fits(n, model))
                .OrderByDescending(n => budget[n])
                .ThenBy(n => planned[n])
                .ThenBy(n => n, StringComparer.Ordinal)
                .Take(policy.Replicas - nodes.Count));
            return new PlacedModel(model, [.. nodes], nodes.Count == 0 ? WhyNowhere(model) : null);
        }

        string WhyNowhere(string model)
        {
            var offering = byNode.Values.Where(w => Offers(w, model)).Select(w => w.Node).Order(StringComparer.Ordinal).ToArray();
            if (offering.Length == 0)
                return "no worker offers it (add it to a worker's model store)";
            var candidates = offering.Where(n => IsCandidate(n, model)).ToArray();
            if (candidates.Length == 0)
            {
                var why = offering.Select(n => drained.Contains(n) ? $"{n} is drained" : $"{n} failed to load it ({failed.First(f => f.Node == n && f.Model == model).Error})");
                return $"every worker that offers it is drained or failed to load it: {string.Join("; ", why)}";
            }
            var needs = candidates.Min(n => Bytes(byNode[n], model));
            var roomiest = candidates.OrderByDescending(n => budget[n]).ThenBy(n => n, StringComparer.Ordinal).First();
            return $"no worker has {MiB(needs)} free for it (largest budget: {MiB(budget[roomiest])} on {roomiest})";
        }
    }

    private static long Bytes(WorkerReport worker, string model) => worker.Available.FirstOrDefault(o => o.Model == model)?.Bytes ?? 0;

    private static string MiB(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, bytes) / Mebibyte:0.#} MiB");

    /// <summary>Records compare arrays by reference; a plan is unchanged when its node lists hold the same addresses.</summary>
    private sealed class PlacedModelComparer : IEqualityComparer<PlacedModel>
    {
        public static PlacedModelComparer Instance { get; } = new();

        public bool Equals(PlacedModel? x, PlacedModel? y) =>
            ReferenceEquals(x, y) || (x is not null && y is not null && x.Model == y.Model && x.Unplaced == y.Unplaced && x.Nodes.SequenceEqual(y.Nodes));

        public int GetHashCode(PlacedModel obj) => obj.Model.GetHashCode(StringComparison.Ordinal);
    }
}
