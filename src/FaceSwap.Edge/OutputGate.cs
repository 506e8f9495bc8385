using System.Diagnostics;
using FaceSwap.Contracts;
using OpenCvSharp;

namespace FaceSwap.Edge;

/// <summary>
/// The last step before the sink, and the only one that emits: keeps output order monotonic (a frame older than
/// the last emitted is dropped as late), drops what outlived its budget, renders failed frames in the fail mode,
/// and on each tick, if no frame was served for the frame budget (at least two intervals), claims the oldest frame
/// in flight (while the stages still answer, only one about to miss its budget) and emits it in the fail mode: the
/// stream never freezes. Runs inside one graph stage: no locks.
/// </summary>
public sealed class OutputGate(EdgeStreamOptions options, StreamLedger ledger, Func<IReadOnlyList<Rect>> knownFaces) : IDisposable
{
    private static readonly EmittedFrame[] None = [];
    private long _lastSeq = -1;
    private long _lastServedAt = Stopwatch.GetTimestamp();
    private long _lastEmittedAt = Stopwatch.GetTimestamp();
    private Mat? _lastSwapped;

    public IEnumerable<EmittedFrame> Handle(object input) => input switch
    {
        FrameOutcome outcome => OnOutcome(outcome),
        _ => OnTick(),
    };

    private IEnumerable<EmittedFrame> OnOutcome(FrameOutcome outcome)
    {
        var frame = outcome.Frame;
        switch (outcome.Kind)
        {
            case OutcomeKind.Dropped:
                return None;
            case OutcomeKind.Superseded:
                frame.Dispose();
                return None;
        }
        if (frame.Seq <= _lastSeq)
        {
            ledger.Drop(frame, "edge-output", DropReasons.Late);
            return None;
        }
        var age = frame.AgeMs;
        if (age > frame.BudgetMs)
        {
            ledger.Drop(frame, "edge-output", DropReasons.Budget);
            return None;
        }
        if (outcome.Kind == OutcomeKind.Failed)
        {
            if (!ledger.EmitFailMode(frame, age))
            {
                frame.Dispose();
                return None;
            }
            FailModes.Render(options.CurrentFailMode, frame.Image, outcome.Faces, _lastSwapped);
            return [Emit(frame.Seq, frame.Image, failMode: true, age)];
        }
        if (!ledger.Serve(frame, age))
        {
            frame.Dispose();
            return None;
        }
        _lastServedAt = Stopwatch.GetTimestamp();
        if (options.CurrentFailMode == FailMode.Hold)
        {
            _lastSwapped ??= new Mat();
            frame.Image.CopyTo(_lastSwapped);
        }
        return [Emit(frame.Seq, frame.Image, failMode: false, age)];
    }

    private IEnumerable<EmittedFrame> OnTick()
    {
        var interval = options.Interval;
        // Stalled only when nothing was served for a whole budget (at least two intervals): a stage that is slow but
        // within budget still gets its frames served, instead of having each one claimed just before its answer comes.
        var stall = TimeSpan.FromTicks(Math.Max(2 * interval.Ticks, TimeSpan.FromMilliseconds(options.BudgetMs).Ticks));
        if (Stopwatch.GetElapsedTime(_lastServedAt) < stall || Stopwatch.GetElapsedTime(_lastEmittedAt) < 0.9 * interval) return None;
        // While the stages still answer (slow, on a loaded machine), claim only a frame about to miss its budget:
        // claiming younger ones feeds itself, each claimed before its answer comes, so nothing is served and the
        // stall never ends. When nothing answers (the workers are gone), any frame, to keep the stream's rate.
        var answering = ledger.LastAnswerAt != 0 && Stopwatch.GetElapsedTime(ledger.LastAnswerAt) < stall;
        var minAge = answering ? Math.Max(0, options.BudgetMs - interval.TotalMilliseconds) : 0;
        if (ledger.ClaimOldestForFailMode(_lastSeq, minAge) is not { } claim) return None;
        FailModes.Render(options.CurrentFailMode, claim.Copy, knownFaces(), _lastSwapped);
        return [Emit(claim.Frame.Seq, claim.Copy, failMode: true, claim.AgeMs)];
    }

    private EmittedFrame Emit(long seq, Mat image, bool failMode, double ageMs)
    {
        _lastSeq = seq;
        _lastEmittedAt = Stopwatch.GetTimestamp();
        return new EmittedFrame(seq, image, failMode, ageMs);
    }

    public void Dispose() => _lastSwapped?.Dispose();
}
