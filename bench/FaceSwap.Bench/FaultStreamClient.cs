using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FaceSwap.Governance.Consent;
using FaceSwap.Node;
using FaceSwap.Node.Tests.Live;

namespace FaceSwap.Bench;

/// <summary>
/// One viewer's stream, as the live page runs it: start on an edge with its settings, frames up at a steady rate,
/// and after a close, start again on the next edge (what a Service in front of the edges gives). Every frame
/// received is kept as a point of the stream's timeline.
/// </summary>
internal sealed class FaultStreamClient(string name, List<FarmNode> edges, int first, string token, byte[] jpeg, Stopwatch clock, object settings)
{
    private readonly record struct Received(double At, bool FailMode, long Seq, int Connection, double LatencyMs);

    private readonly List<Received> _timeline = [];
    private readonly List<double> _closes = [];
    private LiveClient? _client;
    private int _connection;

    public string Name => name;
    public FarmNode? Edge { get; private set; }
    public string? StreamId { get; private set; }
    /// <summary>The stream's latency budget, as the edge answered its start.</summary>
    public int BudgetMs { get; private set; } = 150;

    public async Task Run(CancellationToken cancel)
    {
        var attempt = 0;
        while (!cancel.IsCancellationRequested)
        {
            var edge = edges[(first + attempt) % edges.Count];
            try
            {
                if (!edge.Running) throw new InvalidOperationException($"{edge.Name} is not running");
                var connection = Interlocked.Increment(ref _connection);
                var offset = clock.Elapsed.TotalMilliseconds;
                await using var client = await LiveClient.Connect(edge.Http, keepFrames: false, onFrame: f =>
                {
                    lock (_timeline) _timeline.Add(new Received(offset + f.ReceivedAtMs, f.FailMode, f.Seq, connection, f.ReceivedAtMs - f.ClientTime));
                });
                var started = await client.Start(token, IdentityIds.Average, FaultCampaign.Fps, settings);
                if (started.GetProperty("type").GetString() != "started")
                    throw new InvalidOperationException($"{edge.Name} refused the stream: {started.GetRawText()}");
                (Edge, StreamId, _client) = (edge, started.GetProperty("stream").GetString(), client);
                BudgetMs = started.GetProperty("budgetMs").GetInt32();
                using var tick = new PeriodicTimer(TimeSpan.FromSeconds(1 / FaultCampaign.Fps));
                while (!cancel.IsCancellationRequested && !client.Closed.Task.IsCompleted && await tick.WaitForNextTickAsync(cancel))
                    await client.SendFrame(jpeg);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or InvalidOperationException or TimeoutException or HttpRequestException)
            {
                Console.WriteLine($"  stream {name} on {edge.Name}: {e.Message}");
            }
            if (cancel.IsCancellationRequested) return;
            _client = null;
            lock (_timeline) _closes.Add(clock.Elapsed.TotalMilliseconds);
            attempt++;
            try
            {
                await Task.Delay(500, cancel);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public int SwappedInLast(double ms)
    {
        var since = clock.Elapsed.TotalMilliseconds - ms;
        lock (_timeline) return _timeline.Count(r => r.At >= since && !r.FailMode);
    }

    /// <summary>Asks the edge for the stream's settings (an empty change answers them whole) and compares them with what the client set.</summary>
    public async Task<bool> SettingsKept()
    {
        if (_client is not { } client) return false;
        // Only an answer to this question counts: the client keeps every message, earlier answers among them.
        var asked = client.Messages.Count;
        await client.SendText(new { type = "settings", settings = new { } });
        var waited = Stopwatch.StartNew();
        JsonElement? answer = null;
        while (answer is null && waited.Elapsed < TimeSpan.FromSeconds(10) && !client.Closed.Task.IsCompleted)
        {
            answer = client.Messages.Skip(asked).Cast<JsonElement?>().FirstOrDefault(m => m!.Value.GetProperty("type").GetString() == "settings");
            if (answer is null) await Task.Delay(50);
        }
        if (answer is null) return false;
        var now = answer.Value.GetProperty("settings");
        var wanted = JsonSerializer.SerializeToElement(settings);
        return wanted.EnumerateObject().All(p => now.TryGetProperty(p.Name, out var v) && v.ToString() == p.Value.ToString());
    }

    /// <summary>The stream from the fault at <paramref name="at"/> to <paramref name="end"/> (campaign ms).</summary>
    public FaultCampaign.StreamOutcome Outcome(double at, double end)
    {
        Received[] all;
        double[] closes;
        lock (_timeline) (all, closes) = ([.. _timeline], [.. _closes]);
        var window = all.Where(r => r.At >= at && r.At <= end).ToArray();
        var reconnects = closes.Where(c => c >= at && c <= end).ToList();
        // Frozen is an open connection that stops giving frames: gaps within one connection. A lost connection (its
        // edge went down) is counted apart, as the time from its last frame to the next connection's first.
        var previous = all.LastOrDefault(r => r.At < at);
        var frames = (previous.At > 0 ? new[] { previous } : []).Concat(window).ToArray();
        var pairs = frames.Zip(frames.Skip(1)).ToList();
        var openGap = pairs.Where(p => p.First.Connection == p.Second.Connection).Select(p => p.Second.At - p.First.At).DefaultIfEmpty(0).Max();
        if (window.Length > 0 && reconnects.Count == 0) openGap = Math.Max(openGap, end - window[^1].At);
        var reconnectGap = pairs.Where(p => p.First.Connection != p.Second.Connection).Select(p => p.Second.At - p.First.At).DefaultIfEmpty(0).Max();
        // The outage starts at the first fail-mode frame, lost connection or stall over a second after the fault; the
        // stream is back at the start of the first two seconds of swapped frames after it (a lone late frame later on
        // is counted among the fail-mode frames, not as the outage going on).
        var outage = window.Where(r => r.FailMode).Select(r => r.At).Concat(reconnects)
            .Concat(pairs.Where(p => p.Second.At - p.First.At > 1000).Select(p => p.First.At)).DefaultIfEmpty(double.NaN).Min();
        double? resumed = double.IsNaN(outage) ? 0 : null;
        if (!double.IsNaN(outage))
        {
            var after = window.Where(r => r.At > outage).ToArray();
            for (var i = 0; i < after.Length && resumed is null; i++)
            {
                if (after[i].FailMode) continue;
                var run = after.Skip(i).TakeWhile(r => !r.FailMode && r.Connection == after[i].Connection).ToArray();
                if (run.Length > 1 && run[^1].At - after[i].At >= 2000 && run.Zip(run.Skip(1)).All(p => p.Second.At - p.First.At < 1000)) resumed = (after[i].At - at) / 1000;
            }
        }
        var twice = window.GroupBy(r => (r.Connection, r.Seq)).Count(g => g.Count() > 1);
        return new FaultCampaign.StreamOutcome(name, resumed, window.Count(r => r.FailMode), window.Length, openGap, reconnects.Count, reconnectGap, twice);
    }

    /// <summary>The whole timeline as CSV (campaign seconds, fail mode, sequence, connection, latency), for a closer look.</summary>
    public void WriteCsv(string path)
    {
        lock (_timeline)
            File.WriteAllLines(path, ["seconds,fail_mode,seq,connection,latency_ms", .. _timeline.Select(r =>
                string.Create(CultureInfo.InvariantCulture, $"{r.At / 1000:F3},{(r.FailMode ? 1 : 0)},{r.Seq},{r.Connection},{r.LatencyMs:F1}"))]);
    }

    public IReadOnlyList<LatencyChart.Point> Points()
    {
        lock (_timeline) return [.. _timeline.Select(r => new LatencyChart.Point(r.At / 1000, r.LatencyMs, r.FailMode))];
    }
}
