using System.Buffers;
using System.Diagnostics;
using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Batching;
using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Faces.Landmarks;

/// <summary>
/// FaceMesh for many streams at once: each caller samples its own crop on its own thread, the model's batcher
/// runs the crops of all streams waiting as one batch, and each caller maps its own 468 points back.
/// </summary>
public sealed class BatchedLandmarker : IDisposable
{
    private const int InputLength = Landmarker.Size * Landmarker.Size * 3;
    private const int MeshLength = FaceLandmarks.Count * 3;

    private readonly ModelSession _model;
    // Only the thread running a batch touches these, one at a time (the batcher's, or a lone caller's).
    private readonly Dictionary<int, BoundInference> _bindings = [];

    public BatchedLandmarker(ModelSession model, BatchingOptions options, ILogger logger)
    {
        if (model.Manifest.Preset != Landmarker.ModelName)
            throw new ArgumentException($"the landmarker runs preset '{Landmarker.ModelName}', got model '{model.Name}' (preset '{model.Manifest.Preset}')");
        _model = model;
        Batcher = new BatchingExecutor<float[], (float[] Mesh, float Presence)>(model.Name, options, Run, logger);
    }

    public BatchingExecutor<float[], (float[] Mesh, float Presence)> Batcher { get; }

    /// <summary>Fits one face of <paramref name="stream"/>; throws <see cref="BudgetExpiredException"/> when <paramref name="deadline"/> passes in the queue.</summary>
    public void Process(BgrImage frame, in FaceDetection face, FaceLandmarks result, string stream, long deadline)
    {
        var crop = Landmarker.CropFor(face);
        // Rented arrays can be longer than asked: the batch copies exactly one input's length.
        var input = ArrayPool<float>.Shared.Rent(InputLength);
        try
        {
            Landmarker.Sample(_model, frame, crop, input.AsSpan(0, InputLength));
            var (mesh, presence) = Batcher.Run(input, stream, deadline);
            Landmarker.MapBack(mesh, presence, crop, result);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
        }
    }

    /// <summary>A stream's handle for its engine; the stream sets <see cref="StreamFitter.Deadline"/> before each frame.</summary>
    public StreamFitter For(string stream) => new(this, stream);

    private IReadOnlyList<(float[] Mesh, float Presence)> Run(IReadOnlyList<float[]> crops)
    {
        if (!_bindings.TryGetValue(crops.Count, out var bound))
            _bindings[crops.Count] = bound = _model.Bind(crops.Count);
        var input = bound.Input().AsSpan();
        for (var i = 0; i < crops.Count; i++) crops[i].AsSpan(0, InputLength).CopyTo(input.Slice(i * InputLength, InputLength));
        bound.Run();
        var meshes = bound[Landmarker.MeshOutput];
        var presence = bound[Landmarker.PresenceOutput];
        var results = new (float[], float)[crops.Count];
        for (var i = 0; i < crops.Count; i++) results[i] = (meshes.AsSpan(i * MeshLength, MeshLength).ToArray(), presence[i]);
        return results;
    }

    public void Dispose()
    {
        Batcher.Dispose();
        foreach (var bound in _bindings.Values) bound.Dispose();
    }

    /// <summary>One stream's view of the batched landmarker, with the deadline of the frame it is on.</summary>
    public sealed class StreamFitter(BatchedLandmarker landmarker, string stream) : ILandmarkFitter
    {
        /// <summary>A <see cref="Stopwatch"/> timestamp: requests still queued then are dropped, not run.</summary>
        public long Deadline { get; set; } = long.MaxValue;

        public void Process(BgrImage frame, in FaceDetection face, FaceLandmarks result) => landmarker.Process(frame, face, result, stream, Deadline);
    }
}
