using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using FaceSwap.Contracts.Stages;
using MessagePack;

namespace FaceSwap.Contracts.Tests;

/// <summary>A local actor system with only the HOCON binding: the serializer as Akka itself resolves it.</summary>
public sealed class SerializationFixture : IDisposable
{
    public ActorSystem System { get; } = ActorSystem.Create("contracts", ConfigurationFactory.ParseString(FaceSwapSerializer.HoconBinding));
    public Serialization Serialization => System.Serialization;
    public void Dispose() => Assert.True(System.Terminate().Wait(TimeSpan.FromSeconds(10)), "actor system did not terminate");
}

public sealed class FaceSwapSerializerTests(SerializationFixture fixture) : IClassFixture<SerializationFixture>
{
    public static TheoryData<Type> ContractTypes { get; } = new(FaceSwapSerializer.Contracts);

    [Fact]
    public void Contracts_list_every_message_type_in_the_assembly()
    {
        var messages = typeof(IFaceSwapMessage).Assembly.GetTypes()
            .Where(t => typeof(IFaceSwapMessage).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false })
            .OrderBy(t => t.FullName).ToArray();
        Assert.Equal(messages, FaceSwapSerializer.Contracts.OrderBy(t => t.FullName));
        // The manifest is the type's name, so names must stay unique across namespaces.
        Assert.Equal(messages.Length, messages.Select(t => t.Name).Distinct().Count());
        Assert.All(messages, t => Assert.True(t.IsSealed && t.IsDefined(typeof(MessagePackObjectAttribute), false), $"{t} must be a sealed [MessagePackObject]"));
    }

    [Fact]
    public void The_binding_resolves_every_contract_to_the_serializer()
    {
        var generator = new MessageGenerator(1);
        foreach (var type in FaceSwapSerializer.Contracts)
        {
            var serializer = fixture.Serialization.FindSerializerFor(generator.Create(type));
            Assert.IsType<FaceSwapSerializer>(serializer);
            Assert.Equal(FaceSwapSerializer.Id, serializer.Identifier);
        }
        Assert.IsType<FaceSwapSerializer>(fixture.Serialization.FindSerializerForType(typeof(StopStream)));
    }

    [Theory]
    [MemberData(nameof(ContractTypes))]
    public void Random_messages_round_trip(Type type)
    {
        var generator = new MessageGenerator(type.Name.Length * 7919 + 17);
        for (var i = 0; i < 200; i++)
        {
            var message = generator.Create(type);
            var serializer = (SerializerWithStringManifest)fixture.Serialization.FindSerializerFor(message);
            var manifest = serializer.Manifest(message);
            Assert.Equal(type.Name, manifest);
            var bytes = serializer.ToBinary(message);
            Assert.Equal(bytes, FaceSwapSerializer.Serialize((IFaceSwapMessage)message));

            var back = serializer.FromBinary(bytes, manifest);
            Assert.IsType(type, back);
            FieldAssert.Equal(message, back);
            Assert.Equal(bytes, serializer.ToBinary(back));
            // Akka's own entry point (by id and manifest), as remoting calls it.
            FieldAssert.Equal(message, fixture.Serialization.Deserialize(bytes, FaceSwapSerializer.Id, manifest));
        }
    }

    [Theory]
    [MemberData(nameof(ContractTypes))]
    public void Truncated_payloads_throw_SerializationException(Type type)
    {
        var generator = new MessageGenerator(42);
        for (var i = 0; i < 5; i++)
        {
            var bytes = FaceSwapSerializer.Serialize((IFaceSwapMessage)generator.Create(type));
            // Every cut of a short message, a sample of cuts of a long one: any strict prefix is incomplete.
            var cuts = bytes.Length <= 512 ? Enumerable.Range(0, bytes.Length) : Enumerable.Range(0, 256).Select(_ => generator.Random.Next(bytes.Length));
            foreach (var cut in cuts)
                AssertRejected(bytes[..cut], type.Name, innerKept: true);
            // Bytes after a whole message are as malformed as missing ones.
            AssertRejected([.. bytes, 0xC0], type.Name, innerKept: false);
        }
    }

    [Fact]
    public void Random_bytes_throw_SerializationException()
    {
        var generator = new MessageGenerator(7);
        foreach (var type in FaceSwapSerializer.Contracts)
            for (var i = 0; i < 300; i++)
                AssertRejected(generator.Bytes(generator.Random.Next(1, 300)), type.Name, innerKept: null);
    }

    [Fact]
    public void Empty_payload_throws_SerializationException()
    {
        foreach (var type in FaceSwapSerializer.Contracts)
            AssertRejected([], type.Name, innerKept: true);
    }

    [Theory]
    [InlineData("")]
    [InlineData("detectframe")]
    [InlineData("EncodedImage")] // a wire type, but not a message
    [InlineData("FaceSwap.Contracts.Stages.DetectFrame, FaceSwap.Contracts")]
    [InlineData("System.Object")]
    public void Unknown_manifests_throw_SerializationException(string manifest)
    {
        var bytes = FaceSwapSerializer.Serialize(new StopStream("s"));
        var error = Assert.Throws<SerializationException>(() => FaceSwapSerializer.Deserialize(bytes, manifest));
        Assert.Contains($"'{manifest}'", error.Message);
        Assert.Contains($"{bytes.Length} bytes", error.Message);
        Assert.Throws<SerializationException>(() => FaceSwapSerializer.Deserialize(bytes, null!));
    }

    [Fact]
    public void Another_contracts_bytes_are_rejected_or_read_as_the_manifest_type()
    {
        // Same-shaped records (StageDropped and StageFailed) legitimately read each other; anything else must
        // fail as a SerializationException, never as another exception type.
        var generator = new MessageGenerator(3);
        foreach (var from in FaceSwapSerializer.Contracts)
            for (var i = 0; i < 20; i++)
            {
                var bytes = FaceSwapSerializer.Serialize((IFaceSwapMessage)generator.Create(from));
                foreach (var to in FaceSwapSerializer.Contracts)
                    AssertRejectedOrRead(bytes, to);
            }
    }

    [Fact]
    public void Mutated_payloads_are_rejected_or_read_as_the_manifest_type()
    {
        var generator = new MessageGenerator(11);
        foreach (var type in FaceSwapSerializer.Contracts)
            for (var i = 0; i < 100; i++)
            {
                var bytes = FaceSwapSerializer.Serialize((IFaceSwapMessage)generator.Create(type));
                for (var flips = generator.Random.Next(1, 4); flips > 0; flips--)
                    bytes[generator.Random.Next(bytes.Length)] = (byte)generator.Random.Next(256);
                AssertRejectedOrRead(bytes, type);
            }
    }

    [Fact]
    public void Nil_in_a_required_field_is_rejected_on_both_ends()
    {
        // [fixarray 1, nil]: a StopStream without its StreamId, which the shard extractor would route on.
        var error = Assert.Throws<SerializationException>(() => FaceSwapSerializer.Deserialize([0x91, 0xC0], "StopStream"));
        Assert.Contains("StopStream.StreamId", error.Message);
        // A nested one: a frame whose image has no pixels.
        var frame = new DetectFrame("s", 1, 100, new EncodedImage(EncodedImage.Jpeg, 1, 1, null!), 1);
        Assert.Contains("DetectFrame.Frame.Data", Assert.Throws<SerializationException>(() => FaceSwapSerializer.Serialize(frame)).Message);
        var bytes = MessagePackSerializer.Serialize(frame, FaceSwapSerializer.Options);
        Assert.Contains("DetectFrame.Frame.Data", Assert.Throws<SerializationException>(() => FaceSwapSerializer.Deserialize(bytes, "DetectFrame")).Message);
        // And one inside an array; a declared-nullable array may be nil.
        var swap = new SwapFrame("s", 1, 100, new StreamSettings("id"), 2, 2, [null!], null);
        Assert.Contains("SwapFrame.Crops[0]", Assert.Throws<SerializationException>(() => FaceSwapSerializer.Serialize(swap)).Message);
        var fine = swap with { Crops = [] };
        FieldAssert.Equal(fine, FaceSwapSerializer.Deserialize(FaceSwapSerializer.Serialize(fine), "SwapFrame"));
    }

    [Fact]
    public void Non_contract_objects_are_refused()
    {
        var serializer = (FaceSwapSerializer)fixture.Serialization.FindSerializerForType(typeof(StopStream));
        Assert.Throws<SerializationException>(() => serializer.ToBinary("text"));
        Assert.Throws<SerializationException>(() => serializer.Manifest(new EncodedImage(EncodedImage.Png, 0, 0, [])));
    }

    private static void AssertRejected(byte[] bytes, string manifest, bool? innerKept)
    {
        var error = Assert.Throws<SerializationException>(() => FaceSwapSerializer.Deserialize(bytes, manifest));
        Assert.Contains($"'{manifest}'", error.Message);
        Assert.Contains($"({bytes.Length} bytes)", error.Message);
        if (innerKept is { } kept)
            Assert.Equal(kept, error.InnerException is not null);
    }

    private static void AssertRejectedOrRead(byte[] bytes, Type type)
    {
        try
        {
            Assert.IsType(type, FaceSwapSerializer.Deserialize(bytes, type.Name));
        }
        catch (SerializationException error)
        {
            Assert.Contains($"({bytes.Length} bytes)", error.Message);
        }
    }
}
