using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FaceSwap.Contracts.Management;
using FaceSwap.Contracts.Placement;

namespace FaceSwap.Bench;

/// <summary>The farm's nodes, and what the campaign asks their management APIs.</summary>
internal sealed class FaultFarm(List<FarmNode> nodes, string token)
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(3), DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };

    public List<FarmNode> Nodes => nodes;

    /// <summary>A running edge to ask (any node answers the API; an edge always runs but during the link cut).</summary>
    public FarmNode Edge => nodes.Where(n => n.Running).OrderBy(n => n.Name.StartsWith("edge-", StringComparison.Ordinal) ? 0 : 1).First();

    public FarmNode ByAddress(string address) => nodes.Single(n => n.Address == address);

    public async Task<T> Get<T>(FarmNode node, string path) =>
        await _http.GetFromJsonAsync<T>(node.Http + path, FaultCampaign.Json) ?? throw new InvalidOperationException($"{node.Name} {path}: empty answer");

    public async Task AllUp(TimeSpan timeout)
    {
        try
        {
            await Task.WhenAll(nodes.Where(n => n.Running).Select(n => n.Up)).WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"not up within {timeout.TotalSeconds:0} s: {string.Join(", ", nodes.Where(n => n.Running && !n.Up.IsCompleted).Select(n => n.Name))}");
        }
    }

    /// <summary>
    /// Every node running, Up and reachable in every node's view, the face-analysis placed on every worker, and every
    /// stream swapping again (5 swapped frames in the last second).
    /// </summary>
    public async Task Settled(TimeSpan timeout, List<FaultStreamClient> streams)
    {
        await AllUp(timeout);
        var deadline = Stopwatch.StartNew();
        var why = "";
        while (deadline.Elapsed < timeout)
        {
            why = await Unsettled(streams);
            if (why.Length == 0) return;
            await Task.Delay(500);
        }
        throw new TimeoutException($"the farm did not settle within {timeout.TotalSeconds:0} s: {why}");
    }

    private async Task<string> Unsettled(List<FaultStreamClient> streams)
    {
        try
        {
            foreach (var node in nodes)
            {
                var view = await Get<ClusterView>(node, "/api/cluster");
                var up = view.Members.Where(m => m.Status == "up" && m.Reachable).Select(m => m.Address).ToHashSet();
                if (!nodes.All(n => up.Contains(n.Address))) return $"{node.Name} sees {up.Count} of {nodes.Count} nodes up and reachable ({string.Join(", ", view.Members.Select(m => $"{m.Address} {m.Status}{(m.Reachable ? "" : " unreachable")}"))})";
                if (view.Members.Length != nodes.Count) return $"{node.Name} sees {view.Members.Length} members";
            }
            var plan = await Get<PlacementPlan>(Edge, "/api/models/placement");
            var workers = nodes.Where(n => n.Name.StartsWith("worker-", StringComparison.Ordinal)).Select(n => n.Address).ToList();
            if (!workers.All(plan.NodesOf("face-analysis").Contains)) return $"face-analysis is on {plan.NodesOf("face-analysis").Count} of {workers.Count} workers";
            foreach (var stream in streams)
                if (stream.SwappedInLast(1000) < 5) return $"stream {stream.Name} swapped {stream.SwappedInLast(1000)} frames in the last second";
            return "";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return $"a node did not answer: {e.Message}";
        }
    }

    /// <summary>The worker that answered most of <paramref name="stream"/>'s frames over the last 1.5 s.</summary>
    public async Task<FarmNode> Carrier(FaultStreamClient stream)
    {
        var edge = stream.Edge ?? throw new InvalidOperationException($"stream {stream.Name} is on no edge");
        var id = stream.StreamId ?? throw new InvalidOperationException($"stream {stream.Name} has no id");
        var first = await Get<StreamSummary>(edge, $"/api/streams/{id}");
        await Task.Delay(1500);
        var second = await Get<StreamSummary>(edge, $"/api/streams/{id}");
        var name = second.AnsweredBy.MaxBy(a => a.Value - first.AnsweredBy.GetValueOrDefault(a.Key)).Key;
        return nodes.Single(n => n.Name == name);
    }

    /// <summary>What the other running nodes say <paramref name="node"/> is (up, down, removed, unreachable).</summary>
    public async Task<string> MemberStatus(FarmNode node)
    {
        var asked = nodes.First(n => n != node && n.Running && n.Name.StartsWith("seed-", StringComparison.Ordinal));
        var view = await Get<ClusterView>(asked, "/api/cluster");
        return view.Members.FirstOrDefault(m => m.Address == node.Address) is { } m ? $"{m.Status}{(m.Reachable ? "" : " and unreachable")}" : "removed";
    }

    /// <summary>Polls every 200 ms until a coordinator other than on <paramref name="victim"/> answers with the plan, at least as new as <paramref name="before"/>.</summary>
    public async Task<(PlacementPlan Plan, string Holder, TimeSpan After)?> PlanRestored(FarmNode victim, PlacementPlan before, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            try
            {
                var asked = Edge;
                var view = await Get<ClusterView>(asked, "/api/cluster");
                if (view.Oldest is { } oldest && oldest != victim.Address && view.Members.All(m => m.Address != victim.Address))
                {
                    var plan = await Get<PlacementPlan>(asked, "/api/models/placement");
                    if (plan.Version >= before.Version && plan.NodesOf("face-analysis").Count > 0) return (plan, ByAddress(oldest).Name, clock.Elapsed);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                // The coordinator is moving: its proxy's ask times out until the new one answers.
            }
            await Task.Delay(200);
        }
        return null;
    }

    /// <summary>
    /// Polls every 500 ms until every node (the restarted one too) sees the same members, all of them up; and whether
    /// the restarted node was ever seen in a cluster of its own meanwhile.
    /// </summary>
    public async Task<(TimeSpan? Converged, bool Alone)> OneCluster(FarmNode restarted, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var alone = false;
        while (clock.Elapsed < timeout)
        {
            try
            {
                var views = new List<ClusterView>();
                foreach (var node in nodes) views.Add(await Get<ClusterView>(node, "/api/cluster"));
                var own = views[nodes.IndexOf(restarted)];
                if (own.Members.Count(m => m.Status == "up") == 1 && own.Members.Length == 1) alone = true;
                if (views.All(v => v.Members.Length == nodes.Count && v.Members.All(m => m.Status == "up" && m.Reachable)))
                    return (clock.Elapsed, alone);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                // The restarted node's endpoint is not up yet.
            }
            await Task.Delay(500);
        }
        return (null, alone);
    }
}
