namespace FaceSwap.Contracts;

/// <summary>
/// Marks every message that may cross nodes: the Akka serializer binding is on this interface, so a message type
/// without it cannot reach the wire by accident through a default (JSON or typeless) serializer.
/// </summary>
public interface IFaceSwapMessage;

/// <summary>A message for one stream's entity: the shard extractor routes on <see cref="StreamId"/>.</summary>
public interface IStreamMessage : IFaceSwapMessage
{
    string StreamId { get; }
}
