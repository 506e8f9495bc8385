using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using FaceSwap.Cluster.Stages;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;
using FaceSwap.Inference.Batching;
using FaceSwap.Vision;

namespace FaceSwap.Cluster.Simulation;

/// <summary>
/// The detect entity of one stream on a simulated worker: decodes the downscaled frame as a worker does, runs the
/// detector's modelled batch, and answers with one synthetic face, centred (the model is not run, so nothing is found).
/// </summary>
public sealed class SimulatedDetectStage : StageEntity
{
    private readonly SimulatedWorker _worker;

    public static Props Props(SimulatedWorker worker) => Akka.Actor.Props.Create(() => new SimulatedDetectStage(worker)).WithDispatcher(WorkerModels.Dispatcher);

    public SimulatedDetectStage(SimulatedWorker worker) : base(Regions.Detect)
    {
        _worker = worker;
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
            _worker.Run(_worker.Profile.Detector, request.StreamId, StageBudget.Deadline(request.BudgetMs, request.ReceivedAt));
            var face = SyntheticFaces.Centred(frame.Width * request.Scale, frame.Height * request.Scale);
            Sender.Tell(new FacesDetected(request.StreamId, request.Seq, [face], StageBudget.ElapsedMs(started), _worker.Name, _worker.Provider));
        }
        catch (BudgetExpiredException e)
        {
            Expired(request.StreamId, request.Seq, e, span);
        }
        catch (Exception e)
        {
            Log.Error(e, "simulated detect: stream {0} frame {1} ({2} bytes) failed", request.StreamId, request.Seq, request.Frame?.Data?.Length ?? 0);
            Fail(request.StreamId, request.Seq, e, span);
        }
    }
}
