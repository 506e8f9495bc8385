using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;
using FaceSwap.Inference.Batching;

namespace FaceSwap.Cluster.Stages;

/// <summary>
/// What every stage entity does the same way: passivate when its stream ends, drop a frame whose budget was
/// spent in the mailbox, and answer a frame it could not process with the error, logged with its context.
/// </summary>
public abstract class StageEntity : ReceiveActor
{
    protected readonly ILoggingAdapter Log = Context.GetLogger();

    protected StageEntity(string stage)
    {
        Stage = stage;
        Receive<StopStream>(_ => Context.Parent.Tell(new Passivate(PoisonPill.Instance)));
    }

    /// <summary>The region name, as the edge counts drops and failures by it.</summary>
    protected string Stage { get; }

    /// <summary>True (and the edge told, to count it) when the frame's budget ran out before this hop could start on it.</summary>
    protected bool BudgetSpent(string streamId, long seq, int budgetMs, long receivedAt)
    {
        if (StageBudget.Remaining(budgetMs, receivedAt) > 0) return false;
        Sender.Tell(new StageDropped(streamId, seq, Stage, DropReasons.Budget));
        return true;
    }

    /// <summary>
    /// The frame's budget ran out in a model's batch queue: expected under load, so logged at debug, and told to the
    /// edge as a budget drop like one spent in the mailbox.
    /// </summary>
    protected void Expired(string streamId, long seq, BudgetExpiredException expired)
    {
        Log.Debug("{0}: {1}", Stage, expired.Message);
        Sender.Tell(new StageDropped(streamId, seq, Stage, DropReasons.Budget));
    }

    /// <summary>Answers the sender that the frame failed, with the error's type and message.</summary>
    protected void Fail(string streamId, long seq, Exception error) =>
        Sender.Tell(new StageFailed(streamId, seq, Stage, $"{error.GetType().Name}: {error.Message}"));
}
