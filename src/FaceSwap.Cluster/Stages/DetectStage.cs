using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;
using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Batching;
using FaceSwap.Vision;

namespace FaceSwap.Cluster.Stages;

/// <summary>
/// The detect entity of one stream: runs the detector on the downscaled frame the edge sends when the stream must
/// (re-)detect, and answers with the faces in full-frame pixels.
/// </summary>
public sealed class DetectStage : StageEntity
{
    private readonly WorkerModels _models;
    private readonly List<FaceDetection> _faces = [];

    public static Props Props(WorkerModels models) => Akka.Actor.Props.Create(() => new DetectStage(models)).WithDispatcher(WorkerModels.Dispatcher);

    public DetectStage(WorkerModels models) : base(Regions.Detect)
    {
        _models = models;
        Receive<DetectFrame>(Detect);
    }

    private void Detect(DetectFrame request)
    {
        using var span = StartSpan(request.TraceParent, request.StreamId, request.Seq);
        if (BudgetSpent(request.StreamId, request.Seq, request.BudgetMs, request.ReceivedAt, span)) return;
        var started = Stopwatch.GetTimestamp();
        try
        {
            if (!(request.Scale > 0) || !float.IsFinite(request.Scale))
                throw new ArgumentException($"scale {request.Scale} is not a positive number");
            using var frame = WireImages.Decode(request.Frame, 3, $"stream {request.StreamId} frame {request.Seq}");
            _models.Detector.Detect(BgrImage.Of(frame), _faces, request.StreamId, StageBudget.Deadline(request.BudgetMs, request.ReceivedAt));
            var faces = _faces.Select(f => WireFaces.ToWire(f, request.Scale)).ToArray();
            Sender.Tell(new FacesDetected(request.StreamId, request.Seq, faces, StageBudget.ElapsedMs(started), _models.Name, _models.Provider));
        }
        catch (BudgetExpiredException e)
        {
            Expired(request.StreamId, request.Seq, e, span);
        }
        catch (Exception e)
        {
            Log.Error(e, "detect: stream {0} frame {1} ({2} bytes) failed", request.StreamId, request.Seq, request.Frame?.Data?.Length ?? 0);
            Fail(request.StreamId, request.Seq, e, span);
        }
    }
}
