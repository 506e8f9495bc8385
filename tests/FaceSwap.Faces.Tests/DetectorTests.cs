using FaceSwap.Faces.Detection;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Faces.Tests;

public sealed class DetectorTests
{
    [Fact]
    public void Anchors_cover_both_feature_maps_in_the_model_output_order()
    {
        Assert.Equal(512 + 384, BlazeFaceDecoder.Anchors.Length);
        Assert.Equal(new Point2f(8, 8), BlazeFaceDecoder.Anchors[0]);      // stride 16, first cell, 2 anchors
        Assert.Equal(new Point2f(8, 8), BlazeFaceDecoder.Anchors[1]);
        Assert.Equal(new Point2f(24, 8), BlazeFaceDecoder.Anchors[2]);
        Assert.Equal(new Point2f(16, 16), BlazeFaceDecoder.Anchors[512]);  // stride 32, first cell, 6 anchors
        Assert.Equal(new Point2f(240, 240), BlazeFaceDecoder.Anchors[^1]);
    }

    [Fact]
    public void Weighted_suppression_merges_overlapping_boxes_by_score_and_keeps_separate_ones()
    {
        List<FaceDetection> candidates =
        [
            new(new Rect2f(0, 0, 10, 10), 0.9f, new Point2f[FaceKeypoints.Count]),
            new(new Rect2f(2, 0, 10, 10), 0.6f, new Point2f[FaceKeypoints.Count]),
            new(new Rect2f(50, 50, 10, 10), 0.7f, new Point2f[FaceKeypoints.Count]),
        ];
        var merged = new List<FaceDetection>();
        BlazeFaceDecoder.WeightedNonMaxSuppression(candidates, 0.3f, merged, []);
        Assert.Equal(2, merged.Count);
        Assert.Equal(0.9f, merged[0].Score);
        Assert.Equal(2f * 0.6f / 1.5f, merged[0].Box.X, 4); // 0.9·0 + 0.6·2, over 1.5
        Assert.Equal(new Rect2f(50, 50, 10, 10), merged[1].Box);
    }

    [Fact]
    public void Unreadable_empty_and_headerless_images_are_named_with_the_problem()
    {
        using var dir = new TestPaths.TempDir();
        var empty = Path.Combine(dir.Path, "empty.jpg");
        File.WriteAllBytes(empty, []);
        Assert.Contains("0 bytes", Assert.Throws<ImageFileException>(() => ImageFile.ReadBgr(empty)).Problem);
        var garbage = Path.Combine(dir.Path, "garbage.jpg");
        File.WriteAllText(garbage, "not a jpeg");
        Assert.Contains("no JPEG, PNG, BMP or WebP header", Assert.Throws<ImageFileException>(() => ImageFile.ReadBgr(garbage)).Problem);
    }
}
