using FaceSwap.Faces.Alignment;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Faces.Tests;

public sealed class AlignerTests
{
    [Fact]
    public void Similarity_recovers_a_known_rotation_scale_and_shift()
    {
        var truth = Affine2D.Similarity(0.4f, -0.35f, 30, 12);
        var from = new[] { new Point2f(100, 120), new Point2f(180, 118), new Point2f(140, 160), new Point2f(110, 200), new Point2f(172, 199) };
        var to = from.Select(truth.Apply).ToArray();
        var estimate = Aligner.Similarity(from, to);
        foreach (var (expected, actual) in new[] { (truth.A, estimate.A), (truth.B, estimate.B), (truth.Tx, estimate.Tx), (truth.C, estimate.C), (truth.D, estimate.D), (truth.Ty, estimate.Ty) })
            Assert.Equal(expected, actual, 3);
    }

    [Fact]
    public void Templates_follow_insightface_for_112_224_and_128()
    {
        Assert.Equal(Aligner.ArcFace112, Aligner.Template(112));
        Assert.Equal(new Point2f(38.2946f * 2, 51.6963f * 2), Aligner.Template(224)[0]);
        // inswapper's 128 crop: ratio 128/128, shifted 8 px in x (face_align.estimate_norm).
        Assert.Equal(new Point2f(38.2946f + 8, 51.6963f), Aligner.Template(128)[0]);
    }

    [Fact]
    public void Aligning_the_template_onto_itself_is_the_identity()
    {
        var map = Aligner.Similarity(Aligner.ArcFace112, Aligner.ArcFace112);
        Assert.Equal(1f, map.A, 5);
        Assert.Equal(0f, map.B, 5);
        Assert.Equal(0f, map.Tx, 3);
    }

    [Fact]
    public void Coinciding_points_cannot_be_aligned()
    {
        var same = Enumerable.Repeat(new Point2f(5, 5), 5).ToArray();
        Assert.Throws<ArgumentException>(() => Aligner.Similarity(same, Aligner.ArcFace112));
    }
}
