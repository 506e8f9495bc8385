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
    /// <summary>Each face gets the source mapped to the reference it matches best (above the threshold); others are left alone.</summary>
    Mapping,
}

/// <summary>One entry of a source→target mapping: faces like <paramref name="TargetReference"/> get <paramref name="Source"/>.</summary>
public sealed record IdentityMapping(float[] TargetReference, SourceFace Source);

/// <summary>
/// Which faces of a frame are swapped. The reference threshold is a cosine of the embedder (MobileFace): between
/// different people of the sample photos it stays at or below 0.55, a face and its mirror image give 0.93–0.95.
/// </summary>
public sealed record FaceSelection(SelectionMode Mode = SelectionMode.All, float[]? ReferenceEmbedding = null, float Threshold = 0.7f,
    IReadOnlyList<IdentityMapping>? Mappings = null)
{
    public bool NeedsEmbeddings => Mode is SelectionMode.Reference or SelectionMode.Mapping;
}
