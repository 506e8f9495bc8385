using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote;
using Akka.Serialization;
using Akka.TestKit;
using FaceSwap.Contracts.Stages;
using Xunit.Abstractions;

namespace FaceSwap.Contracts.Tests;

/// <summary>
/// Real remoting over loopback: valid messages cross with the serializer, and a peer that sends garbage under
/// the serializer's id and a real manifest gets its message dropped without tearing the association down
/// (which is why every failure in <see cref="FaceSwapSerializer.Deserialize"/> is a SerializationException).
/// </summary>
public sealed class RemoteAssociationTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(RemoteConfig(serializeMessages: true), "sender", output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private static Config RemoteConfig(bool serializeMessages, string binding) =>
        ConfigurationFactory.ParseString($$"""
            akka.loglevel = INFO
            akka.actor.provider = remote
            akka.actor.serialize-messages = {{(serializeMessages ? "on" : "off")}}
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            {{binding}}
            """);

    private static Config RemoteConfig(bool serializeMessages) => RemoteConfig(serializeMessages, FaceSwapSerializer.HoconBinding);

    [Fact]
    public async Task Garbage_under_the_serializer_id_is_dropped_and_the_association_stays_up()
    {
        var receiver = ActorSystem.Create("receiver", RemoteConfig(serializeMessages: true));
        // The attacker binds its own serializer under the same id instead of the real one; serialize-messages
        // would run its garbage through a local round trip.
        var attacker = ActorSystem.Create("attacker", RemoteConfig(serializeMessages: false, """
            akka.actor.serializers.garbage = "FaceSwap.Contracts.Tests.GarbageSerializer, FaceSwap.Contracts.Tests"
            akka.actor.serialization-bindings { "FaceSwap.Contracts.Tests.Garbage, FaceSwap.Contracts.Tests" = garbage }
            """));
        try
        {
            var delivered = CreateTestProbe(receiver);
            var rejected = CreateTestProbe(receiver);
            var lifecycle = CreateTestProbe(receiver);
            receiver.EventStream.Subscribe(rejected.Ref, typeof(Warning));
            receiver.EventStream.Subscribe(rejected.Ref, typeof(Error));
            receiver.EventStream.Subscribe(lifecycle.Ref, typeof(DisassociatedEvent));
            receiver.EventStream.Subscribe(lifecycle.Ref, typeof(AssociationErrorEvent));
            receiver.ActorOf(Props.Create(() => new Echo(delivered.Ref)), "echo");
            var echo = $"{((ExtendedActorSystem)receiver).Provider.DefaultAddress}/user/echo";

            // A valid message goes there and back through the serializer.
            Sys.ActorSelection(echo).Tell(new StopStream("before"), TestActor);
            Assert.Equal("before", ExpectMsg<StopStream>(Timeout).StreamId);
            Assert.Equal("before", delivered.ExpectMsg<StopStream>(Timeout).StreamId);

            // Garbage claiming to be a DetectFrame, then an Identify on the same association: once the identity
            // is back, the receiver has dealt with the garbage (one association delivers in order).
            var attackerProbe = CreateTestProbe(attacker);
            attacker.ActorSelection(echo).Tell(new Garbage(), attackerProbe.Ref);
            attacker.ActorSelection(echo).Tell(new Identify("after-garbage"), attackerProbe.Ref);
            var identity = attackerProbe.ExpectMsg<ActorIdentity>(Timeout);
            Assert.Equal("after-garbage", identity.MessageId);
            Assert.NotNull(identity.Subject);
            // The receiver said why it dropped it: the manifest and size from FaceSwapSerializer.
            rejected.FishForMessage<LogEvent>(e => e.ToString().Contains("'DetectFrame' (64 bytes)", StringComparison.Ordinal), Timeout);

            // The next thing the echo sees is the sender's next valid message: the garbage never reached it.
            Sys.ActorSelection(echo).Tell(new StopStream("after"), TestActor);
            Assert.Equal("after", ExpectMsg<StopStream>(Timeout).StreamId);
            Assert.Equal("after", delivered.ExpectMsg<StopStream>(Timeout).StreamId);

            // Both associations are still usable, and none was dropped or failed along the way.
            attacker.ActorSelection(echo).Tell(new Identify("still-up"), attackerProbe.Ref);
            Assert.Equal("still-up", attackerProbe.ExpectMsg<ActorIdentity>(Timeout).MessageId);
            lifecycle.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
            delivered.ExpectNoMsg(TimeSpan.Zero);
        }
        finally
        {
            await Task.WhenAll(receiver.Terminate(), attacker.Terminate()).WaitAsync(Timeout);
        }
    }

    /// <summary>Hands every message to a probe and back to its sender.</summary>
    private sealed class Echo : ReceiveActor
    {
        public Echo(IActorRef delivered) => ReceiveAny(message =>
        {
            delivered.Tell(message);
            Sender.Tell(message);
        });
    }
}

/// <summary>A message only the attacker can serialize.</summary>
public sealed record Garbage;

/// <summary>Random bytes under <see cref="FaceSwapSerializer.Id"/> and a real manifest: what a hostile or broken peer sends.</summary>
public sealed class GarbageSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public override int Identifier => FaceSwapSerializer.Id;
    public override string Manifest(object o) => nameof(DetectFrame);
    public override byte[] ToBinary(object obj) => new MessageGenerator(99).Bytes(64);
    public override object FromBinary(byte[] bytes, string manifest) => throw new NotSupportedException("the attacker never reads");
}
