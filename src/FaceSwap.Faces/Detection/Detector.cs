using FaceSwap.Inference.Models;
using FaceSwap.Vision;
using Microsoft.ML.OnnxRuntime;
using OpenCvSharp;

namespace FaceSwap.Faces.Detection;

public sealed record DetectorOptions
{
    /// <summary>MediaPipe's face_detection_back graph uses 0.52 as min_score_thresh; we round to 0.5.</summary>
    public float MinScore { get; init; } = 0.5f;
    /// <summary>MediaPipe's min_suppression_threshold for BlazeFace.</summary>
    public float IouThreshold { get; init; } = 0.3f;
}

/// <summary>
/// Finds faces in a frame with BlazeFace (back-camera model of the default pack): one letterboxed 256×256 pass,
/// boxes and keypoints mapped back to frame pixels. Input buffers are allocated once and reused.
/// </summary>
public sealed class Detector : IDisposable
{
    public const string ModelName = "blazeface-back";

    private readonly InferenceSession _session;
    private readonly DetectorOptions _options;
    private readonly Normalization _normalize;
    private readonly string _inputName;
    private readonly float[] _input = new float[BlazeFaceDecoder.InputSize * BlazeFaceDecoder.InputSize * 3];
    private readonly Mat _letterboxed = new(BlazeFaceDecoder.InputSize, BlazeFaceDecoder.InputSize, MatType.CV_8UC3);

    public Detector(ModelStore store, DetectorOptions? options = null)
    {
        var manifest = store.Get(ModelName);
        _normalize = manifest.Inputs[0].Normalize ?? throw new ModelStoreException(store.ManifestPath(ModelName), "manifest gives no input normalisation");
        _inputName = manifest.Inputs[0].Name;
        _options = options ?? new DetectorOptions();
        _session = new InferenceSession(store.VerifiedPath(manifest));
    }

    public IReadOnlyList<FaceDetection> Detect(Mat bgr)
    {
        var letterbox = Letterbox.For(bgr.Size(), BlazeFaceDecoder.InputSize);
        letterbox.Apply(bgr, _letterboxed);
        NhwcTensor.WriteRgb(_letterboxed, _input, _normalize.Scale, _normalize.Offset);
        using var input = OrtValue.CreateTensorValueFromMemory(_input, [1, BlazeFaceDecoder.InputSize, BlazeFaceDecoder.InputSize, 3]);
        using var outputs = _session.Run(new RunOptions(), [_inputName], [input], ["Identity", "Identity_1", "Identity_2", "Identity_3"]);
        var faces = BlazeFaceDecoder.Decode(
            outputs[0].GetTensorDataAsSpan<float>(), outputs[1].GetTensorDataAsSpan<float>(),
            outputs[2].GetTensorDataAsSpan<float>(), outputs[3].GetTensorDataAsSpan<float>(),
            _options.MinScore, _options.IouThreshold);
        return faces.Select(f => ToFrame(f, letterbox)).ToList();
    }

    private static FaceDetection ToFrame(FaceDetection face, Letterbox letterbox)
    {
        var topLeft = letterbox.ToImage(face.Box.Left, face.Box.Top);
        var bottomRight = letterbox.ToImage(face.Box.Right, face.Box.Bottom);
        return new FaceDetection(
            new Rect2f(topLeft.X, topLeft.Y, bottomRight.X - topLeft.X, bottomRight.Y - topLeft.Y),
            face.Score,
            face.Keypoints.Select(k => letterbox.ToImage(k.X, k.Y)).ToArray());
    }

    public void Dispose()
    {
        _session.Dispose();
        _letterboxed.Dispose();
    }
}
