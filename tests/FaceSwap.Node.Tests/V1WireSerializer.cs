using Akka.Actor;
using Akka.Serialization;
using FaceSwap.Contracts;
using MessagePack;

namespace FaceSwap.Node.Tests;

/// <summary>
/// A worker of the previous release on the wire: bound in place of <see cref="FaceSwapSerializer"/> (same identifier,
/// same manifests), it writes every message of the frozen V1 contract set (tests/FaceSwap.Contracts.Tests/V1) in its
/// V1 form and reads what it is sent as a V1 node would, dropping every key V1 does not know. Messages V1 never had
/// pass through unchanged.
/// </summary>
public sealed class V1WireSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private static readonly Dictionary<string, Type> V1Types = typeof(Contracts.Tests.V1.IFaceSwapMessage).Assembly.GetTypes()
        .Where(t => t.Namespace == typeof(Contracts.Tests.V1.IFaceSwapMessage).Namespace && typeof(Contracts.Tests.V1.IFaceSwapMessage).IsAssignableFrom(t) && !t.IsInterface)
        .ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>Messages that crossed the wire in their V1 form, each way: the test checks the old node really spoke V1.</summary>
    public static long Downgraded;

    public const string Hocon = """akka.actor.serializers.faceswap = "FaceSwap.Node.Tests.V1WireSerializer, FaceSwap.Node.Tests" """;

    public override int Identifier => FaceSwapSerializer.Id;

    public override string Manifest(object o) => FaceSwapSerializer.ManifestFor(o);

    public override byte[] ToBinary(object obj) => Downgrade(FaceSwapSerializer.Serialize((IFaceSwapMessage)obj), Manifest(obj));

    public override object FromBinary(byte[] bytes, string manifest) => FaceSwapSerializer.Deserialize(Downgrade(bytes, manifest), manifest);

    private static byte[] Downgrade(byte[] bytes, string manifest)
    {
        if (!V1Types.TryGetValue(manifest, out var type)) return bytes;
        Interlocked.Increment(ref Downgraded);
        return MessagePackSerializer.Serialize(type, MessagePackSerializer.Deserialize(type, bytes, FaceSwapSerializer.Options), FaceSwapSerializer.Options);
    }
}
