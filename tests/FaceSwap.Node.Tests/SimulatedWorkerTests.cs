using FaceSwap.Cluster.Placement;
using FaceSwap.Cluster.Simulation;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts.Placement;
using FaceSwap.Inference.Batching;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Node.Tests;

/// <summary>The simulated device a farm is dry-run on: its cost model, the memory it reports, its synthetic answers.</summary>
public sealed class SimulatedWorkerTests
{
    private static readonly SimulatedModel Model = new("model", 20, 5, 100 << 20);

    private static SimulatedProfile Profile(long memory) => new("test device", memory, Model, null, Model with { Name = "swapper" }, null);

    [Fact]
    public void A_batch_of_n_costs_fixed_plus_n_times_per_item()
    {
        Assert.Equal(25, Model.BatchMs(1));
        Assert.Equal(60, Model.BatchMs(8));
        Assert.Throws<ArgumentOutOfRangeException>(() => Model.BatchMs(0));
        Assert.Throws<ArgumentException>(() => (Model with { PerItemMs = -1 }).Validated());
    }

    [Fact]
    public void Requests_of_several_streams_share_a_batch_and_the_device_is_busy_for_its_modelled_time()
    {
        using var worker = new SimulatedWorker(Profile(1L << 30), "sim", new BatchingOptions { MaxBatch = 4, MaxQueueDelay = TimeSpan.FromMilliseconds(100) });
        // Each stream once alone first: the batcher holds a batch only for streams it has seen lately.
        for (var i = 0; i < 4; i++) worker.Run(Model, $"stream-{i}", long.MaxValue);
        var started = System.Diagnostics.Stopwatch.StartNew();
        // Threads of their own, as the stage dispatcher's: the thread pool would start blocking callers one by one.
        var callers = Enumerable.Range(0, 4).Select(i => new Thread(() => worker.Run(Model, $"stream-{i}", long.MaxValue))).ToList();
        callers.ForEach(t => t.Start());
        callers.ForEach(t => t.Join());
        var wall = started.Elapsed;

        var stats = worker.BatchingStats().Single(s => s.Model == Model.Name);
        Assert.Equal(8, stats.Requests);
        // Whatever batches formed, the device was busy for exactly their modelled times, and the callers waited at least that.
        var modelled = stats.BatchSizes.Select((count, size) => count * (size == 0 ? 0 : Model.BatchMs(size))).Sum();
        Assert.Equal(modelled, worker.DeviceBusy.TotalMilliseconds, 1);
        Assert.True(wall.TotalMilliseconds >= (modelled - 4 * Model.BatchMs(1)) * 0.95, $"the batches took {wall.TotalMilliseconds:F1} ms, modelled {modelled:F1} ms");
        Assert.True(stats.Batches < 8, $"4 active streams within the queue delay should share batches, got {stats.Batches - 4} batches for their 4 requests");
    }

    [Fact]
    public void The_device_memory_is_reported_and_placement_honours_it()
    {
        using var big = new SimulatedWorker(SimulatedProfile.Rtx3080Ti, "big");
        using var small = new SimulatedWorker(SimulatedProfile.Rtx3080Ti with { MemoryBytes = 1L << 30 }, "small");
        Assert.Equal(12L << 30, big.DeviceMemoryBytes);
        Assert.Equal(SimulatedProfile.Rtx3080Ti.DeviceBytes, big.Offers().Single(o => o.Model == WorkerModels.FaceAnalysis).Bytes);
        Assert.True(SimulatedProfile.Rtx3080Ti.DeviceBytes > 1L << 30, "the unit must not fit a 1 GiB device for this test to mean anything");

        WorkerReport Report(SimulatedWorker w, string node) => new(node, w.Provider, w.DeviceMemoryBytes, w.DeviceMemoryBytes, [.. w.Offers()], [], 60, 0);
        var plan = PlacementPlanner.Plan(PlacementPlan.Empty, [Report(big, "akka.tcp://faceswap@10.0.0.1:4053"), Report(small, "akka.tcp://faceswap@10.0.0.2:4053")], new PlacementPolicy());

        Assert.Equal(["akka.tcp://faceswap@10.0.0.1:4053"], plan.NodesOf(WorkerModels.FaceAnalysis));
    }

    [Fact]
    public void Synthetic_answers_have_the_size_of_a_real_face_patch_and_fit_their_region()
    {
        using var frame = DemoVideo.Frames(1, 30).Single();
        var box = SyntheticFaces.Centred(frame.Width, frame.Height);
        Assert.Equal(0.3f * 480, box.Width, 3);
        // The edge sends the region around the track, twice its side; the worker finds the face in its middle.
        var region = new Rect((int)(box.X - box.Width / 2), (int)(box.Y - box.Height / 2), (int)(box.Width * 2), (int)(box.Height * 2));
        using var pixels = frame[region];
        var face = SyntheticFaces.FaceIn(region.Width, region.Height, SimulatedSwapStage.RegionPerFace);
        var mask = SyntheticFaces.Mask(face.Width, face.Height);
        var patch = SyntheticFaces.Patch(pixels, face, region.X, region.Y, mask, 92);

        Assert.Equal((region.X + face.X, region.Y + face.Y), (patch.X, patch.Y));
        using var decoded = WireImages.Decode(patch.Patch, 3, "patch");
        using var decodedMask = WireImages.Decode(patch.Mask, 1, "mask");
        Assert.Equal(face.Size, decoded.Size());
        Assert.Equal(face.Size, decodedMask.Size());
        // A 144-pixel face at JPEG quality 92: kilobytes, as the real swap's patches (the demo's 4.2 KiB back per request and up).
        Assert.InRange(patch.Patch.Data.Length, 2_000, 40_000);
        Assert.Equal(10, patch.FivePoints.Length);
    }
}
