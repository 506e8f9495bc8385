using OpenCvSharp;

namespace FaceSwap.Swap.Evaluation;

/// <summary>
/// Structural similarity (Wang, Bovik, Sheikh and Simoncelli, 2004) of two 8-bit images on their grey levels:
/// 11×11 Gaussian window, σ = 1.5, K1 = 0.01, K2 = 0.03, averaged over a mask.
/// </summary>
public static class Ssim
{
    private const double C1 = 0.01 * 255 * 0.01 * 255, C2 = 0.03 * 255 * 0.03 * 255;

    public static double Mean(Mat a, Mat b, Mat? mask = null)
    {
        using var x = Grey(a);
        using var y = Grey(b);
        using var muX = Blur(x);
        using var muY = Blur(y);
        using var muXX = Product(muX, muX);
        using var muYY = Product(muY, muY);
        using var muXY = Product(muX, muY);
        using var sigmaX = Variance(x, x, muXX);
        using var sigmaY = Variance(y, y, muYY);
        using var sigmaXY = Variance(x, y, muXY);

        using var numerator = new Mat();
        using var denominator = new Mat();
        using (var left = new Mat())
        using (var right = new Mat())
        {
            Cv2.AddWeighted(muXY, 2, muXY, 0, C1, left);       // 2·μxμy + C1
            Cv2.AddWeighted(sigmaXY, 2, sigmaXY, 0, C2, right); // 2·σxy + C2
            Cv2.Multiply(left, right, numerator);
            Cv2.AddWeighted(muXX, 1, muYY, 1, C1, left);        // μx² + μy² + C1
            Cv2.AddWeighted(sigmaX, 1, sigmaY, 1, C2, right);   // σx² + σy² + C2
            Cv2.Multiply(left, right, denominator);
        }
        using var map = new Mat();
        Cv2.Divide(numerator, denominator, map);
        return mask is null ? Cv2.Mean(map).Val0 : Cv2.Mean(map, mask).Val0;
    }

    private static Mat Grey(Mat image)
    {
        using var grey = image.Channels() == 3 ? image.CvtColor(ColorConversionCodes.BGR2GRAY) : image.Clone();
        var result = new Mat();
        grey.ConvertTo(result, MatType.CV_64FC1);
        return result;
    }

    private static Mat Blur(Mat image)
    {
        var result = new Mat();
        Cv2.GaussianBlur(image, result, new Size(11, 11), 1.5);
        return result;
    }

    private static Mat Product(Mat a, Mat b)
    {
        var result = new Mat();
        Cv2.Multiply(a, b, result);
        return result;
    }

    /// <summary>Local (co)variance: blur(a·b) − μaμb.</summary>
    private static Mat Variance(Mat a, Mat b, Mat meanProduct)
    {
        using var product = Product(a, b);
        using var blurred = Blur(product);
        var result = new Mat();
        Cv2.Subtract(blurred, meanProduct, result);
        return result;
    }
}
