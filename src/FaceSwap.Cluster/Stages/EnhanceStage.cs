using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;
using FaceSwap.Swap.Enhancement;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Cluster.Stages;

/// <summary>
/// The enhance entity of one stream: restores the swapped patches the swap entity forwards (the edge is the sender,
/// so the answer goes straight back and the frame still makes one round trip).
/// </summary>
public sealed class EnhanceStage : StageEntity
{
    private readonly WorkerModels _models;
    private (string Name, float Blend) _key;
    private FaceEnhancer? _enhancer;
    private FaceSwap.Inference.Runtime.ModelSession? _model;

    public static Props Props(WorkerModels models) => Akka.Actor.Props.Create(() => new EnhanceStage(models)).WithDispatcher(WorkerModels.Dispatcher);

    public EnhanceStage(WorkerModels models) : base(Regions.Enhance)
    {
        _models = models;
        Receive<EnhanceFrame>(Enhance);
    }

    private void Enhance(EnhanceFrame request)
    {
        var swapped = request.Swapped;
        using var span = StartSpan(request.TraceParent, request.StreamId, swapped.Seq);
        if (BudgetSpent(request.StreamId, swapped.Seq, request.BudgetMs, request.ReceivedAt, span)) return;
        var started = Stopwatch.GetTimestamp();
        try
        {
            var enhancer = Enhancer(request.Settings);
            var patches = new FacePatch[swapped.Patches.Length];
            Span<Point2f> five = stackalloc Point2f[5];
            for (var i = 0; i < patches.Length; i++)
            {
                var patch = swapped.Patches[i];
                using var pixels = WireImages.Decode(patch.Patch, 3, $"stream {request.StreamId} frame {swapped.Seq} patch {i}");
                for (var face = 0; face + 10 <= patch.FivePoints.Length; face += 10)
                {
                    for (var p = 0; p < 5; p++) five[p] = new Point2f(patch.FivePoints[face + 2 * p], patch.FivePoints[face + 2 * p + 1]);
                    var points = five.ToArray();
                    _models.Enhance(() => enhancer.Enhance(pixels, points));
                }
                patches[i] = patch with { Patch = WireImages.Jpeg(pixels, SwapStage.PatchQuality) };
            }
            Sender.Tell(swapped with { Patches = patches, EnhanceMs = StageBudget.ElapsedMs(started), EnhanceProvider = _model?.Provider.ToString() });
        }
        catch (Exception e)
        {
            Log.Error(e, "enhance: stream {0} frame {1} with {2} failed", request.StreamId, swapped.Seq, request.Settings.Enhancer);
            Fail(request.StreamId, swapped.Seq, e, span);
        }
    }

    private FaceEnhancer Enhancer(StreamSettings settings)
    {
        var key = (settings.Enhancer!, settings.EnhanceBlend);
        var model = _models.EnhancerModel(settings.Enhancer!); // a reload is a new session
        if (_enhancer is not null && key == _key && model == _model) return _enhancer;
        _enhancer = new FaceEnhancer(model, new EnhancerOptions { Blend = settings.EnhanceBlend }.Validate());
        _key = key;
        _model = model;
        return _enhancer;
    }
}
