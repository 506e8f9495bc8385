using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;
using FaceSwap.Edge.Graph;
using FaceSwap.Vision;
using FaceSwap.Vision.Marks;
using OpenCvSharp;

namespace FaceSwap.Edge;

/// <summary>A stage or the farm refused to take a stream on: what it said.</summary>
/// <param name="transient">the farm is full or did not answer: the same stream may be taken later (a stage's refusal, no consent say, stands)</param>
public sealed class StreamRefusedException(string message, bool transient = false) : Exception(message)
{
    public bool Transient { get; } = transient;
}

/// <summary>A running stream: its books, a switch that stops capture (what is in flight still finishes), and its completion.</summary>
public sealed record EdgeStreamHandle(StreamLedger Ledger, SharedKillSwitch Capture, Task Completion);

/// <summary>
/// One Akka.Streams graph per stream:
/// capture → stamp (sequence, budget) → keep-latest buffer (drops the stale frame, capture never blocks)
/// → the stage regions, <see cref="EdgeStreamOptions.Parallelism"/> frames at a time → output gate (monotonic
/// order, budget, fail mode on each tick of the stream's interval) → marks (label, watermark) → sink.
/// </summary>
public static class EdgeStream
{
    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    /// <summary>
    /// Starts the stream's entities before the first frame (the swap entity opens the identity under its consent
    /// and builds the engine), so the stream starts swapped instead of in the fail mode, and a stage that refuses
    /// the stream (no consent, an unknown identity, an unsupported setting) stops it here with its reason.
    /// </summary>
    /// <exception cref="StreamRefusedException">a stage refused the stream</exception>
    /// <exception cref="AskTimeoutException">no worker answered within <paramref name="timeout"/></exception>
    public static async Task Prepare(EdgeStreamOptions options, IActorRef detect, IActorRef swap, TimeSpan timeout)
    {
        options.Validate();
        using var blank = new Mat(64, 64, MatType.CV_8UC3, Scalar.All(0));
        var budget = (int)timeout.TotalMilliseconds;
        var answers = await Task.WhenAll(
            detect.Ask<object>(new DetectFrame(options.StreamId, -1, budget, WireImages.Jpeg(blank, options.JpegQuality), 1), timeout),
            swap.Ask<object>(new SwapFrame(options.StreamId, -1, budget, options.Swap, blank.Width, blank.Height, [], null), timeout));
        foreach (var answer in answers)
            if (answer is StageFailed failed)
                throw new StreamRefusedException($"stream {options.StreamId}: the {failed.Stage} stage refused it: {failed.Error}");
    }

    /// <param name="frames">captured BGR frames; the graph owns each from here</param>
    /// <param name="sink">gets every emitted frame and must dispose it</param>
    /// <param name="detect">the detect region (or its proxy)</param>
    /// <param name="swap">the swap region (or its proxy)</param>
    public static EdgeStreamHandle Run(ActorSystem system, Source<Mat, NotUsed> frames, EdgeStreamOptions options,
        IActorRef detect, IActorRef swap, Sink<EmittedFrame, Task<Done>> sink, OutputMarks? marks)
    {
        options.Validate();
        var log = Logging.GetLogger(system, $"edge-stream-{options.StreamId}");
        var ledger = new StreamLedger(options.StreamId, options.Observer);
        var node = ((ExtendedActorSystem)system).Provider.DefaultAddress.ToString();
        var pipeline = new FramePipeline(options, detect, swap, ledger, log, node);
        var gate = new OutputGate(options, ledger, () => pipeline.KnownFaces);
        long seq = 0;

        // Ticks at a quarter interval: a stalled stream emits within a quarter interval of each due time, so the fail mode keeps the stream's rate.
        var tick = options.Interval / 4;
        var ticks = Source.Tick(tick, tick, (object)Tick.Instance).MapMaterializedValue(_ => NotUsed.Instance);
        var capture = KillSwitches.Shared($"capture-{options.StreamId}");
        var completion = frames
            .Via(capture.Flow<Mat>())
            .Select(image =>
            {
                var frame = new StreamFrame(seq++, image, options.BudgetMs);
                ledger.Offer(frame);
                return frame;
            })
            .Via(new KeepLatest(options.BufferSize, ledger))
            .SelectAsyncUnordered(options.Parallelism, pipeline.Process)
            .Select(outcome => (object)outcome)
            // The ticks never end: eager completion ends the graph when capture has and every frame in flight came back.
            .Merge(ticks, eagerComplete: true)
            .SelectMany(gate.Handle)
            .Select(frame =>
            {
                // The label's text is a live control; the watermark's payload (node, session) never changes.
                var current = options.Controls?.Now.Label is { } text && marks is not null && text != marks.Label.Text
                    ? marks with { Label = marks.Label with { Text = text } } : marks;
                current?.Apply(frame.Image);
                return frame;
            })
            .RunWith(sink, system.Materializer());
        completion = completion.ContinueWith(t =>
        {
            // A sink that stopped early leaves frames in flight: settle and free them.
            ledger.DropRemaining("edge-output", DropReasons.Cancelled);
            gate.Dispose();
            foreach (var region in new[] { detect, swap }) region.Tell(new StopStream(options.StreamId));
            return t;
        }, TaskScheduler.Default).Unwrap();
        return new EdgeStreamHandle(ledger, capture, completion);
    }
}
