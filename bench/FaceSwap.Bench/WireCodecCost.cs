using System.Diagnostics;
using FaceSwap.Cluster;
using FaceSwap.Cluster.Stages;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Faces;
using FaceSwap.Swap;
using FaceSwap.Vision;
using HdrHistogram;
using OpenCvSharp;

namespace FaceSwap.Bench;

/// <summary>
/// What the cluster path spends on image codecs per tracked frame, on the campaign's own frames: the edge's JPEG of
/// each region, the worker's decode of it, the worker's patch JPEG and mask PNG, and the edge's decode of both.
/// The nodes time none of these alone (the worker's swap time and the edge's composite time include them), so
/// they are replayed here, one frame after another, outside the other measurements.
/// </summary>
public static class WireCodecCost
{
    /// <param name="Frames">tracked frames timed (the first frame has no track yet: the edge would ask the detector first)</param>
    /// <param name="WorkerAndEdge">per frame, the worker's decode and encode plus the edge's decode: all but the edge's encode, which its ledger times</param>
    public sealed record Result(int Frames, LongHistogram EdgeEncode, LongHistogram WorkerDecode, LongHistogram WorkerEncode, LongHistogram EdgeDecode,
        LongHistogram WorkerAndEdge, double CropBytes, double PatchBytes)
    {
        public static double P50(LongHistogram histogram) => histogram.GetValueAtPercentile(50) / 1000.0;
    }

    public static Result Measure(FaceAnalyzer analyzer, SourceFace source, IReadOnlyList<Mat> frames, int jpegQuality)
    {
        var engine = new StreamSwapEngine(analyzer, source, new StreamEngineOptions());
        LongHistogram Histogram() => new(1, 60_000_000, 3);
        var (edgeEncode, workerDecode, workerEncode, edgeDecode, workerAndEdge) = (Histogram(), Histogram(), Histogram(), Histogram(), Histogram());
        var (timed, cropBytes, patchBytes) = (0, 0L, 0L);
        FaceBox[] tracks = [];
        foreach (var frame in frames)
        {
            // The regions the edge cuts for a tracked frame: around the tracks the last answer carried (FramePipeline's FaceRegions.Of).
            var regions = FaceRegions.Of(tracks, null, frame.Width, frame.Height);
            using var swapped = frame.Clone();
            engine.Process(swapped);
            tracks = [.. engine.Tracks.Select(t => WireFaces.Box(StreamSwapEngine.MeshBox(t.Landmarks), t.Landmarks.Presence))];
            if (regions.Count == 0) continue;
            var (encode, decode, patchEncode, patchDecode) = (0L, 0L, 0L, 0L);
            foreach (var region in regions)
            {
                var started = Stopwatch.GetTimestamp();
                EncodedImage crop;
                using (var pixels = frame[region]) crop = WireImages.Jpeg(pixels, jpegQuality);
                encode += Micros(started);
                cropBytes += crop.Data.Length;
                started = Stopwatch.GetTimestamp();
                using var received = WireImages.Decode(crop, 3, "bench region");
                decode += Micros(started);

                // The patch as SwapStage cuts it: the box of what the swap changed in the region, grown 2 px, and its exact mask.
                // Here the swap ran on the lossless full frame, the worker's on a canvas of the decoded regions: the same face, a box within a pixel or two.
                using var before = frame[region];
                using var after = swapped[region];
                using var changed = new Mat();
                var box = SwapStage.ChangedBox(before, after, changed);
                if (box.Width == 0 || box.Height == 0) continue;
                using var patch = after[box];
                using var mask = changed[box];
                started = Stopwatch.GetTimestamp();
                var (patchJpeg, maskPng) = (WireImages.Jpeg(patch, SwapStage.PatchQuality), WireImages.Png(mask));
                patchEncode += Micros(started);
                patchBytes += patchJpeg.Data.Length + maskPng.Data.Length;
                started = Stopwatch.GetTimestamp();
                using var pixelsBack = WireImages.Decode(patchJpeg, 3, "bench patch");
                using var maskBack = WireImages.Decode(maskPng, 1, "bench mask");
                patchDecode += Micros(started);
            }
            timed++;
            edgeEncode.RecordValue(Math.Max(1, encode));
            workerDecode.RecordValue(Math.Max(1, decode));
            workerEncode.RecordValue(Math.Max(1, patchEncode));
            edgeDecode.RecordValue(Math.Max(1, patchDecode));
            workerAndEdge.RecordValue(Math.Max(1, decode + patchEncode + patchDecode));
        }
        if (timed == 0) throw new InvalidOperationException($"no tracked frame among {frames.Count}: the engine never found a face, so there is no codec work to time");
        return new Result(timed, edgeEncode, workerDecode, workerEncode, edgeDecode, workerAndEdge, (double)cropBytes / timed, (double)patchBytes / timed);
    }

    private static long Micros(long started) => (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds;
}
