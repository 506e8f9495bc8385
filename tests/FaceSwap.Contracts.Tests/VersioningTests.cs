using System.Reflection;
using FaceSwap.Contracts.Stages;
using MessagePack;

namespace FaceSwap.Contracts.Tests;

/// <summary>
/// Rolling upgrades run two versions side by side: a node must read what the previous release sends, and the
/// previous release must read what this one sends (new keys only ever appended, old keys never reused).
/// </summary>
public sealed class VersioningTests
{
    private const int Samples = 50;

    private static readonly Type[] V1Messages = typeof(V1.IFaceSwapMessage).Assembly.GetTypes()
        .Where(t => t.Namespace == typeof(V1.IFaceSwapMessage).Namespace && typeof(V1.IFaceSwapMessage).IsAssignableFrom(t) && !t.IsInterface)
        .ToArray();

    public static TheoryData<Type> V1Types { get; } = new(V1Messages);

    [Fact]
    public void Every_v1_message_still_exists()
    {
        var current = FaceSwapSerializer.Contracts.Select(t => t.Name).ToHashSet();
        Assert.Equal(8, V1Messages.Length);
        Assert.All(V1Messages, t => Assert.Contains(t.Name, current));
    }

    [Theory]
    [MemberData(nameof(V1Types))]
    public void V1_bytes_read_as_current_messages(Type v1Type)
    {
        var generator = new MessageGenerator(v1Type.Name.Length);
        for (var i = 0; i < Samples; i++)
        {
            var old = generator.Create(v1Type);
            var bytes = MessagePackSerializer.Serialize(v1Type, old, MessagePackSerializerOptions.Standard);
            var current = FaceSwapSerializer.Deserialize(bytes, v1Type.Name);
            Assert.Equal(v1Type.Name, current.GetType().Name);
            // Compare on the old type's members; what it lacks (keys appended since) must read as its default.
            FieldAssert.Equal(current, old);
            foreach (var appended in AppendedSince(v1Type, current.GetType()))
            {
                var value = appended.GetValue(current);
                Assert.True(value is null || appended.PropertyType.IsValueType && value.Equals(Activator.CreateInstance(appended.PropertyType)),
                    $"{v1Type.Name}.{appended.Name}, absent from the v1 bytes, read as {value}");
            }
        }
    }

    /// <summary>The [Key] members of <paramref name="current"/> that <paramref name="v1Type"/> lacks.</summary>
    private static IEnumerable<PropertyInfo> AppendedSince(Type v1Type, Type current) =>
        current.GetProperties().Where(p => p.GetCustomAttribute<KeyAttribute>() is not null && v1Type.GetProperty(p.Name) is null);

    [Fact]
    public void Stage_requests_from_a_sender_without_tracing_read_with_no_trace_context()
    {
        // TraceParent was appended to the three stage requests (DetectFrame Key 5, SwapFrame Key 8, EnhanceFrame Key 4).
        var generator = new MessageGenerator(11);
        foreach (var v1Type in new[] { typeof(V1.DetectFrame), typeof(V1.SwapFrame), typeof(V1.EnhanceFrame) })
        {
            var old = generator.Create(v1Type);
            var read = FaceSwapSerializer.Deserialize(MessagePackSerializer.Serialize(v1Type, old, MessagePackSerializerOptions.Standard), v1Type.Name);
            Assert.Equal(["TraceParent"], AppendedSince(v1Type, read.GetType()).Select(p => p.Name));
            Assert.Null(read switch
            {
                DetectFrame detect => detect.TraceParent,
                SwapFrame swap => swap.TraceParent,
                EnhanceFrame enhance => enhance.TraceParent,
                _ => throw new InvalidOperationException($"{read.GetType().Name} is not a stage request"),
            });
        }
    }

    [Fact]
    public void A_trace_context_round_trips_and_an_older_node_reads_the_request_without_it()
    {
        const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var frame = new DetectFrame("s", 3, 100, new EncodedImage(EncodedImage.Jpeg, 1, 1, [1, 2]), 1.5f, TraceParent);
        var bytes = FaceSwapSerializer.Serialize(frame);
        Assert.Equal(TraceParent, Assert.IsType<DetectFrame>(FaceSwapSerializer.Deserialize(bytes, nameof(DetectFrame))).TraceParent);
        var old = MessagePackSerializer.Deserialize<V1.DetectFrame>(bytes, MessagePackSerializerOptions.Standard);
        Assert.Equal((frame.StreamId, frame.Seq, frame.Scale), (old.StreamId, old.Seq, old.Scale));
    }

    [Theory]
    [MemberData(nameof(V1Types))]
    public void Current_bytes_read_as_v1_messages(Type v1Type)
    {
        var currentType = FaceSwapSerializer.Contracts.Single(t => t.Name == v1Type.Name);
        var generator = new MessageGenerator(v1Type.Name.Length + 1);
        for (var i = 0; i < Samples; i++)
        {
            var current = (IFaceSwapMessage)generator.Create(currentType);
            var old = MessagePackSerializer.Deserialize(v1Type, FaceSwapSerializer.Serialize(current), MessagePackSerializerOptions.Standard);
            Assert.IsType(v1Type, old);
            // Compare on the old type's members: what the older node can see must be what was sent.
            FieldAssert.Equal(current, old);
        }
    }

    [Fact]
    public void A_newer_message_with_an_extra_trailing_key_reads_as_the_current_one()
    {
        var generator = new MessageGenerator(5);
        for (var i = 0; i < Samples; i++)
        {
            var swapped = generator.Create<FrameSwapped>();
            var next = new FrameSwappedNext(swapped.StreamId, swapped.Seq, swapped.Patches, swapped.Tracks, swapped.DetectNext, swapped.Lost,
                swapped.WorkerMs, swapped.Worker, swapped.EnhanceMs, swapped.Provider, swapped.EnhanceProvider, Extra: [new NextExtra("added later", [1, 2, 3])]);
            var read = FaceSwapSerializer.Deserialize(MessagePackSerializer.Serialize(next, MessagePackSerializerOptions.Standard), nameof(FrameSwapped));
            FieldAssert.Equal(next, Assert.IsType<FrameSwapped>(read));
        }
    }

    [Fact]
    public void An_older_message_without_a_trailing_key_reads_with_its_default()
    {
        // EnhanceMs (Key 8) was appended after the first FrameSwapped: a sender that lacks it means "not enhanced".
        var older = new FrameSwappedWithoutEnhance("s", 9, [], [], true, false, 12, "w");
        var read = Assert.IsType<FrameSwapped>(FaceSwapSerializer.Deserialize(MessagePackSerializer.Serialize(older), nameof(FrameSwapped)));
        FieldAssert.Equal(read, older);
        Assert.Equal(0, read.EnhanceMs);
    }
}

/// <summary>What a next release might send: <see cref="FrameSwapped"/> with a key appended.</summary>
[MessagePackObject]
public sealed record FrameSwappedNext(
    [property: Key(0)] string StreamId,
    [property: Key(1)] long Seq,
    [property: Key(2)] FacePatch[] Patches,
    [property: Key(3)] FaceBox[] Tracks,
    [property: Key(4)] bool DetectNext,
    [property: Key(5)] bool Lost,
    [property: Key(6)] int WorkerMs,
    [property: Key(7)] string Worker,
    [property: Key(8)] int EnhanceMs,
    [property: Key(9)] string? Provider,
    [property: Key(10)] string? EnhanceProvider,
    [property: Key(11)] NextExtra[] Extra);

[MessagePackObject]
public sealed record NextExtra([property: Key(0)] string Name, [property: Key(1)] int[] Values);

/// <summary><see cref="FrameSwapped"/> before Key 8 existed.</summary>
[MessagePackObject]
public sealed record FrameSwappedWithoutEnhance(
    [property: Key(0)] string StreamId,
    [property: Key(1)] long Seq,
    [property: Key(2)] FacePatch[] Patches,
    [property: Key(3)] FaceBox[] Tracks,
    [property: Key(4)] bool DetectNext,
    [property: Key(5)] bool Lost,
    [property: Key(6)] int WorkerMs,
    [property: Key(7)] string Worker);
