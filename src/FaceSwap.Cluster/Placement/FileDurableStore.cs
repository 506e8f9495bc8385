using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.DistributedData.Durable;
using Akka.Event;
using Akka.Serialization;

namespace FaceSwap.Cluster.Placement;

/// <summary>
/// DistributedData's durable store as one file per key in a folder of this node's own (<c>durable.file.dir</c>):
/// the LMDB store Akka ships needs a LightningDB build the package feed here does not serve, and two small keys
/// (the placement plan, the admitted streams) need no database. Each write goes to a temporary file that is then
/// renamed over the old one, so a crash mid-write leaves the last complete value.
/// </summary>
/// <remarks>The replicator's protocol: <see cref="LoadAll"/> at start is answered with <see cref="LoadData"/> and
/// <see cref="LoadAllCompleted"/>; each <see cref="Store"/> with its reply's success or failure message.</remarks>
public sealed class FileDurableStore : ReceiveActor
{
    private const string Suffix = ".ddata";
    private readonly string _dir;
    private readonly Serializer _serializer;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <param name="config">the replicator's <c>durable</c> section</param>
    public FileDurableStore(Config config)
    {
        _dir = config.GetString("file.dir", "") is { Length: > 0 } dir
            ? dir
            : throw new ConfigurationException("akka.cluster.distributed-data.durable.file.dir: no folder for the durable store");
        Directory.CreateDirectory(_dir);
        _serializer = Context.System.Serialization.FindSerializerForType(typeof(DurableDataEnvelope));
        Receive<LoadAll>(_ => Load());
        Receive<Store>(Write);
    }

    private void Load()
    {
        var loaded = ImmutableDictionary.CreateBuilder<string, DurableDataEnvelope>();
        foreach (var file in Directory.EnumerateFiles(_dir, "*" + Suffix))
        {
            var key = Uri.UnescapeDataString(Path.GetFileName(file)[..^Suffix.Length]);
            try
            {
                loaded[key] = Read(File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                // Stops the replicator with its store: a node that cannot read its own state must not start from nothing silently.
                throw new LoadFailedException($"durable distributed-data: {file} does not read as a stored value ({e.Message})", e);
            }
        }
        if (loaded.Count > 0) Sender.Tell(new LoadData(loaded.ToImmutable()));
        Sender.Tell(LoadAllCompleted.Instance);
        _log.Info("durable distributed-data: loaded {0} key(s) from {1}", loaded.Count, _dir);
    }

    /// <summary>The serializer's manifest (a length-prefixed UTF-8 string), then its bytes: the envelope's serializer needs both to read it back.</summary>
    private byte[] Bytes(DurableDataEnvelope envelope)
    {
        var manifest = System.Text.Encoding.UTF8.GetBytes(Serialization.ManifestFor(_serializer, envelope));
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(manifest.Length);
            writer.Write(manifest);
            writer.Write(_serializer.ToBinary(envelope));
        }
        return stream.ToArray();
    }

    private DurableDataEnvelope Read(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes));
        var manifest = System.Text.Encoding.UTF8.GetString(reader.ReadBytes(reader.ReadInt32()));
        var payload = reader.ReadBytes(bytes.Length - (int)reader.BaseStream.Position);
        return (DurableDataEnvelope)(_serializer is SerializerWithStringManifest named
            ? named.FromBinary(payload, manifest)
            : _serializer.FromBinary(payload, typeof(DurableDataEnvelope)));
    }

    private void Write(Store store)
    {
        var file = Path.Combine(_dir, Uri.EscapeDataString(store.Key) + Suffix);
        var temporary = file + ".tmp";
        try
        {
            File.WriteAllBytes(temporary, Bytes(store.Data));
            File.Move(temporary, file, overwrite: true);
            store.Reply?.ReplyTo.Tell(store.Reply.SuccessMessage);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error(e, "durable distributed-data: storing {0} in {1} failed", store.Key, file);
            store.Reply?.ReplyTo.Tell(store.Reply.FailureMessage);
        }
    }
}
