using System.Collections.Concurrent;
using Akka.Actor;
using FaceSwap.Contracts;
using FaceSwap.Contracts.Stages;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Edge.Tests;

/// <summary>What a fake stage was asked (thread-safe): the requests in arrival order, and how many StopStream it got.</summary>
public sealed class StageLog
{
    private readonly ConcurrentQueue<IStreamMessage> _requests = new();
    private int _stops;

    public IReadOnlyList<IStreamMessage> Requests => [.. _requests];
    public int Count => _requests.Count;
    public int Stops => Volatile.Read(ref _stops);

    internal void Request(IStreamMessage message) => _requests.Enqueue(message);
    internal void Stop() => Interlocked.Increment(ref _stops);
}

/// <summary>
/// A stand-in for a stage region: logs each request and answers what the test's script returns for it (nothing when
/// the script returns null), at once or after <c>delay</c> (Task.Delay, then PipeTo: the actor never blocks).
/// </summary>
public sealed class FakeStage : ReceiveActor
{
    public static Props For(StageLog log, Func<IStreamMessage, object?> script, TimeSpan delay = default) =>
        Props.Create(() => new FakeStage(log, script, delay));

    public FakeStage(StageLog log, Func<IStreamMessage, object?> script, TimeSpan delay)
    {
        Receive<StopStream>(_ => log.Stop());
        Receive<IStreamMessage>(request =>
        {
            log.Request(request);
            var reply = script(request);
            if (reply is null) return;
            if (delay <= TimeSpan.Zero)
                Sender.Tell(reply, Self);
            else
                Task.Delay(delay).ContinueWith(_ => reply, TaskScheduler.Default).PipeTo(Sender, Self);
        });
    }
}

/// <summary>The fakes' answers: one face at a fixed place, and a solid red patch at the centre of the first crop.</summary>
public static class Fakes
{
    public const int PatchSide = 20;
    public const string Worker = "fake-worker";

    /// <summary>A 40x40 face centred at (160, 120) of the 320x240 frame; 6 keypoints as 12 floats.</summary>
    public static readonly FaceBox Face = new(140, 100, 40, 40, 0.95f, [150, 112, 170, 112, 160, 120, 152, 130, 168, 130, 160, 138]);

    public static readonly EncodedImage RedPatch = Encode(new Scalar(0, 0, 255));
    public static readonly EncodedImage FullMask = Mask();
    /// <summary>Says JPEG, has the right size, and is not a JPEG.</summary>
    public static readonly EncodedImage CorruptPatch = RedPatch with { Data = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] };

    public static object? Detect(IStreamMessage message) =>
        message is DetectFrame d ? new FacesDetected(d.StreamId, d.Seq, [Face], 1, Worker) : null;

    /// <summary>The centre of the first crop the swap got, <see cref="PatchSide"/> square.</summary>
    public static Rect Placement(SwapFrame request)
    {
        var crop = request.Crops[0];
        return new Rect(crop.X + (crop.Image.Width - PatchSide) / 2, crop.Y + (crop.Image.Height - PatchSide) / 2, PatchSide, PatchSide);
    }

    public static FrameSwapped Swapped(SwapFrame request, bool detectNext, Rect place, EncodedImage? patch = null) =>
        new(request.StreamId, request.Seq, [new FacePatch(place.X, place.Y, patch ?? RedPatch, FullMask, [])], [Face], detectNext, false, 2, Worker);

    private static EncodedImage Encode(Scalar colour)
    {
        using var patch = new Mat(PatchSide, PatchSide, MatType.CV_8UC3, colour);
        return WireImages.Jpeg(patch, 95);
    }

    private static EncodedImage Mask()
    {
        using var mask = new Mat(PatchSide, PatchSide, MatType.CV_8UC1, Scalar.All(255));
        return WireImages.Png(mask);
    }
}
