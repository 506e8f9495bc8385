using FaceSwap.Contracts;

namespace FaceSwap.Edge;

/// <summary>What the sink gets when the workers are late or lost: the stream never freezes, and never shows the real face unless told to.</summary>
public enum FailMode
{
    /// <summary>The frame with the face regions blurred (the whole frame while no face has been located yet).</summary>
    Blur,
    /// <summary>The last swapped frame again.</summary>
    Hold,
    /// <summary>The frame as captured.</summary>
    Passthrough,
}

/// <summary>One stream's edge settings: its rate, latency budget, queue bounds, fail mode and codec.</summary>
public sealed record EdgeStreamOptions
{
    public required string StreamId { get; init; }
    public required StreamSettings Swap { get; init; }
    /// <summary>The stream's output rate: the fail mode emits at least this often.</summary>
    public double FramesPerSecond { get; init; } = 30;

    /// <summary>The highest rate a stream may declare.</summary>
    public const double MaxFramesPerSecond = 240;
    /// <summary>Capture to sink, per frame: a frame older than this is dropped wherever it is.</summary>
    public int BudgetMs { get; init; } = 150;
    /// <summary>Frames asked of the stage regions at once.</summary>
    public int Parallelism { get; init; } = 2;
    /// <summary>The keep-latest buffer's bound: beyond it the stalest frame is dropped, capture never blocks.</summary>
    public int BufferSize { get; init; } = 1;
    public FailMode FailMode { get; init; } = FailMode.Blur;
    public int JpegQuality { get; init; } = 90;
    /// <summary>The detector gets the frame downscaled to this longer side.</summary>
    public int DetectMaxSide { get; init; } = 640;
    /// <summary>A request larger than this (bytes, as serialized) is refused at the edge: the remote frame size is set above it.</summary>
    public int MaxPayloadBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>The stream's live controls (the page's): when set, its current swap settings, fail mode and label win over <see cref="Swap"/> and <see cref="FailMode"/>.</summary>
    public StreamControls? Controls { get; init; }

    /// <summary>The swap settings the next frame goes with.</summary>
    public StreamSettings CurrentSwap => Controls?.Now.Swap ?? Swap;

    /// <summary>The fail mode the next emitted frame is rendered in.</summary>
    public FailMode CurrentFailMode => Controls?.Now.FailMode ?? FailMode;

    /// <summary>Told of the stream's counts as they happen (the node's metrics); none by default.</summary>
    public IStreamObserver? Observer { get; init; }

    public EdgeStreamOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(StreamId)) throw new ArgumentException("stream id is empty");
        if (!(FramesPerSecond is > 0 and <= MaxFramesPerSecond)) throw new ArgumentException($"stream {StreamId}: fps {FramesPerSecond} is not in (0, {MaxFramesPerSecond}]");
        if (BudgetMs is < 10 or > 10_000) throw new ArgumentException($"stream {StreamId}: budget {BudgetMs} ms is not in [10, 10000]");
        if (Parallelism is < 1 or > 64) throw new ArgumentException($"stream {StreamId}: parallelism {Parallelism} is not in [1, 64]");
        if (BufferSize is < 1 or > 64) throw new ArgumentException($"stream {StreamId}: buffer {BufferSize} is not in [1, 64]");
        if (JpegQuality is < 1 or > 100) throw new ArgumentException($"stream {StreamId}: JPEG quality {JpegQuality} is not in [1, 100]");
        if (DetectMaxSide is < 64 or > 4096) throw new ArgumentException($"stream {StreamId}: detect size {DetectMaxSide} is not in [64, 4096]");
        return this;
    }

    public TimeSpan Interval => TimeSpan.FromSeconds(1 / FramesPerSecond);
}
