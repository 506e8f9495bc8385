using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;
using FaceSwap.Contracts.Tracing;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Edge;

/// <summary>
/// One frame's trip through the stage regions, as the edge sees it: the detector only when the stream must
/// (re-)detect, otherwise straight to the swap entity with the regions around the faces it tracks; the patches
/// that come back are composited into the full-resolution frame the edge kept. Each hop gets what is left of the
/// frame's budget as its ask timeout, and what it costs is recorded. A traced frame's span (<see cref="FrameTracing"/>)
/// goes to the stages in their messages; a drop or failure marks it failed with the reason.
/// </summary>
/// <param name="node">this edge's address, as the frame's span names it</param>
public sealed class FramePipeline(EdgeStreamOptions options, IActorRef detect, IActorRef swap, StreamLedger ledger, ILoggingAdapter log, string node)
{
    private readonly Lock _lock = new();
    private FaceBox[] _tracks = [];
    private bool _detectNext = true;
    private long _stateSeq = -1;
    private List<Rect> _faces = [];

    /// <summary>Where the stream's faces were last seen (regions around them), for the fail mode's blur.</summary>
    public IReadOnlyList<Rect> KnownFaces
    {
        get { lock (_lock) return _faces; }
    }

    /// <summary>Never faults: an error on one frame (a corrupt patch, say) is logged and the frame goes to the fail mode; the stream goes on.</summary>
    public async Task<FrameOutcome> Process(StreamFrame frame)
    {
        using var trace = FrameTracing.StartFrame(options.StreamId, frame.Seq, node);
        try
        {
            return await Run(frame, trace);
        }
        catch (Exception e)
        {
            FrameTracing.Failed(trace, $"{e.GetType().Name}: {e.Message}");
            log.Error(e, "stream {0} frame {1}: {2}", options.StreamId, frame.Seq, e.Message);
            return new FrameOutcome(frame, OutcomeKind.Failed, KnownFaces);
        }
    }

    private async Task<FrameOutcome> Run(StreamFrame frame, Activity? trace)
    {
        ledger.Record(EdgeStages.Buffer, frame.AgeMs);
        if (frame.Settled) return new FrameOutcome(frame, OutcomeKind.Superseded, KnownFaces);
        if (frame.RemainingMs <= 0) return Drop(frame, trace, "edge-buffer", DropReasons.Budget);
        FaceBox[] tracks;
        bool detectNext;
        lock (_lock) (tracks, detectNext) = (_tracks, _detectNext);
        var (width, height) = (frame.Image.Width, frame.Image.Height);

        FaceBox[]? detections = null;
        if (detectNext || tracks.Length == 0)
        {
            var started = Stopwatch.GetTimestamp();
            var (image, scale) = Downscaled(frame.Image);
            ledger.Record(EdgeStages.Encode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            var answer = await Ask(Regions.Detect, detect, frame, trace,
                new DetectFrame(options.StreamId, frame.Seq, frame.RemainingMs, image, scale, FrameTracing.TraceParent(trace)));
            if (answer is not FacesDetected found) return Outcome(frame, trace, answer);
            ledger.Record(EdgeStages.WorkerDetect, found.WorkerMs);
            ledger.RanOn(Regions.Detect, found.Worker, found.Provider);
            detections = found.Faces;
        }

        var regions = FaceRegions.Of(tracks, detections, width, height);
        if (regions.Count == 0)
        {
            Update(frame.Seq, [], detectNext: true, []);
            return new FrameOutcome(frame, OutcomeKind.Served, []);
        }
        var encoding = Stopwatch.GetTimestamp();
        var crops = regions.Select(r =>
        {
            using var region = frame.Image[r];
            return new ImageCrop(r.X, r.Y, WireImages.Jpeg(region, options.JpegQuality));
        }).ToArray();
        ledger.Record(EdgeStages.Encode, Stopwatch.GetElapsedTime(encoding).TotalMilliseconds);
        var reply = await Ask(Regions.Swap, swap, frame, trace,
            new SwapFrame(options.StreamId, frame.Seq, frame.RemainingMs, options.CurrentSwap, width, height, crops, detections, FrameTracing.TraceParent(trace)));
        if (reply is not FrameSwapped swapped) return Outcome(frame, trace, reply);
        ledger.Record(EdgeStages.WorkerSwap, swapped.WorkerMs);
        ledger.AnsweredBy(swapped.Worker);
        ledger.RanOn(Regions.Swap, swapped.Worker, swapped.Provider);
        if (swapped.EnhanceMs > 0)
        {
            ledger.Record(EdgeStages.WorkerEnhance, swapped.EnhanceMs);
            ledger.RanOn(Regions.Enhance, swapped.Worker, swapped.EnhanceProvider);
        }

        using var composite = FrameTracing.StartChild(FrameTracing.Composite, trace);
        var compositing = Stopwatch.GetTimestamp();
        var before = KnownFaces;
        var faces = FaceRegions.Of(swapped.Tracks, null, width, height);
        Update(swapped.Seq, swapped.Tracks, swapped.DetectNext, faces);
        var patches = Decode(frame, swapped.Patches);
        try
        {
            var current = frame.TryChange(image =>
            {
                foreach (var (place, pixels, mask) in patches)
                {
                    using var target = image[place];
                    pixels.CopyTo(target, mask);
                }
                // A track lost this frame left its face unswapped: in blur mode the viewer sees it blurred, not real.
                if (swapped.Lost && options.CurrentFailMode == FailMode.Blur && patches.Count == 0 && before.Count > 0)
                    FailModes.Blur(image, before);
            });
            if (!current) return new FrameOutcome(frame, OutcomeKind.Superseded, faces);
        }
        finally
        {
            foreach (var (_, pixels, mask) in patches)
            {
                pixels.Dispose();
                mask.Dispose();
            }
        }
        ledger.Record(EdgeStages.Composite, Stopwatch.GetElapsedTime(compositing).TotalMilliseconds);
        return new FrameOutcome(frame, OutcomeKind.Served, faces);
    }

    /// <summary>The newest answer sets where the next frame's regions go, whatever order answers arrive in.</summary>
    private void Update(long seq, FaceBox[] tracks, bool detectNext, List<Rect> faces)
    {
        lock (_lock)
        {
            if (seq < _stateSeq) return;
            (_stateSeq, _tracks, _detectNext) = (seq, tracks, detectNext);
            if (faces.Count > 0 || tracks.Length == 0 && !detectNext) _faces = faces;
        }
    }

    private (EncodedImage Image, float Scale) Downscaled(Mat image)
    {
        var longer = Math.Max(image.Width, image.Height);
        if (longer <= options.DetectMaxSide) return (WireImages.Jpeg(image, options.JpegQuality), 1);
        var scale = (float)longer / options.DetectMaxSide;
        using var small = new Mat();
        Cv2.Resize(image, small, new Size(Math.Max(1, (int)Math.Round(image.Width / scale)), Math.Max(1, (int)Math.Round(image.Height / scale))), interpolation: InterpolationFlags.Area);
        return (WireImages.Jpeg(small, options.JpegQuality), (float)image.Width / small.Width);
    }

    /// <summary>Asks a stage region with what is left of the budget as the timeout; null when the frame was dropped (and counted) instead.</summary>
    private async Task<object?> Ask(string stage, IActorRef region, StreamFrame frame, Activity? trace, IStreamMessage message)
    {
        var size = FaceSwapSerializer.Serialize(message).Length;
        if (size > options.MaxPayloadBytes)
        {
            ledger.Oversize();
            log.Warning("stream {0} frame {1}: {2} request of {3} bytes exceeds the {4}-byte limit; dropped", options.StreamId, frame.Seq, stage, size, options.MaxPayloadBytes);
            Dropped(frame, trace, stage, DropReasons.Oversize);
            return null;
        }
        var remaining = frame.RemainingMs;
        if (remaining <= 0)
        {
            Dropped(frame, trace, stage, DropReasons.Budget);
            return null;
        }
        var started = Stopwatch.GetTimestamp();
        ledger.AskStarted();
        try
        {
            var answer = await region.Ask<object>(message, TimeSpan.FromMilliseconds(remaining));
            ledger.StageAnswered();
            ledger.Wire(stage, size, answer is IFaceSwapMessage reply ? FaceSwapSerializer.Serialize(reply).Length : 0);
            return answer;
        }
        catch (AskTimeoutException)
        {
            Dropped(frame, trace, stage, DropReasons.Timeout);
            return null;
        }
        finally
        {
            ledger.AskEnded();
            ledger.Record(stage, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private FrameOutcome Outcome(StreamFrame frame, Activity? trace, object? answer)
    {
        switch (answer)
        {
            case null:
                return new FrameOutcome(frame, OutcomeKind.Dropped, KnownFaces);
            case StageDropped dropped:
                return Drop(frame, trace, dropped.Stage, dropped.Reason);
            case StageFailed failed:
                log.Warning("stream {0} frame {1}: {2} stage failed: {3}", options.StreamId, frame.Seq, failed.Stage, failed.Error);
                FrameTracing.Failed(trace, $"{failed.Stage} failed: {failed.Error}");
                return new FrameOutcome(frame, OutcomeKind.Failed, KnownFaces);
            default:
                log.Error("stream {0} frame {1}: unexpected answer {2}", options.StreamId, frame.Seq, answer.GetType().Name);
                FrameTracing.Failed(trace, $"unexpected answer {answer.GetType().Name}");
                return new FrameOutcome(frame, OutcomeKind.Failed, KnownFaces);
        }
    }

    private FrameOutcome Drop(StreamFrame frame, Activity? trace, string hop, string reason)
    {
        Dropped(frame, trace, hop, reason);
        return new FrameOutcome(frame, OutcomeKind.Dropped, KnownFaces);
    }

    /// <summary>Drops the frame in the books, and its span as failed with the same hop/reason label.</summary>
    private void Dropped(StreamFrame frame, Activity? trace, string hop, string reason)
    {
        ledger.Drop(frame, hop, reason);
        FrameTracing.Failed(trace, $"dropped: {hop}/{reason}");
    }

    /// <summary>Every patch decoded and checked before any pixel changes: a patch that does not fit the frame fails the frame, it is not clipped.</summary>
    private List<(Rect Place, Mat Pixels, Mat Mask)> Decode(StreamFrame frame, FacePatch[] patches)
    {
        var bounds = new Rect(0, 0, frame.Image.Width, frame.Image.Height);
        var decoded = new List<(Rect, Mat, Mat)>();
        try
        {
            foreach (var patch in patches)
            {
                var pixels = WireImages.Decode(patch.Patch, 3, $"stream {options.StreamId} frame {frame.Seq} patch");
                Mat mask;
                try
                {
                    mask = WireImages.Decode(patch.Mask, 1, $"stream {options.StreamId} frame {frame.Seq} mask");
                }
                catch
                {
                    pixels.Dispose();
                    throw;
                }
                var place = new Rect(patch.X, patch.Y, pixels.Width, pixels.Height);
                decoded.Add((place, pixels, mask));
                if ((place & bounds) != place || mask.Size() != pixels.Size())
                    throw new InvalidOperationException($"stream {options.StreamId} frame {frame.Seq}: patch {place} with a {mask.Width}x{mask.Height} mask does not fit the {bounds.Width}x{bounds.Height} frame");
            }
            return decoded;
        }
        catch
        {
            foreach (var (_, pixels, mask) in decoded)
            {
                pixels.Dispose();
                mask.Dispose();
            }
            throw;
        }
    }
}
