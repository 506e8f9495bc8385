using Akka.Streams;
using Akka.Streams.Stage;
using FaceSwap.Contracts;

namespace FaceSwap.Edge.Graph;

/// <summary>
/// The keep-latest buffer between capture and the stages: it always pulls, so capture never blocks; beyond
/// <paramref name="capacity"/> frames the stalest is dropped and counted. What waits downstream is always the newest.
/// </summary>
public sealed class KeepLatest(int capacity, StreamLedger ledger) : GraphStage<FlowShape<StreamFrame, StreamFrame>>
{
    private readonly Inlet<StreamFrame> _in = new("KeepLatest.in");
    private readonly Outlet<StreamFrame> _out = new("KeepLatest.out");
    private readonly int _capacity = capacity;
    private readonly StreamLedger _ledger = ledger;

    public override FlowShape<StreamFrame, StreamFrame> Shape => new(_in, _out);

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : InAndOutGraphStageLogic
    {
        private readonly KeepLatest _stage;
        private readonly Queue<StreamFrame> _frames = new();

        public Logic(KeepLatest stage) : base(stage.Shape)
        {
            _stage = stage;
            SetHandler(stage._in, this);
            SetHandler(stage._out, this);
        }

        public override void PreStart() => Pull(_stage._in);

        public override void OnPush()
        {
            _frames.Enqueue(Grab(_stage._in));
            while (_frames.Count > _stage._capacity) _stage._ledger.Drop(_frames.Dequeue(), "edge-buffer", DropReasons.Stale);
            _stage._ledger.Buffered(_frames.Count);
            if (IsAvailable(_stage._out)) Push(_stage._out, _frames.Dequeue());
            Pull(_stage._in);
        }

        public override void OnPull()
        {
            if (_frames.Count > 0) Push(_stage._out, _frames.Dequeue());
            if (_frames.Count == 0 && IsClosed(_stage._in)) CompleteStage();
        }

        public override void OnUpstreamFinish()
        {
            if (_frames.Count == 0) CompleteStage();
        }

        public override void OnDownstreamFinish(Exception cause)
        {
            while (_frames.Count > 0) _stage._ledger.Drop(_frames.Dequeue(), "edge-buffer", DropReasons.Stale);
            base.OnDownstreamFinish(cause);
        }
    }
}
