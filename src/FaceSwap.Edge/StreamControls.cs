using FaceSwap.Contracts;

namespace FaceSwap.Edge;

/// <summary>
/// A running stream's live controls: the swap settings its next frame goes with, its fail mode and the visible
/// label's text. The page changes them between frames; each read sees one whole set (an immutable record swapped in).
/// </summary>
public sealed class StreamControls(StreamControls.Values initial)
{
    /// <param name="Label">the visible label's text; null: the node's configured text</param>
    public sealed record Values(StreamSettings Swap, FailMode FailMode, string? Label);

    private volatile Values _now = initial;

    public Values Now => _now;

    /// <summary>Sets the next frame's controls; the swap entity rebuilds its engine when the swap settings changed.</summary>
    public void Set(Values next) => _now = next;
}
