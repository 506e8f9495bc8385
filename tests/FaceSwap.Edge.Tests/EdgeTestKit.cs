using Akka.Actor;
using Akka.Streams.Dsl;
using FaceSwap.Contracts;
using OpenCvSharp;
using Xunit.Abstractions;

// The stream tests measure rates and budgets: on a small machine they must not share the cores with each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace FaceSwap.Edge.Tests;

/// <summary>One local actor system per test (no cluster): the real edge graph against fake stage actors.</summary>
public abstract class EdgeTestKit(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = INFO", output)
{
    protected static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    protected static EdgeStreamOptions Options() => new()
    {
        StreamId = "edge-test",
        Swap = new StreamSettings("identity-test"),
    };

    /// <summary>Runs the graph over <paramref name="frames"/> and waits (boundedly) for it to complete; a faulted completion throws here.</summary>
    protected async Task<StreamStats> Run(Source<Mat, Akka.NotUsed> frames, EdgeStreamOptions options, IActorRef detect, IActorRef swap, Recorder recorder)
    {
        var handle = EdgeStream.Run(Sys, frames, options, detect, swap, recorder.Sink, marks: null);
        await handle.Completion.WaitAsync(Generous);
        Assert.True(handle.Completion.IsCompletedSuccessfully);
        var stats = handle.Ledger.Snapshot();
        Output?.WriteLine($"{Describe(stats)}; emitted {recorder.Frames.Count}");
        return stats;
    }

    protected static string Describe(StreamStats s) =>
        $"offered {s.Offered}, served {s.Served}, fail mode {s.FailMode}, in flight {s.InFlight}, dropped [{string.Join(", ", s.Dropped.Select(d => $"{d.Key}={d.Value}"))}], oversize {s.Oversize}, max buffered {s.MaxBuffered}, max asking {s.MaxAsking}";

    /// <summary>Every offered frame was served, emitted by the fail mode or dropped, and none is left in flight.</summary>
    protected static void AssertBooksBalance(StreamStats stats)
    {
        Assert.Equal(stats.Offered, stats.Served + stats.FailMode + stats.DroppedTotal + stats.InFlight);
        Assert.Equal(0, stats.InFlight);
    }

    protected static void AssertStrictlyIncreasing(IReadOnlyList<Emitted> frames)
    {
        for (var i = 1; i < frames.Count; i++)
            Assert.True(frames[i].Seq > frames[i - 1].Seq, $"frame {i} has seq {frames[i].Seq} after {frames[i - 1].Seq}");
    }

    /// <summary>The patch is solid red at <paramref name="place"/>, and every other pixel is the input's.</summary>
    protected static void AssertPatched(Emitted frame, Rect place)
    {
        using (var patch = frame.Image[place])
        using (var red = new Mat())
        {
            Cv2.InRange(patch, new Scalar(0, 0, 230), new Scalar(25, 25, 255), red);
            Assert.Equal(place.Width * place.Height, Cv2.CountNonZero(red));
        }
        using var expected = Frames.Make(frame.Seq);
        using var diff = new Mat();
        Cv2.Absdiff(frame.Image, expected, diff);
        using (var inside = diff[place]) inside.SetTo(Scalar.All(0));
        using var flat = diff.Reshape(1);
        Assert.Equal(0, Cv2.CountNonZero(flat));
    }

    protected async Task AwaitStops(params StageLog[] logs) =>
        await AwaitAssertAsync(() => Assert.All(logs, log => Assert.Equal(1, log.Stops)), TimeSpan.FromSeconds(10));
}
