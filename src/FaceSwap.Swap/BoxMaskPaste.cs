using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Swap;

/// <summary>
/// FaceFusion's paste-back (face_helper.paste_back with a static box mask): the crop's box mask, edges zeroed over
/// half the blur and Gaussian-blurred, goes back through the inverse affine with the crop; the frame takes
/// mask · strength of the crop. Used by the SimSwap swap and the enhancers.
/// </summary>
public static class BoxMaskPaste
{
    /// <param name="maskBlur">blur as a fraction of the crop's size (FaceFusion's face_mask_blur, 0.3 by default)</param>
    /// <param name="strength">how much of the crop replaces the frame where the mask is full, 0 to 1</param>
    public static void Paste(Mat frame, Mat crop, Affine2D frameToCrop, float maskBlur, float strength)
    {
        if (frame.Type() != MatType.CV_8UC3) throw new ArgumentException($"expected an 8-bit BGR frame, got {frame.Type()}", nameof(frame));
        var mask = Masks.GetOrAdd((crop.Width, crop.Height, maskBlur), key => BoxMask(key.Width, key.Height, key.Blur));

        // Only the crop's footprint in the frame changes: warp into that box, not the whole frame.
        var cropToFrame = frameToCrop.Inverse();
        Point2f[] corners = [cropToFrame.Apply(0, 0), cropToFrame.Apply(crop.Width, 0), cropToFrame.Apply(0, crop.Height), cropToFrame.Apply(crop.Width, crop.Height)];
        int left = (int)Math.Floor(corners.Min(c => c.X)) - 1, top = (int)Math.Floor(corners.Min(c => c.Y)) - 1;
        var roi = Rect.FromLTRB(left, top, (int)Math.Ceiling(corners.Max(c => c.X)) + 2, (int)Math.Ceiling(corners.Max(c => c.Y)) + 2)
            & new Rect(0, 0, frame.Width, frame.Height);
        if (roi.Width <= 0 || roi.Height <= 0) return; // the face lies outside the frame
        using var matrix = new Mat(2, 3, MatType.CV_32FC1);
        matrix.Set(0, 0, cropToFrame.A); matrix.Set(0, 1, cropToFrame.B); matrix.Set(0, 2, cropToFrame.Tx - roi.X);
        matrix.Set(1, 0, cropToFrame.C); matrix.Set(1, 1, cropToFrame.D); matrix.Set(1, 2, cropToFrame.Ty - roi.Y);
        using var back = new Mat();
        using var alpha = new Mat();
        Cv2.WarpAffine(crop, back, matrix, roi.Size, InterpolationFlags.Linear, BorderTypes.Replicate);
        Cv2.WarpAffine(mask, alpha, matrix, roi.Size, InterpolationFlags.Linear, BorderTypes.Constant, Scalar.All(0));
        // paste = alpha·crop + (1 − alpha)·frame, then frame·(1 − strength) + paste·strength: one weight, alpha·strength.
        using var weight = (alpha * strength).ToMat();
        using var inverse = new Mat();
        Cv2.Subtract(Scalar.All(1), weight, inverse);
        using var target = frame[roi];
        using var blended = new Mat();
        Cv2.BlendLinear(back, target, weight, inverse, blended);
        blended.CopyTo(target);
    }

    // One mask per crop size and blur, made once: read-only after, so streams share them.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int Width, int Height, float Blur), Mat> Masks = new();

    private static Mat BoxMask(int width, int height, float maskBlur)
    {
        var blurAmount = (int)(width * 0.5f * maskBlur);
        var blurArea = Math.Max(blurAmount / 2, 1);
        var mask = new Mat(height, width, MatType.CV_32FC1, Scalar.All(0));
        using (var inner = mask[new Rect(blurArea, blurArea, width - 2 * blurArea, height - 2 * blurArea)]) inner.SetTo(Scalar.All(1));
        if (blurAmount > 0) Cv2.GaussianBlur(mask, mask, new Size(0, 0), blurAmount * 0.25);
        return mask;
    }
}
