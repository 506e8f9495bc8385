namespace FaceSwap.Swap;

public enum ColorTransfer
{
    None,
    /// <summary>Reinhard et al. 2001: match the mean and spread of each L*a*b* channel to the target's skin.</summary>
    LabStatistics,
}

public enum BlendMode
{
    /// <summary>Alpha blend through a feathered mask.</summary>
    Feather,
    /// <summary>Poisson (seamless) cloning, OpenCV's NORMAL_CLONE: matches gradients at the mask's border.</summary>
    Seamless,
}

public sealed record SwapOptions
{
    public ColorTransfer Color { get; init; } = ColorTransfer.LabStatistics;
    public BlendMode Blend { get; init; } = BlendMode.Feather;
    /// <summary>Width of the feathered edge, as a fraction of the face's size.</summary>
    public float Feather { get; init; } = 0.06f;
    /// <summary>Keep the target's eye openings and mouth opening, so blinks and speech show through.</summary>
    public bool KeepEyesAndMouth { get; init; } = true;
    /// <summary>
    /// How far the inner features (brows, eyes, nose, lips) move toward the source's shape, 0 (the target's) to 1
    /// (the source's, similarity-aligned); the face outline always stays the target's, so the mask fits the frame.
    /// </summary>
    public float ShapeTransfer { get; init; }
}
