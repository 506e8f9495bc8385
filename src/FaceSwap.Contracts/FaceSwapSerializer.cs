using System.Collections;
using System.Collections.Frozen;
using System.Reflection;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using FaceSwap.Contracts.Management;
using FaceSwap.Contracts.Placement;
using FaceSwap.Contracts.Stages;
using MessagePack;

namespace FaceSwap.Contracts;

/// <summary>
/// The wire format of every <see cref="IFaceSwapMessage"/>: MessagePack arrays keyed by the records' integer
/// [Key]s, named on the wire by a short manifest (the type's name) that never carries a CLR type name, so a peer
/// can only ask for one of <see cref="Contracts"/>. Payloads are not compressed: the images are JPEG/PNG already.
/// </summary>
public sealed class FaceSwapSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer id on the wire: fixed, because peers of different versions must agree on it.</summary>
    public const int Id = 9137;

    /// <summary>
    /// Every message type that may cross nodes. Explicit rather than scanned, so a manifest only exists because
    /// someone listed it; a test checks it covers every <see cref="IFaceSwapMessage"/> type.
    /// </summary>
    public static IReadOnlyList<Type> Contracts { get; } =
    [
        typeof(DetectFrame),
        typeof(FacesDetected),
        typeof(SwapFrame),
        typeof(FrameSwapped),
        typeof(EnhanceFrame),
        typeof(StageDropped),
        typeof(StageFailed),
        typeof(StopStream),
        typeof(PlacementPlan),
        typeof(WorkerReport),
        typeof(LoadModel),
        typeof(UnloadModel),
        typeof(ModelLoadFailed),
        typeof(PinModel),
        typeof(DrainNode),
        typeof(GetPlan),
        typeof(OverrideResult),
        typeof(AdmitStream),
        typeof(ReleaseStream),
        typeof(Admission),
        typeof(AdmissionLedger),
        typeof(QueryNode),
        typeof(NodeStatus),
    ];

    /// <summary>The HOCON that binds this serializer to <see cref="IFaceSwapMessage"/>; every node's config includes it.</summary>
    public static string HoconBinding { get; } = $$"""
        akka.actor {
          serializers.faceswap = "FaceSwap.Contracts.FaceSwapSerializer, FaceSwap.Contracts"
          serialization-bindings { "FaceSwap.Contracts.IFaceSwapMessage, FaceSwap.Contracts" = faceswap }
          serialization-identifiers { "FaceSwap.Contracts.FaceSwapSerializer, FaceSwap.Contracts" = {{Id}} }
        }
        """;

    /// <summary>Standard resolver only (no typeless or contractless), with the limits meant for bytes from a peer.</summary>
    public static MessagePackSerializerOptions Options { get; } =
        MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    private static readonly FrozenDictionary<Type, string> ManifestByType = Contracts.ToFrozenDictionary(t => t, t => t.Name);
    private static readonly FrozenDictionary<string, Type> TypeByManifest = Contracts.ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);
    private static readonly FrozenDictionary<Type, Field[]> Fields = BuildFields();

    public FaceSwapSerializer(ExtendedActorSystem system) : base(system) { }

    public override int Identifier => Id;

    public override string Manifest(object o) => ManifestFor(o);

    public override byte[] ToBinary(object obj) =>
        obj is IFaceSwapMessage m ? Serialize(m) : throw new SerializationException($"{obj.GetType()} is not an {nameof(IFaceSwapMessage)}.");

    public override object FromBinary(byte[] bytes, string manifest) => Deserialize(bytes, manifest);

    /// <summary>The manifest of a contract message (its type's name).</summary>
    public static string ManifestFor(object message) =>
        ManifestByType.TryGetValue(message.GetType(), out var manifest)
            ? manifest
            : throw new SerializationException($"{message.GetType()} is not listed in {nameof(FaceSwapSerializer)}.{nameof(Contracts)}.");

    /// <summary>A message's wire bytes, without an actor system (the edge measures payload size with it).</summary>
    public static byte[] Serialize(IFaceSwapMessage m)
    {
        var manifest = ManifestFor(m);
        // A null where the contract says non-null would only fail on the receiver; fail here, where the bug is.
        var error = FindNullField(m, manifest);
        if (error is not null)
            throw new SerializationException($"Cannot serialize {manifest}: {error} is null but the contract requires a value.");
        return MessagePackSerializer.Serialize(m.GetType(), m, Options);
    }

    /// <summary>
    /// The message the bytes hold. Anything wrong (unknown manifest, malformed bytes, bytes left over, a required
    /// field missing) is a <see cref="SerializationException"/>, which Akka remoting logs and drops without
    /// failing the association; any other exception type would tear the association down.
    /// </summary>
    public static object Deserialize(byte[] bytes, string manifest)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (manifest is null || !TypeByManifest.TryGetValue(manifest, out var type))
            throw new SerializationException($"Unknown manifest '{manifest}' ({bytes.Length} bytes): not a {nameof(FaceSwapSerializer)} contract.");
        object? message;
        try
        {
            var reader = new MessagePackReader(bytes);
            message = MessagePackSerializer.Deserialize(type, ref reader, Options);
            if (!reader.End)
                throw new SerializationException($"Malformed payload for manifest '{manifest}' ({bytes.Length} bytes): {bytes.Length - reader.Consumed} bytes left over.");
        }
        catch (SerializationException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new SerializationException($"Malformed payload for manifest '{manifest}' ({bytes.Length} bytes): {e.Message}", e);
        }
        if (message is null)
            throw new SerializationException($"Malformed payload for manifest '{manifest}' ({bytes.Length} bytes): nil instead of a message.");
        // MessagePack fills a missing or nil key with null whatever the contract's nullability says; a peer must
        // not be able to hand the entities a null StreamId or image.
        var missing = FindNullField(message, manifest);
        if (missing is not null)
            throw new SerializationException($"Malformed payload for manifest '{manifest}' ({bytes.Length} bytes): {missing} is nil but the contract requires a value.");
        return message;
    }

    /// <summary>A [Key] member of a contract record, with what its declaration says about null.</summary>
    private sealed record Field(PropertyInfo Property, NullabilityInfo Nullability);

    private static FrozenDictionary<Type, Field[]> BuildFields()
    {
        var context = new NullabilityInfoContext();
        var fields = new Dictionary<Type, Field[]>();
        void Add(Type type)
        {
            if (fields.ContainsKey(type) || type.GetCustomAttribute<MessagePackObjectAttribute>() is null)
                return;
            var list = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.GetCustomAttribute<KeyAttribute>() is not null)
                .Select(p => new Field(p, context.Create(p)))
                .ToArray();
            fields[type] = list;
            foreach (var f in list)
                Add(f.Property.PropertyType.IsArray ? f.Property.PropertyType.GetElementType()! : f.Property.PropertyType);
        }
        foreach (var type in Contracts)
            Add(type);
        return fields.ToFrozenDictionary();
    }

    /// <summary>The path of the first non-nullable member (or array element) that is null, or null when there is none.</summary>
    private static string? FindNullField(object obj, string path)
    {
        foreach (var field in Fields[obj.GetType()])
        {
            var error = Check(field.Property.GetValue(obj), field.Nullability, $"{path}.{field.Property.Name}");
            if (error is not null)
                return error;
        }
        return null;
    }

    private static string? Check(object? value, NullabilityInfo nullability, string path)
    {
        if (value is null)
            return nullability.ReadState == NullabilityState.NotNull ? path : null;
        if (value is IList list && nullability.ElementType is { } element && !element.Type.IsValueType)
        {
            for (var i = 0; i < list.Count; i++)
            {
                var error = Check(list[i], element, $"{path}[{i}]");
                if (error is not null)
                    return error;
            }
            return null;
        }
        return Fields.ContainsKey(value.GetType()) ? FindNullField(value, path) : null;
    }
}
