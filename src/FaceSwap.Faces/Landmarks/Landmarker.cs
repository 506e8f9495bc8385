using FaceSwap.Faces.Detection;
using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Faces.Landmarks;

/// <summary>
/// FaceMesh on the detector's face: a square crop 1.5× the box, turned so the eyes are level (as MediaPipe's
/// face_landmark graph prepares it), 468 points mapped back to the frame.
/// </summary>
public sealed class Landmarker : ILandmarkFitter, IDisposable
{
    public const string ModelName = "facemesh";
    public const int Size = 192;
    /// <summary>MediaPipe face_landmark: RectTransformationCalculator scale_x = scale_y = 1.5, square_long.</summary>
    public const float CropScale = 1.5f;

    private readonly ModelSession _model;
    private readonly BoundInference _bound;

    public Landmarker(ModelSession model)
    {
        if (model.Manifest.Preset != ModelName)
            throw new ArgumentException($"the landmarker runs preset '{ModelName}', got model '{model.Name}' (preset '{model.Manifest.Preset}')");
        _model = model;
        _bound = model.Bind();
    }

    public ModelSession Model => _model;

    /// <summary>The crop FaceMesh sees for <paramref name="face"/>: model pixel → frame pixel.</summary>
    public static Affine2D CropFor(in FaceDetection face)
    {
        var box = face.Box;
        var side = CropScale * Math.Max(box.Width, box.Height);
        var right = face.Keypoints[FaceKeypoints.RightEye];
        var left = face.Keypoints[FaceKeypoints.LeftEye];
        var angle = MathF.Atan2(left.Y - right.Y, left.X - right.X); // 0 when the eyes are level
        var turn = Affine2D.Similarity(side / Size, angle, 0, 0);
        var middle = turn.Apply(Size / 2f, Size / 2f);
        return turn with { Tx = box.X + box.Width / 2 - middle.X, Ty = box.Y + box.Height / 2 - middle.Y };
    }

    public void Process(BgrImage frame, in FaceDetection face, FaceLandmarks result)
    {
        var crop = CropFor(face);
        Sample(_model, frame, crop, _bound.Input());
        _bound.Run();
        MapBack(_bound[MeshOutput], _bound[PresenceOutput][0], crop, result);
    }

    /// <summary>FaceMesh's outputs: 468 × (x, y, z) in crop pixels, and the face-presence score.</summary>
    internal const string MeshOutput = "Identity_2", PresenceOutput = "Identity_1";

    /// <summary>The model's input for <paramref name="crop"/>: 192×192 RGB, normalised as its manifest says.</summary>
    internal static void Sample(ModelSession model, BgrImage frame, Affine2D crop, Span<float> input)
    {
        var normalize = model.Manifest.Inputs[0].Normalize!;
        AffineSampler.SampleRgb(frame, crop, input, Size, Size, normalize.Scale, normalize.Offset);
    }

    /// <summary>The model's points (crop pixels) mapped to frame pixels; z in the same scale.</summary>
    internal static void MapBack(ReadOnlySpan<float> mesh, float presence, Affine2D crop, FaceLandmarks result)
    {
        var depthScale = crop.Scale;
        for (var i = 0; i < FaceLandmarks.Count; i++)
        {
            var p = crop.Apply(mesh[3 * i], mesh[3 * i + 1]);
            result.Mesh[i] = new Point3f(p.X, p.Y, mesh[3 * i + 2] * depthScale);
        }
        result.Presence = presence;
        result.CropToFrame = crop;
    }

    public void Dispose() => _bound.Dispose();
}
