using System.Buffers;
using FaceSwap.Inference.Batching;
using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Faces.Detection;

/// <summary>
/// BlazeFace for many streams at once: each caller letterboxes its own frame on its own thread, the model's
/// batcher runs the frames of all streams waiting as one batch, and each caller decodes its own faces. The full-frame
/// pass of <see cref="Detector"/>; small-face tiles are for photos, not streams.
/// </summary>
public sealed class BatchedDetector : IDisposable
{
    private const int Size = BlazeFaceDecoder.InputSize;
    private const int InputLength = Size * Size * 3;
    private static readonly string[] Outputs = ["Identity", "Identity_1", "Identity_2", "Identity_3"];
    private static readonly int[] OutputLengths =
        [BlazeFaceDecoder.Stride16Anchors, BlazeFaceDecoder.Stride32Anchors,
         BlazeFaceDecoder.Stride16Anchors * BlazeFaceDecoder.Regressors, BlazeFaceDecoder.Stride32Anchors * BlazeFaceDecoder.Regressors];

    private readonly ModelSession _model;
    private readonly DetectorOptions _options;
    // Only the thread running a batch touches these, one at a time (the batcher's, or a lone caller's).
    private readonly Dictionary<int, BoundInference> _bindings = [];

    public BatchedDetector(ModelSession model, DetectorOptions options, BatchingOptions batching, ILogger logger)
    {
        if (model.Manifest.Preset != Detector.ModelName)
            throw new ArgumentException($"the detector runs preset '{Detector.ModelName}', got model '{model.Name}' (preset '{model.Manifest.Preset}')");
        if (options.TileSize > 0)
            throw new ArgumentException($"the batched detector runs the full-frame pass only; tile size {options.TileSize} is for photos (Detector)");
        _model = model;
        _options = options;
        Batcher = new BatchingExecutor<float[], float[][]>(model.Name, batching, Run, logger);
    }

    public BatchingExecutor<float[], float[][]> Batcher { get; }

    /// <summary>Replaces <paramref name="faces"/> with the faces in <paramref name="frame"/>, best first; throws <see cref="BudgetExpiredException"/> when <paramref name="deadline"/> passes in the queue.</summary>
    public void Detect(BgrImage frame, List<FaceDetection> faces, string stream, long deadline)
    {
        faces.Clear();
        var letterbox = Detector.Letterbox(frame.Width, frame.Height);
        var normalize = _model.Manifest.Inputs[0].Normalize!;
        var input = ArrayPool<float>.Shared.Rent(InputLength);
        float[][] outputs;
        try
        {
            AffineSampler.SampleRgb(frame, letterbox, input.AsSpan(0, InputLength), Size, Size, normalize.Scale, normalize.Offset);
            outputs = Batcher.Run(input, stream, deadline);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
        }
        var candidates = new List<FaceDetection>();
        BlazeFaceDecoder.AddCandidates(outputs[0], outputs[1], outputs[2], outputs[3], letterbox, _options.MinScore, null, candidates);
        BlazeFaceDecoder.WeightedNonMaxSuppression(candidates, _options.IouThreshold, faces, []);
    }

    private IReadOnlyList<float[][]> Run(IReadOnlyList<float[]> frames)
    {
        if (!_bindings.TryGetValue(frames.Count, out var bound))
            _bindings[frames.Count] = bound = _model.Bind(frames.Count);
        var input = bound.Input().AsSpan();
        for (var i = 0; i < frames.Count; i++) frames[i].AsSpan(0, InputLength).CopyTo(input.Slice(i * InputLength, InputLength));
        bound.Run();
        var results = new float[frames.Count][][];
        for (var i = 0; i < frames.Count; i++)
            results[i] = [.. Outputs.Select((name, o) => bound[name].AsSpan(i * OutputLengths[o], OutputLengths[o]).ToArray())];
        return results;
    }

    public void Dispose()
    {
        Batcher.Dispose();
        foreach (var bound in _bindings.Values) bound.Dispose();
    }
}
