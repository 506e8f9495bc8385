using System.Diagnostics;
using Akka.Streams;
using Akka.Streams.Dsl;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Swap.Evaluation;
using Xunit.Abstractions;

namespace FaceSwap.Node.Tests;

/// <summary>A worker that leaves gracefully (SIGTERM runs CoordinatedShutdown) hands its shards to the other worker: the stream goes on being swapped.</summary>
[Collection(ClusterCollection.Name)]
public sealed class WorkerLeaveTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task A_leaving_worker_hands_its_streams_to_the_other_worker()
    {
        // Local serialization off here: Akka's own cluster events, serialized locally, lose the members' up-numbers, so
        // the sharding coordinator's singleton sees the newest worker as the oldest and its hand-over sticks.
        // Everything that crosses nodes is serialized all the same.
        await using var seed = await fixture.Start([Roles.Seed], serializeLocal: false);
        var address = seed.Settings.SelfAddress;
        var workers = new[] { await fixture.Start([Roles.Worker], address, serializeLocal: false), await fixture.Start([Roles.Worker], address, serializeLocal: false) };
        await using var edge = await fixture.Start([Roles.Edge], address, serializeLocal: false);
        await ClusterFixture.AllUp(4, seed, workers[0], workers[1], edge);
        using var still = StillFrames.Astronaut640x480();

        long served = 0;
        var servedAt = new List<long>();
        var handle = EdgeStream.Run(edge.System,
            Source.Repeat(0).Throttle(1, TimeSpan.FromSeconds(0.1), 1, ThrottleMode.Shaping).Select(_ => still.Clone()),
            new EdgeStreamOptions { StreamId = "handover", Swap = new StreamSettings(ClusterFixture.Identity), FramesPerSecond = 10, BudgetMs = 300 },
            edge.Detect, edge.Swap, Sink.ForEach<EmittedFrame>(f =>
            {
                if (!f.FailMode)
                    lock (servedAt)
                    {
                        served++;
                        servedAt.Add(Stopwatch.GetTimestamp());
                    }
                f.Dispose();
            }), marks: null);
        try
        {
            await ClusterFixture.Until(() => Interlocked.Read(ref served) >= 5, TimeSpan.FromMinutes(1),
                () => $"the stream was not served: {StreamReport.Format(handle.Ledger.Snapshot(), TimeSpan.FromMinutes(1), 0)}");
            // Stop the worker that carries the stream.
            var carrier = handle.Ledger.Snapshot().AnsweredBy.Single().Key;
            var leaving = workers.Single(w => $"worker-{w.Settings.Port}" == carrier);
            await leaving.Stop();
            var left = Stopwatch.GetTimestamp();
            await Task.Delay(TimeSpan.FromSeconds(9));
            var after = servedAt.Count(t => t > left + 3 * Stopwatch.Frequency);
            var stats = handle.Ledger.Snapshot();
            output.WriteLine($"carrier {carrier} left; answered by {string.Join(", ", stats.AnsweredBy)}; {after} frames served between 3 s and 9 s after");
            Assert.Contains(stats.AnsweredBy.Keys, w => w != carrier);
            Assert.True(after >= 30, $"only {after} frames swapped in the 6 s after the handover settled (10 fps)");
        }
        finally
        {
            handle.Capture.Shutdown();
            await handle.Completion.WaitAsync(TimeSpan.FromSeconds(30));
            foreach (var worker in workers) await worker.Stop();
        }
    }
}
