using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using FaceSwap.Cluster.Stages;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;
using FaceSwap.Inference.Batching;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Cluster.Simulation;

/// <summary>
/// The swap entity of one stream on a simulated worker: the source identity's embedding once per stream (and again
/// when the stream's settings change), then per region the swapper's modelled batch (and the enhancer's, when the
/// stream asks for it), answering with synthetic patches, masks and tracks as the real swap entity answers. The edge
/// re-detects every <see cref="StreamSettings.DetectEvery"/> frames, as with the real tracker.
/// </summary>
public sealed class SimulatedSwapStage : StageEntity
{
    /// <summary>Region side per face side the edge sends around a track (its <c>FaceRegions.TrackScale</c>).</summary>
    public const float RegionPerFace = 2.0f;

    private readonly SimulatedWorker _worker;
    private readonly Dictionary<(int, int), EncodedImage> _masks = [];
    private StreamSettings? _settings;
    private int _sinceDetect;

    public static Props Props(SimulatedWorker worker) => Akka.Actor.Props.Create(() => new SimulatedSwapStage(worker)).WithDispatcher(WorkerModels.Dispatcher);

    public SimulatedSwapStage(SimulatedWorker worker) : base(Regions.Swap)
    {
        _worker = worker;
        Receive<SwapFrame>(Swap);
    }

    private void Swap(SwapFrame request)
    {
        using var span = StartSpan(request.TraceParent, request.StreamId, request.Seq);
        if (BudgetSpent(request.StreamId, request.Seq, request.BudgetMs, request.ReceivedAt, span)) return;
        var started = Stopwatch.GetTimestamp();
        try
        {
            var deadline = StageBudget.Deadline(request.BudgetMs, request.ReceivedAt);
            var profile = _worker.Profile;
            if (request.Settings.Enhancer is { } asked && asked != SimulatedProfile.EnhancerName)
                throw new NotSupportedException($"enhancer '{asked}': the simulated worker models {SimulatedProfile.EnhancerName} only");
            if (request.Settings != _settings)
            {
                if (profile.Embedder is { } embedder) _worker.Run(embedder, request.StreamId, deadline);
                _settings = request.Settings;
            }
            var patches = new List<FacePatch>();
            var tracks = new List<FaceBox>();
            foreach (var crop in request.Crops ?? [])
            {
                using var region = WireImages.Decode(crop.Image, 3, $"stream {request.StreamId} frame {request.Seq} region at {crop.X},{crop.Y}");
                _worker.Run(profile.Swapper, request.StreamId, deadline);
                if (request.Settings.Enhancer is not null && profile.Enhancer is { } enhancer) _worker.Run(enhancer, request.StreamId, deadline);
                var face = SyntheticFaces.FaceIn(region.Width, region.Height, RegionPerFace);
                if (!_masks.TryGetValue((face.Width, face.Height), out var mask))
                    _masks[(face.Width, face.Height)] = mask = SyntheticFaces.Mask(face.Width, face.Height);
                patches.Add(SyntheticFaces.Patch(region, face, crop.X, crop.Y, mask, SwapStage.PatchQuality));
                tracks.Add(new FaceBox(crop.X + face.X, crop.Y + face.Y, face.Width, face.Height, 0.9f, []));
            }
            _sinceDetect = request.Detections is null ? _sinceDetect + 1 : 0;
            var detectNext = tracks.Count == 0 || _sinceDetect + 1 >= Math.Max(1, request.Settings.DetectEvery);
            Sender.Tell(new FrameSwapped(request.StreamId, request.Seq, [.. patches], [.. tracks], detectNext, false, StageBudget.ElapsedMs(started), _worker.Name,
                Provider: _worker.Provider));
        }
        catch (BudgetExpiredException e)
        {
            Expired(request.StreamId, request.Seq, e, span);
        }
        catch (Exception e)
        {
            Log.Error(e, "simulated swap: stream {0} frame {1} ({2} region(s)) failed", request.StreamId, request.Seq, request.Crops?.Length ?? 0);
            Fail(request.StreamId, request.Seq, e, span);
        }
    }
}
