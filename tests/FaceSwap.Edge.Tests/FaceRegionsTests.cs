using FaceSwap.Contracts;
using OpenCvSharp;

namespace FaceSwap.Edge.Tests;

public sealed class FaceRegionsTests
{
    [Fact]
    public void Merge_unions_overlapping_regions_and_keeps_disjoint_ones()
    {
        var merged = FaceRegions.Merge([new Rect(0, 0, 10, 10), new Rect(5, 5, 10, 10), new Rect(100, 100, 10, 10)]);
        Assert.Equal([new Rect(0, 0, 15, 15), new Rect(100, 100, 10, 10)], merged);
    }

    [Fact]
    public void Merge_repeats_until_a_union_overlaps_nothing()
    {
        // A and C are disjoint, but B overlaps both: the unions chain all three together.
        var merged = FaceRegions.Merge([new Rect(0, 0, 10, 10), new Rect(30, 0, 10, 10), new Rect(8, 0, 24, 4), new Rect(200, 200, 5, 5)]);
        Assert.Equal([new Rect(0, 0, 40, 10), new Rect(200, 200, 5, 5)], merged);
    }

    [Fact]
    public void Merge_keeps_regions_that_only_touch()
    {
        var merged = FaceRegions.Merge([new Rect(0, 0, 10, 10), new Rect(10, 0, 10, 10)]);
        Assert.Equal(2, merged.Count);
    }

    [Fact]
    public void Of_grows_tracks_and_detections_by_their_scales()
    {
        var box = new FaceBox(140, 100, 40, 40, 1, new float[12]);
        Assert.Equal([new Rect(120, 80, 80, 80)], FaceRegions.Of([box], null, 320, 240));
        Assert.Equal([new Rect(112, 72, 96, 96)], FaceRegions.Of([], [box], 320, 240));
        // Both around the same face: one region, the union.
        Assert.Equal([new Rect(112, 72, 96, 96)], FaceRegions.Of([box], [box], 320, 240));
    }

    [Fact]
    public void Of_clips_to_the_frame_and_leaves_out_what_falls_outside()
    {
        var corner = new FaceBox(-10, -10, 40, 40, 1, new float[12]);
        var edge = new FaceBox(300, 220, 40, 40, 1, new float[12]);
        var outside = new FaceBox(1000, 1000, 40, 40, 1, new float[12]);
        var regions = FaceRegions.Of([corner, edge, outside], null, 320, 240);
        var frame = new Rect(0, 0, 320, 240);
        Assert.Equal(2, regions.Count);
        Assert.All(regions, r => Assert.Equal(r, r & frame));
        Assert.Contains(new Rect(0, 0, 50, 50), regions);
        Assert.Contains(new Rect(280, 200, 40, 40), regions);
    }
}
