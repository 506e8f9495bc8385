using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Vision.Tests;

public sealed class AffineSamplerTests
{
    [Fact]
    public void Identity_map_copies_pixels_as_normalised_rgb()
    {
        using var image = new Mat(2, 2, MatType.CV_8UC3);
        image.Set(0, 0, new Vec3b(10, 20, 30)); // B, G, R
        image.Set(0, 1, new Vec3b(40, 50, 60));
        image.Set(1, 0, new Vec3b(70, 80, 90));
        image.Set(1, 1, new Vec3b(100, 110, 120));
        var output = new float[2 * 2 * 3];
        AffineSampler.SampleRgb(BgrImage.Of(image), Affine2D.Identity, output, 2, 2, 1f, 0f);
        Assert.Equal([30f, 20, 10, 60, 50, 40, 90, 80, 70, 120, 110, 100], output);
    }

    [Fact]
    public void Half_scale_averages_each_two_by_two_block_and_normalises()
    {
        using var image = new Mat(4, 4, MatType.CV_8UC3, Scalar.All(0));
        image[new Rect(0, 0, 2, 2)].SetTo(Scalar.All(200));
        var output = new float[2 * 2 * 3];
        // Output pixel centre (0.5, 0.5) lands on image position (1, 1), between four pixels.
        AffineSampler.SampleRgb(BgrImage.Of(image), Affine2D.ScaleTranslate(2, 0, 0), output, 2, 2, 1 / 255f, 0f);
        Assert.Equal(200 / 255f, output[0], 5);
        Assert.Equal(0f, output[3], 5);
    }

    [Fact]
    public void Outside_the_image_is_black_after_normalisation()
    {
        using var image = new Mat(4, 4, MatType.CV_8UC3, Scalar.All(255));
        var output = new float[3];
        AffineSampler.SampleRgb(BgrImage.Of(image), Affine2D.ScaleTranslate(1, 100, 100), output, 1, 1, 1 / 127.5f, -1f);
        Assert.Equal([-1f, -1f, -1f], output);
    }

    [Fact]
    public void Affine_inverse_and_composition_round_trip()
    {
        var map = Affine2D.Similarity(1.7f, 0.3f, 12, -5);
        var p = new Point2f(3, 4);
        var back = map.Inverse().Apply(map.Apply(p));
        Assert.Equal(p.X, back.X, 4);
        Assert.Equal(p.Y, back.Y, 4);
        Assert.Equal(1.7f, map.Scale, 5);
        var twice = map.After(map).Apply(p);
        var expected = map.Apply(map.Apply(p));
        Assert.Equal(expected.X, twice.X, 3);
        Assert.Equal(expected.Y, twice.Y, 3);
    }
}
