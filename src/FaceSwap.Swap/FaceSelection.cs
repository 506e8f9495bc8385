namespace FaceSwap.Swap;

public enum SelectionMode
{
    /// <summary>Every face in the frame.</summary>
    All,
    /// <summary>Only the largest face.</summary>
    Largest,
    /// <summary>Only the leftmost face.</summary>
    Leftmost,
    /// <summary>Only faces within <see cref="FaceSelection.Threshold"/> of the reference embedding.</summary>
    Reference,
}

/// <summary>
/// Which faces of a frame are swapped. The reference threshold is a MobileFaceNet cosine: between different people
/// of the sample photos it reaches 0.989 (measured), so only values above that separate identities.
/// </summary>
public sealed record FaceSelection(SelectionMode Mode = SelectionMode.All, float[]? ReferenceEmbedding = null, float Threshold = 0.99f)
{
    public bool NeedsEmbeddings => Mode == SelectionMode.Reference;
}
