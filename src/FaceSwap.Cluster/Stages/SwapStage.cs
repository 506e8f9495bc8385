using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;
using FaceSwap.Contracts.Tracing;
using FaceSwap.Faces.Alignment;
using FaceSwap.Faces.Detection;
using FaceSwap.Faces.Landmarks;
using FaceSwap.Inference.Batching;
using FaceSwap.Swap;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Cluster.Stages;

/// <summary>
/// The swap entity of one stream, holding the per-stream engine: tracker, smoothed landmarks, the source face
/// prepared once. It gets the full-resolution regions around the faces, pastes them into a frame-sized canvas at
/// their places (so the engine works in frame pixels, as in-process), swaps, and answers with what changed:
/// patch, mask and placement per region. FaceMesh tracking needs the same regions as the swap, so both happen
/// here and a tracked frame makes one round trip.
/// </summary>
public sealed class SwapStage : StageEntity
{
    /// <summary>Patches go back at this JPEG quality: the edge composites them into the frame it kept.</summary>
    public const int PatchQuality = 92;

    private readonly WorkerModels _models;
    private readonly IActorRef? _enhance;
    private readonly List<Rect> _pasted = [];
    private StreamSettings? _settings;
    private SourceLease? _source;
    private StreamSwapEngine? _engine;
    private FaceSwap.Faces.FaceAnalyzer? _analyzer;
    private BatchedLandmarker.StreamFitter? _landmarks;
    private Mat? _canvas;

    /// <param name="enhance">the enhance region, for streams that ask for an enhancer (the answer is forwarded through it)</param>
    public static Props Props(WorkerModels models, IActorRef? enhance) =>
        Akka.Actor.Props.Create(() => new SwapStage(models, enhance)).WithDispatcher(WorkerModels.Dispatcher);

    public SwapStage(WorkerModels models, IActorRef? enhance) : base(Regions.Swap)
    {
        _models = models;
        _enhance = enhance;
        Receive<SwapFrame>(Swap);
    }

    private void Swap(SwapFrame request)
    {
        using var span = StartSpan(request.TraceParent, request.StreamId, request.Seq);
        if (BudgetSpent(request.StreamId, request.Seq, request.BudgetMs, request.ReceivedAt, span)) return;
        var started = Stopwatch.GetTimestamp();
        var originals = new List<(Rect Rect, Mat Pixels)>();
        try
        {
            var engine = Engine(request.Settings);
            if (_source!.Consent.IsCancellationRequested)
                throw new InvalidOperationException($"consent for identity '{request.Settings.IdentityId}' ended: nothing is swapped in");
            var canvas = Canvas(request.FrameWidth, request.FrameHeight);
            foreach (var crop in request.Crops ?? [])
            {
                var pixels = WireImages.Decode(crop.Image, 3, $"stream {request.StreamId} frame {request.Seq} region at {crop.X},{crop.Y}");
                var rect = new Rect(crop.X, crop.Y, pixels.Width, pixels.Height);
                originals.Add((rect, pixels));
                if (rect.X < 0 || rect.Y < 0 || rect.Right > canvas.Width || rect.Bottom > canvas.Height)
                    throw new ArgumentException($"region {rect} lies outside the {canvas.Width}x{canvas.Height} frame");
                using var place = canvas[rect];
                pixels.CopyTo(place);
                _pasted.Add(rect);
            }
            var detections = request.Detections?.Select(WireFaces.FromWire).ToList();
            _landmarks!.Deadline = StageBudget.Deadline(request.BudgetMs, request.ReceivedAt);
            var result = engine.Process(canvas, detections);
            var patches = Patches(canvas, originals, engine);
            var tracks = engine.Tracks.Select(t => WireFaces.Box(StreamSwapEngine.MeshBox(t.Landmarks), t.Landmarks.Presence)).ToArray();
            var swapped = new FrameSwapped(request.StreamId, request.Seq, patches, tracks, engine.DetectDue, result.Lost, StageBudget.ElapsedMs(started), _models.Name, Provider: _models.Provider);
            if (request.Settings.Enhancer is not null && patches.Length > 0 && _enhance is not null)
                _enhance.Forward(new EnhanceFrame(request.StreamId, StageBudget.Remaining(request.BudgetMs, request.ReceivedAt), request.Settings, swapped,
                    FrameTracing.TraceParent(span)));
            else
                Sender.Tell(swapped);
        }
        catch (BudgetExpiredException e)
        {
            Expired(request.StreamId, request.Seq, e, span);
        }
        catch (FaceSwap.Governance.Consent.ConsentException e)
        {
            // Expected, not a fault: the identity may not be used for streams (any more).
            Log.Warning("swap: stream {0} frame {1} refused: {2}", request.StreamId, request.Seq, e.Message);
            Fail(request.StreamId, request.Seq, e, span);
        }
        catch (Exception e)
        {
            Log.Error(e, "swap: stream {0} frame {1} ({2} region(s)) failed", request.StreamId, request.Seq, request.Crops?.Length ?? 0);
            Fail(request.StreamId, request.Seq, e, span);
        }
        finally
        {
            foreach (var (_, pixels) in originals) pixels.Dispose();
        }
    }

    /// <summary>The stream's engine; rebuilt when its settings change (a new identity, another detection interval) or the models were reloaded.</summary>
    private StreamSwapEngine Engine(StreamSettings settings)
    {
        var analyzer = _models.Analyzer;
        if (_engine is not null && settings == _settings && analyzer == _analyzer) return _engine;
        if (settings.Swapper is not null and not "mesh")
            throw new NotSupportedException($"swapper '{settings.Swapper}': workers host the built-in mesh swap; bring-your-own swappers are placed by the coordinator");
        var selection = Enum.Parse<SelectionMode>(settings.Selection, ignoreCase: true);
        if (selection is not (SelectionMode.All or SelectionMode.Largest or SelectionMode.Leftmost))
            throw new NotSupportedException($"selection '{settings.Selection}' needs reference embeddings, which streams do not carry yet");
        var options = new StreamEngineOptions
        {
            DetectEvery = settings.DetectEvery,
            FramesPerSecond = settings.FramesPerSecond > 0 ? settings.FramesPerSecond : 30,
            Selection = new FaceSelection(selection),
            Swap = new SwapOptions
            {
                Blend = Enum.Parse<BlendMode>(settings.Blend, ignoreCase: true),
                // A sender from before the colour control sends none: the shipped default.
                Color = settings.Color is null ? new SwapOptions().Color : Enum.Parse<ColorTransfer>(settings.Color, ignoreCase: true),
            },
        };
        var source = settings.IdentityId == _settings?.IdentityId && _source is not null ? _source : _models.Sources.Open(settings.IdentityId);
        if (source != _source) _source?.Dispose();
        _source = source;
        _settings = settings;
        if (analyzer != _analyzer) _landmarks = null;
        _analyzer = analyzer;
        _landmarks ??= _models.Landmarks.For(Self.Path.Name);
        _engine = new StreamSwapEngine(_models.Analyzer, source.Face, options, source.Consent, landmarks: _landmarks);
        Log.Info("swap: stream {0} engine for identity {1}, detect every {2}, select {3}, blend {4}", Self.Path.Name, settings.IdentityId, options.DetectEvery, settings.Selection, settings.Blend);
        return _engine;
    }

    /// <summary>A frame-sized canvas; what the last frame pasted is cleared, so no stale pixels reach the landmarker.</summary>
    private Mat Canvas(int width, int height)
    {
        if (width is < 1 or > 16384 || height is < 1 or > 16384) throw new ArgumentException($"frame size {width}x{height} is out of range");
        if (_canvas is null || _canvas.Width != width || _canvas.Height != height)
        {
            _canvas?.Dispose();
            _canvas = new Mat(height, width, MatType.CV_8UC3, Scalar.All(0));
        }
        else
            foreach (var rect in _pasted)
            {
                using var old = _canvas[rect];
                old.SetTo(Scalar.All(0));
            }
        _pasted.Clear();
        return _canvas;
    }

    /// <summary>
    /// Where <paramref name="after"/> differs from <paramref name="before"/> at all: <paramref name="changed"/> gets the
    /// mask (255 where changed), and the result is the box around it grown 2 px within the region (empty: nothing changed).
    /// </summary>
    public static Rect ChangedBox(Mat before, Mat after, Mat changed)
    {
        using var difference = new Mat();
        Cv2.Absdiff(after, before, difference);
        Cv2.CvtColor(difference, changed, ColorConversionCodes.BGR2GRAY);
        Cv2.Threshold(changed, changed, 0, 255, ThresholdTypes.Binary);
        var box = Cv2.BoundingRect(changed);
        if (box.Width == 0 || box.Height == 0) return default;
        return Rect.Intersect(new Rect(box.X - 2, box.Y - 2, box.Width + 4, box.Height + 4), new Rect(0, 0, after.Width, after.Height));
    }

    /// <summary>Per region, the pixels the swap changed (bounding box of the change, a little grown), with their exact mask.</summary>
    private static FacePatch[] Patches(Mat canvas, List<(Rect Rect, Mat Pixels)> originals, StreamSwapEngine engine)
    {
        var patches = new List<FacePatch>();
        Span<Point2f> five = stackalloc Point2f[5];
        foreach (var (rect, before) in originals)
        {
            using var after = canvas[rect];
            using var changed = new Mat();
            var box = ChangedBox(before, after, changed);
            if (box.Width == 0 || box.Height == 0) continue;
            using var patch = after[box];
            using var mask = changed[box];
            var points = new List<float>();
            foreach (var track in engine.SwappedTracks)
            {
                Aligner.FivePoints(track.Landmarks.Mesh, five);
                var centre = new Point2f((five[0].X + five[1].X) / 2, (five[0].Y + five[1].Y) / 2);
                if (!new Rect2f(rect.X + box.X, rect.Y + box.Y, box.Width, box.Height).Contains(centre)) continue;
                foreach (var p in five) points.AddRange([p.X - rect.X - box.X, p.Y - rect.Y - box.Y]);
            }
            patches.Add(new FacePatch(rect.X + box.X, rect.Y + box.Y, WireImages.Jpeg(patch, PatchQuality), WireImages.Png(mask), [.. points]));
        }
        return [.. patches];
    }

    protected override void PostStop()
    {
        _source?.Dispose();
        _canvas?.Dispose();
    }
}
