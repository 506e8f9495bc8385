using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using FaceSwap.Cluster;
using FaceSwap.Cluster.Stages;
using FaceSwap.Contracts;
using FaceSwap.Edge;
using FaceSwap.Faces;
using FaceSwap.Faces.Detection;
using FaceSwap.Faces.Landmarks;
using FaceSwap.Inference.Runtime;
using FaceSwap.Node;
using FaceSwap.Swap;
using FaceSwap.Vision;
using FaceSwap.Vision.Video;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;

namespace FaceSwap.Bench;

/// <summary>
/// <c>dotnet run --project bench/FaceSwap.Bench -c Release -- stages [--frames N]</c>: what each stage of a frame's
/// path through the cluster costs, on one thread: CPU time per frame (p50, p99) and managed bytes allocated.
/// The demo clip is written to an MP4 and read back through ffmpeg, as the demo stream reads it; then each frame
/// goes through the edge's and the worker's stages one after another, calling what FramePipeline, DetectStage and
/// SwapStage call, each stage timed on its own (no transport, no serialization: the cluster campaign has those).
/// The detector runs on every frame (a stream runs it every 5th) so that it has a sample per frame; the regions
/// follow the stream's cadence. Last, StreamSwapEngine.Process on the same frames, for reference.
/// </summary>
public static partial class StageCostCampaign
{
    /// <summary>Frames each pass runs before its measured ones: JIT tiers and ONNX Runtime's buffers settle.</summary>
    private const int WarmUpFrames = 10;
    private const int FramesPerSecond = 30;

    public static int Run(string[] args)
    {
        var count = 300;
        for (var i = 0; i < args.Length; i++)
            switch (args[i])
            {
                case "--frames":
                    count = BenchArgs.Frames(args, ref i);
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{args[i]}': the stages campaign takes --frames N (10 to 10000)");
            }

        var wall = Stopwatch.StartNew();
        // OpenCV hands large operations to its own thread pool, whose time this thread's CPU clock would miss: one thread, as ONNX Runtime gets.
        var openCvThreads = Cv2.GetNumThreads();
        Cv2.SetNumThreads(1);
        var (store, average) = BenchCluster.PackAndAverageFace();
        var clip = Path.Combine(Path.GetTempPath(), $"fsc-stages-{Guid.NewGuid():N}.mp4");
        List<Mat> frames = [];
        try
        {
            using var analyzer = FaceAnalyzer.Open(store, new InferenceOptions { IntraOpThreads = 1 }, new DetectorOptions(), NullLogger.Instance);
            Console.WriteLine($"stages: {count} frames 640x480 of the demo clip (+{WarmUpFrames} warm-up), one thread, per-thread {(ThreadCpu.Available ? "CPU time" : "wall time (no thread CPU clock here)")}");
            var capture = new Stage("capture: frame from ffmpeg's pipe (VideoFileReader)", "edge");
            frames = Capture(clip, WarmUpFrames + count, capture);
            var staged = Staged(analyzer, average, frames);
            var whole = Reference(analyzer, average, frames);
            Stage[] stages = [capture, .. staged, whole];

            var table = BenchReport.Table(["stage", "where", "CPU p50", "CPU p99", "allocated per frame", "samples"],
                stages.Select(s => (IReadOnlyList<string>)[s.Name, s.Where, Ms(s.Percentile(50)), Ms(s.Percentile(99)), s.MeanKiB.ToString("F1", CultureInfo.InvariantCulture) + " KiB", s.Samples.ToString(CultureInfo.InvariantCulture)]),
                "llrrrr");
            var clock = ThreadCpu.Available ? "the thread's CPU clock" : "Stopwatch";
            var markdown =
                $"Each stage of a frame's path, timed on its own on one thread ({clock}; ONNX Runtime with IntraOpThreads = 1, OpenCV on one thread) " +
                $"over {count} frames of the 640×480 demo clip after {WarmUpFrames} warm-up frames, read back from its MP4 as the demo stream reads it. " +
                "Allocated: managed bytes only (`GC.GetAllocatedBytesForCurrentThread`); OpenCV's and ONNX Runtime's native buffers are not counted, nor ffmpeg's decoding, which runs in its own process. " +
                "The detector runs on every frame here (a stream runs it every 5th); per-face rows count per face. Transport and serialization are not included (see the cluster campaign).\n\n" + table;
            Console.WriteLine();
            Console.WriteLine(table);
            BenchReport.Fragment("stages", BenchReport.Command("stages", "--frames", count.ToString(CultureInfo.InvariantCulture)), markdown);
            BenchReport.Targets("stages", ("4", "the whole built-in swap per frame (640×480, one face, tracking on) ≤ 25 ms on one core",
                $"p50 {Ms(whole.Percentile(50))}, p99 {Ms(whole.Percentile(99))}", whole.Percentile(50) <= 25));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stages: done in {wall.Elapsed.TotalSeconds:F1} s"));
            return 0;
        }
        finally
        {
            foreach (var frame in frames) frame.Dispose();
            average.Dispose();
            File.Delete(clip);
            Cv2.SetNumThreads(openCvThreads);
        }
    }

    /// <summary>The clip as a stream gets it: H.264 in an MP4, decoded by ffmpeg, each frame read off its pipe (what FrameSources.VideoFile does).</summary>
    private static List<Mat> Capture(string clip, int count, Stage capture)
    {
        Console.WriteLine($"  writing the demo clip ({count} frames) to {clip}");
        DemoVideo.Write(clip, count / (double)FramesPerSecond, FramesPerSecond);
        var frames = new List<Mat>(count);
        using var reader = new VideoFileReader(clip, MediaInfo.Probe(clip));
        while (true)
        {
            if (frames.Count == WarmUpFrames) capture.Clear();
            var mark = Mark.Now();
            var frame = new Mat();
            if (!reader.Read(frame))
            {
                frame.Dispose();
                break;
            }
            capture.Add(mark);
            frames.Add(frame);
        }
        if (frames.Count != count) throw new InvalidOperationException($"the clip gave {frames.Count} frames back, not the {count} written");
        Console.WriteLine($"  capture done: {frames.Count} frames read");
        return frames;
    }

    /// <summary>Each frame through the edge's and the worker's stages in the order a tracked stream runs them.</summary>
    private static Stage[] Staged(FaceAnalyzer analyzer, SourceFace average, List<Mat> frames)
    {
        var edge = new EdgeStreamOptions { StreamId = "stages", Swap = new StreamSettings(FaceSwap.Governance.Consent.IdentityIds.Average) };
        var engine = new StreamEngineOptions();
        var (detectEncode, detectDecode, detect, regionEncode, regionDecode, landmarks, swap, patchEncode, composite) = (
            new Stage($"detect frame: JPEG q{edge.JpegQuality} (640 px: no resize)", "edge"),
            new Stage("detect frame: JPEG decode", "worker"),
            new Stage("BlazeFace detection (every frame here)", "worker"),
            new Stage($"face regions: JPEG q{edge.JpegQuality}", "edge"),
            new Stage("face regions: JPEG decode, paste into the canvas", "worker"),
            new Stage("FaceMesh landmarks, per face", "worker"),
            new Stage("mesh swap (warp, colour, blend), per face", "worker"),
            new Stage($"patches: diff, JPEG q{SwapStage.PatchQuality} + mask PNG", "worker"),
            new Stage("patches: decode, composite into the frame", "edge"));
        Stage[] stages = [detectEncode, detectDecode, detect, regionEncode, regionDecode, landmarks, swap, patchEncode, composite];

        var swapper = new MeshSwapper(engine.Swap);
        var faces = new List<FaceDetection>();
        var mesh = new FaceLandmarks();
        var pasted = new List<Rect>();
        using var canvas = new Mat(frames[0].Rows, frames[0].Cols, MatType.CV_8UC3, Scalar.All(0));
        FaceBox[] tracks = [];
        Console.WriteLine("  staged path: edge and worker stages one after another");
        for (var i = 0; i < frames.Count; i++)
        {
            if (i == WarmUpFrames) foreach (var stage in stages) stage.Clear();
            Progress("staged path", i, frames.Count);
            using var frame = frames[i].Clone(); // the frame the edge keeps, composited into at the end

            // Edge → worker: the detect frame (FramePipeline.Downscaled: the clip is already at DetectMaxSide), then DetectStage.
            var mark = Mark.Now();
            var detectJpeg = WireImages.Jpeg(frame, edge.JpegQuality);
            detectEncode.Add(mark);
            FaceBox[] found;
            mark = Mark.Now();
            using (var received = WireImages.Decode(detectJpeg, 3, "detect frame"))
            {
                detectDecode.Add(mark);
                mark = Mark.Now();
                analyzer.Detector.Detect(BgrImage.Of(received), faces);
                found = [.. faces.Select(f => WireFaces.ToWire(f))];
                detect.Add(mark);
            }

            // Edge: the regions around last frame's tracks, plus the detections when the stream would have run the detector.
            var detections = tracks.Length == 0 || i % engine.DetectEvery == 0 ? found : null;
            var regions = FaceRegions.Of(tracks, detections, frame.Width, frame.Height);
            if (regions.Count == 0)
            {
                tracks = [];
                continue;
            }
            mark = Mark.Now();
            var crops = regions.Select(r =>
            {
                using var region = frame[r];
                return new ImageCrop(r.X, r.Y, WireImages.Jpeg(region, edge.JpegQuality));
            }).ToArray();
            regionEncode.Add(mark);

            // Worker (SwapStage): regions decoded onto a frame-sized canvas cleared of the last frame's, so the models work in frame pixels.
            var originals = new List<(Rect Rect, Mat Pixels)>();
            try
            {
                mark = Mark.Now();
                foreach (var rect in pasted)
                {
                    using var old = canvas[rect];
                    old.SetTo(Scalar.All(0));
                }
                pasted.Clear();
                foreach (var crop in crops)
                {
                    var pixels = WireImages.Decode(crop.Image, 3, "face region");
                    var rect = new Rect(crop.X, crop.Y, pixels.Width, pixels.Height);
                    originals.Add((rect, pixels));
                    using var place = canvas[rect];
                    pixels.CopyTo(place);
                    pasted.Add(rect);
                }
                regionDecode.Add(mark);

                // Landmarks and swap per face, as the engine runs them (FaceMesh on this frame's detection: the same model cost as a re-fit).
                var image = BgrImage.Of(canvas);
                var next = new List<FaceBox>();
                foreach (var face in faces)
                {
                    mark = Mark.Now();
                    analyzer.Landmarker.Process(image, face, mesh);
                    landmarks.Add(mark);
                    if (mesh.Presence < engine.MinPresence) continue;
                    mark = Mark.Now();
                    swapper.Swap(canvas, average, mesh.Mesh);
                    swap.Add(mark);
                    next.Add(WireFaces.Box(StreamSwapEngine.MeshBox(mesh), mesh.Presence));
                }
                tracks = [.. next];

                // Worker → edge: what changed in each region, as SwapStage.Patches cuts and encodes it.
                mark = Mark.Now();
                var patches = new List<FacePatch>();
                foreach (var (rect, before) in originals)
                {
                    using var after = canvas[rect];
                    using var changed = new Mat();
                    var box = SwapStage.ChangedBox(before, after, changed);
                    if (box.Width == 0 || box.Height == 0) continue;
                    using var patch = after[box];
                    using var mask = changed[box];
                    patches.Add(new FacePatch(rect.X + box.X, rect.Y + box.Y, WireImages.Jpeg(patch, SwapStage.PatchQuality), WireImages.Png(mask), []));
                }
                patchEncode.Add(mark);

                // Edge: each patch decoded and pasted through its mask into the frame it kept (FramePipeline's composite).
                mark = Mark.Now();
                foreach (var patch in patches)
                {
                    using var pixels = WireImages.Decode(patch.Patch, 3, "patch");
                    using var mask = WireImages.Decode(patch.Mask, 1, "mask");
                    using var target = frame[new Rect(patch.X, patch.Y, pixels.Width, pixels.Height)];
                    pixels.CopyTo(target, mask);
                }
                composite.Add(mark);
            }
            finally
            {
                foreach (var (_, pixels) in originals) pixels.Dispose();
            }
        }
        return stages;
    }

    /// <summary>The whole frame in process, as a stream's engine runs it: detector every 5th frame, FaceMesh re-fit in between, smoothing, swap.</summary>
    private static Stage Reference(FaceAnalyzer analyzer, SourceFace average, List<Mat> frames)
    {
        var whole = new Stage("whole frame: StreamSwapEngine.Process (detect every 5th)", "in process");
        var engine = new StreamSwapEngine(analyzer, average, new StreamEngineOptions());
        Console.WriteLine("  reference: StreamSwapEngine.Process on the same frames");
        for (var i = 0; i < frames.Count; i++)
        {
            if (i == WarmUpFrames) whole.Clear();
            Progress("reference", i, frames.Count);
            using var frame = frames[i].Clone(); // the swap writes into it; copying is not the engine's cost
            var mark = Mark.Now();
            engine.Process(frame);
            whole.Add(mark);
        }
        return whole;
    }

    private static void Progress(string pass, int index, int total)
    {
        var step = Math.Max(10, total / 5 / 10 * 10); // about five lines a pass, at round numbers
        if (index > 0 && index % step == 0) Console.WriteLine($"    {pass}: {index}/{total} frames");
    }

    private static string Ms(double ms) => double.IsNaN(ms) ? "–" : (ms < 0.1 ? ms.ToString("F3", CultureInfo.InvariantCulture) : ms.ToString("F2", CultureInfo.InvariantCulture)) + " ms";

    /// <summary>One stage's samples: CPU milliseconds and managed bytes allocated, one per frame (per face for the per-face stages).</summary>
    private sealed class Stage(string name, string where)
    {
        private readonly List<double> _cpuMs = [];
        private long _allocated;

        public string Name => name;
        public string Where => where;
        public int Samples => _cpuMs.Count;
        public double MeanKiB => Samples == 0 ? 0 : _allocated / 1024.0 / Samples;

        public void Add(Mark started)
        {
            var now = Mark.Now();
            _cpuMs.Add((now.CpuNs - started.CpuNs) / 1e6);
            _allocated += now.Allocated - started.Allocated;
        }

        /// <summary>Drops the warm-up's samples.</summary>
        public void Clear()
        {
            _cpuMs.Clear();
            _allocated = 0;
        }

        /// <summary>Nearest rank: with few samples p99 is the slowest one.</summary>
        public double Percentile(double percentile)
        {
            if (Samples == 0) return double.NaN;
            var sorted = _cpuMs.Order().ToList();
            return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
        }
    }

    private readonly record struct Mark(long CpuNs, long Allocated)
    {
        public static Mark Now() => new(ThreadCpu.Nanoseconds(), GC.GetAllocatedBytesForCurrentThread());
    }

    /// <summary>This thread's CPU time (Linux): a wait on ffmpeg's pipe or another process taking the core does not count. Elsewhere, Stopwatch.</summary>
    private static partial class ThreadCpu
    {
        private const int ThreadCpuClock = 3; // CLOCK_THREAD_CPUTIME_ID

        public static readonly bool Available = OperatingSystem.IsLinux();

        public static long Nanoseconds()
        {
            if (!Available) return (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));
            if (ClockGetTime(ThreadCpuClock, out var time) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
            return time.Seconds * 1_000_000_000 + time.Nanoseconds;
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct Timespec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        [LibraryImport("libc", EntryPoint = "clock_gettime")]
        private static partial int ClockGetTime(int clock, out Timespec time);
    }
}
