using FaceSwap.Swap.Identities;
using OpenCvSharp;

namespace FaceSwap.Swap.Tests;

public sealed class IdentityStoreTests : IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static SourceFace Face()
    {
        var texture = new Mat(64, 64, MatType.CV_8UC3, new Scalar(10, 20, 30));
        return new SourceFace(texture, Enumerable.Range(0, 468).Select(i => new Point2f(i % 64, i / 64f)).ToArray());
    }

    [Fact]
    public void Saved_identity_loads_back_with_its_texture_mesh_and_record()
    {
        var store = new IdentityStore(_dir.Path);
        var record = new IdentityRecord("average", "synthetic-average", "nobody's face", ["sample1.jpg"], 15, DateTimeOffset.UnixEpoch);
        using (var face = Face()) store.Save(record, face);
        var (loaded, source) = store.Load("average");
        using (source)
        {
            Assert.Equal(record with { Sources = loaded.Sources }, loaded);
            Assert.Equal(["sample1.jpg"], loaded.Sources);
            Assert.Equal(new Point2f(467 % 64, 467 / 64f), source.Mesh[467]);
            Assert.Equal(new Vec3b(10, 20, 30), source.Texture.At<Vec3b>(5, 5));
        }
    }

    [Fact]
    public void Missing_identity_names_the_command_that_makes_the_demo_one()
    {
        var error = Assert.Throws<FileNotFoundException>(() => new IdentityStore(_dir.Path).Load("average"));
        Assert.Contains("fsc identities make-average", error.Message);
    }

    [Fact]
    public void Identity_ids_that_could_leave_the_store_are_refused()
    {
        using var face = Face();
        var record = new IdentityRecord("../escape", "synthetic-average", "", [], 0, DateTimeOffset.UnixEpoch);
        Assert.Throws<ArgumentException>(() => new IdentityStore(_dir.Path).Save(record, face));
    }
}
