using Akka.Cluster.Sharding;
using FaceSwap.Cluster;
using FaceSwap.Cluster.Placement;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;

namespace FaceSwap.Node.Tests;

/// <summary>The enhance region's shard ids: the enhancer it needs, and the number the stream has in every stage.</summary>
public sealed class EnhanceShardExtractorTests
{
    private static EnhanceFrame Frame(string streamId, string? enhancer) =>
        new(streamId, 100, new StreamSettings("identity", Enhancer: enhancer), new FrameSwapped(streamId, 1, [], [], false, false, 5, "worker"));

    [Fact]
    public void An_enhance_shard_carries_the_enhancer_and_the_number_the_stream_has_in_detect_and_swap()
    {
        var enhance = new EnhanceShardExtractor();
        var stream = new StreamShardExtractor();
        var numbers = new HashSet<string>();
        for (var i = 0; i < 2000; i++)
        {
            var id = $"stream-{i}-{Guid.NewGuid():N}";
            var frame = Frame(id, "gfpgan_1.4");
            var number = stream.ShardId(id, frame);
            Assert.Equal($"gfpgan_1.4/{number}", enhance.ShardId(enhance.EntityId(frame)!, frame));
            Assert.Equal($"gfpgan_1.4/{number}", enhance.ShardId(frame));
            numbers.Add(number);
        }

        Assert.Equal(StreamShardExtractor.DefaultShards, numbers.Count);
    }

    [Fact]
    public void The_shard_count_is_the_one_given()
    {
        var enhance = new EnhanceShardExtractor(7);
        var numbers = Enumerable.Range(0, 500).Select(i => EnhanceShardExtractor.NumberOf(enhance.ShardId($"s{i}", Frame($"s{i}", "codeformer")))).ToHashSet();
        Assert.Equal(Enumerable.Range(0, 7).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToHashSet(), numbers);
    }

    [Fact]
    public void The_entity_is_the_stream_and_the_frame_reaches_it_unwrapped()
    {
        var enhance = new EnhanceShardExtractor();
        var frame = Frame("stream-7", "gfpgan_1.4");
        Assert.Equal("stream-7", enhance.EntityId(frame));
        Assert.Same(frame, enhance.EntityMessage(frame));
        Assert.Null(enhance.EntityId("not a stream message"));
    }

    [Fact]
    public void A_restarted_entity_or_a_frame_without_an_enhancer_gets_the_plain_number()
    {
        var enhance = new EnhanceShardExtractor();
        var number = new StreamShardExtractor().ShardId("stream-7", null);
        Assert.Equal(number, enhance.ShardId("stream-7", new ShardRegion.StartEntity("stream-7")));
        Assert.Equal(number, enhance.ShardId(Frame("stream-7", null)));
        Assert.Equal("", EnhanceShardExtractor.ModelOf(number));
    }

    [Theory]
    [InlineData("gfpgan_1.4/42", "gfpgan_1.4", "42")]
    [InlineData("codeformer/0", "codeformer", "0")]
    [InlineData("vendor/restorer/9", "vendor/restorer", "9")]
    [InlineData("42", "", "42")]
    public void Model_and_number_come_apart_at_the_last_slash(string shardId, string model, string number)
    {
        Assert.Equal(model, EnhanceShardExtractor.ModelOf(shardId));
        Assert.Equal(number, EnhanceShardExtractor.NumberOf(shardId));
    }
}
