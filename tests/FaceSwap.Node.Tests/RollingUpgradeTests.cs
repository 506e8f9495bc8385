using System.Diagnostics;
using Akka.Streams;
using Akka.Streams.Dsl;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Swap.Evaluation;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests;

/// <summary>
/// A rolling upgrade: a worker of the previous release (the frozen V1 contracts on the wire) serves a stream, a
/// worker of this release joins, the old one leaves, and the same stream goes on, swapped by each in turn.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RollingUpgradeTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task A_stream_is_served_by_a_previous_release_worker_and_then_by_its_upgraded_replacement()
    {
        await using var seed = await fixture.Start([Roles.Seed], serializeLocal: false);
        var address = seed.Settings.SelfAddress;
        var old = await fixture.Start([Roles.Worker], address, serializeLocal: false, extraHocon: V1WireSerializer.Hocon);
        await using var edge = await fixture.Start([Roles.Edge], address, serializeLocal: false);
        await ClusterFixture.AllUp(3, seed, old, edge);
        using var still = StillFrames.Astronaut640x480();

        var servedAt = new List<long>();
        var handle = EdgeStream.Run(edge.System,
            Source.Repeat(0).Throttle(1, TimeSpan.FromSeconds(0.1), 1, ThrottleMode.Shaping).Select(_ => still.Clone()),
            new EdgeStreamOptions { StreamId = "upgrade", Swap = new StreamSettings(ClusterFixture.Identity), FramesPerSecond = 10, BudgetMs = 300 },
            edge.Detect, edge.Swap, Sink.ForEach<EmittedFrame>(f =>
            {
                if (!f.FailMode) lock (servedAt) servedAt.Add(Stopwatch.GetTimestamp());
                f.Dispose();
            }), marks: null);
        var oldName = $"worker-{old.Settings.Port}";
        try
        {
            await ClusterFixture.Until(() => handle.Ledger.Snapshot().AnsweredBy.GetValueOrDefault(oldName) >= 5, TimeSpan.FromMinutes(1),
                () => $"the previous-release worker did not serve: {StreamReport.Format(handle.Ledger.Snapshot(), TimeSpan.FromMinutes(1), 0)}");
            var downgraded = Interlocked.Read(ref V1WireSerializer.Downgraded);
            Assert.True(downgraded > 0, "the old worker's messages never crossed the wire in their V1 form");

            // The upgraded worker joins, then the old one leaves (its shards hand over).
            await using var upgraded = await fixture.Start([Roles.Worker], address, serializeLocal: false);
            await ClusterFixture.AllUp(4, seed, old, upgraded, edge);
            await old.Stop();
            var left = Stopwatch.GetTimestamp();
            await Task.Delay(TimeSpan.FromSeconds(9));
            int after;
            lock (servedAt) after = servedAt.Count(t => t > left + 3 * Stopwatch.Frequency);
            var stats = handle.Ledger.Snapshot();
            output.WriteLine($"answered by {string.Join(", ", stats.AnsweredBy)}; {downgraded} messages in V1 form; {after} frames swapped between 3 s and 9 s after the old worker left");
            output.WriteLine(StreamReport.Format(stats, TimeSpan.FromSeconds(20), 0));
            Assert.True(stats.AnsweredBy.GetValueOrDefault($"worker-{upgraded.Settings.Port}") > 0, "the upgraded worker never answered");
            Assert.True(after >= 30, $"only {after} frames swapped in the 6 s after the hand-over settled (10 fps)");
        }
        finally
        {
            handle.Capture.Shutdown();
            await handle.Completion.WaitAsync(TimeSpan.FromSeconds(30));
            await old.Stop();
        }
    }
}
