using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;
using FaceSwap.Contracts.Tracing;
using FaceSwap.Inference.Batching;

namespace FaceSwap.Cluster.Stages;

/// <summary>
/// What every stage entity does the same way: passivate when its stream ends, drop a frame whose budget was
/// spent in the mailbox, and answer a frame it could not process with the error, logged with its context. A traced
/// frame's span here is parented by the context its message carries, and marked failed on a drop or an error.
/// </summary>
public abstract class StageEntity : ReceiveActor
{
    protected readonly ILoggingAdapter Log = Context.GetLogger();

    protected StageEntity(string stage)
    {
        Stage = stage;
        Receive<StopStream>(_ => Context.Parent.Tell(new Passivate(PoisonPill.Instance)));
    }

    /// <summary>The region name, as the edge counts drops and failures by it (and the name of this stage's spans).</summary>
    protected string Stage { get; }

    /// <summary>This worker's address, as its spans name it.</summary>
    private string Address { get; } = ((ExtendedActorSystem)Context.System).Provider.DefaultAddress.ToString();

    /// <summary>This stage's span of the frame, under the <paramref name="traceParent"/> its message carries; null when it carries none.</summary>
    protected Activity? StartSpan(string? traceParent, string streamId, long seq) => FrameTracing.StartStage(Stage, traceParent, Address, streamId, seq);

    /// <summary>True (and the edge told, to count it) when the frame's budget ran out before this hop could start on it.</summary>
    protected bool BudgetSpent(string streamId, long seq, int budgetMs, long receivedAt, Activity? span)
    {
        if (StageBudget.Remaining(budgetMs, receivedAt) > 0) return false;
        DroppedForBudget(streamId, seq, span);
        return true;
    }

    /// <summary>
    /// The frame's budget ran out in a model's batch queue: expected under load, so logged at debug, and told to the
    /// edge as a budget drop like one spent in the mailbox.
    /// </summary>
    protected void Expired(string streamId, long seq, BudgetExpiredException expired, Activity? span)
    {
        Log.Debug("{0}: {1}", Stage, expired.Message);
        DroppedForBudget(streamId, seq, span);
    }

    /// <summary>Tells the edge the frame was dropped here for its budget, and marks its span so.</summary>
    private void DroppedForBudget(string streamId, long seq, Activity? span)
    {
        FrameTracing.Failed(span, $"dropped: {Stage}/{DropReasons.Budget}");
        Sender.Tell(new StageDropped(streamId, seq, Stage, DropReasons.Budget));
    }

    /// <summary>Answers the sender that the frame failed, with the error's type and message.</summary>
    protected void Fail(string streamId, long seq, Exception error, Activity? span)
    {
        var reason = $"{error.GetType().Name}: {error.Message}";
        FrameTracing.Failed(span, reason);
        Sender.Tell(new StageFailed(streamId, seq, Stage, reason));
    }
}
