using BenchmarkDotNet.Attributes;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap;
using FaceSwap.Swap.Evaluation;
using FaceSwap.Vision;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;

namespace FaceSwap.Bench;

/// <summary>
/// The whole built-in swap per frame, as a stream runs it: 640×480, one face, detection every 5th frame and
/// tracking in between, smoothing, mesh warp, colour transfer and blend; every model on one thread.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PercentileConfig))]
public class SwapBenchmarks
{
    private FaceAnalyzer _analyzer = null!;
    private AverageFaceBuilder.Result _average = null!;
    private StreamSwapEngine _engine = null!;
    private Mat _still = null!;
    private Mat _frame = null!;
    private long _missed;

    [Params(BlendMode.Feather, BlendMode.Seamless)]
    public BlendMode Blend { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var store = new ModelStore(RepositoryPaths.ModelStore);
        DefaultPackBuilder.Build(RepositoryPaths.NodeModules, store);
        _analyzer = FaceAnalyzer.Open(store, new InferenceOptions { IntraOpThreads = 1 }, new DetectorOptions(), NullLogger.Instance);
        using (var photos = FaceAnalyzer.Open(store, new InferenceOptions { IntraOpThreads = 1 }, DetectorOptions.Photos, NullLogger.Instance))
            _average = AverageFaceBuilder.Build(photos, Enumerable.Range(1, 6).Select(n => Path.Combine(RepositoryPaths.SamplePhotos, $"sample{n}.jpg")));
        _engine = new StreamSwapEngine(_analyzer, _average.Face, new StreamEngineOptions { Swap = new SwapOptions { Blend = Blend } });
        _still = StillFrames.Astronaut640x480();
        _frame = _still.Clone();
        if (_engine.Process(_frame).Swapped != 1) throw new InvalidOperationException("the benchmark frame should hold one swappable face");
    }

    [Benchmark(Description = "swap one frame (640x480, one face, tracking on)")]
    public int SwapFrame()
    {
        _still.CopyTo(_frame); // a fresh camera frame each time: the swap writes into it
        var swapped = _engine.Process(_frame).Swapped;
        if (swapped != 1) _missed++;
        return swapped;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_missed > 0) throw new InvalidOperationException($"{_missed} frames were not swapped: the figures would not measure a swap");
        _analyzer.Dispose();
        _average.Face.Dispose();
        _still.Dispose();
        _frame.Dispose();
    }
}
