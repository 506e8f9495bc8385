using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OpenCvSharp;

namespace FaceSwap.Faces.Detection;

/// <summary>
/// SCRFD (a bring-your-own det_10g, preset scrfd_10g) as the alternative detector, run as insightface's scrfd.py runs
/// it: the frame resized into the top-left of a black 640×640 square, (x − 127.5)/128 RGB NCHW, outputs read by
/// position and decoded by <see cref="ScrfdDecoder"/>.
/// </summary>
public sealed class ScrfdDetector(ModelSession model, float scoreThreshold = ScrfdDecoder.ScoreThreshold, float nmsThreshold = ScrfdDecoder.NmsThreshold)
    : IFaceDetector
{
    public const string PresetName = "scrfd_10g";
    private const int Size = ScrfdDecoder.InputSize;
    private readonly ModelSession _model = model.Manifest.Preset == PresetName ? model
        : throw new ArgumentException($"the SCRFD detector runs preset '{PresetName}', got model '{model.Name}' (preset '{model.Manifest.Preset}')");

    public List<ScrfdFace> Detect(Mat frame)
    {
        var input = new DenseTensor<float>([1, 3, Size, Size]);
        var letterbox = Preprocess(frame, input.Buffer.Span);
        using var results = _model.Session.Run([NamedOnnxValue.CreateFromTensor(_model.Manifest.Inputs[0].Name, input)]);
        var outputs = results.Select(r => r.AsTensor<float>().ToArray()).ToList();
        return ScrfdDecoder.Decode(outputs, letterbox, scoreThreshold, nmsThreshold);
    }

    /// <summary>
    /// As the stream engine's detector: SCRFD's box and its eyes, nose and mouth centre (between the corners) as a
    /// <see cref="FaceDetection"/>. SCRFD has no ear points; they stay at the origin, and nothing downstream reads them.
    /// </summary>
    public void Detect(BgrImage frame, List<FaceDetection> faces)
    {
        faces.Clear();
        using var mat = Mat.FromPixelData(frame.Height, frame.Width, MatType.CV_8UC3, frame.Data, frame.Stride);
        foreach (var face in Detect(mat))
        {
            var detection = new FaceDetection { Box = face.Box, Score = face.Score };
            detection.Keypoints[FaceKeypoints.RightEye] = face.Points[0];
            detection.Keypoints[FaceKeypoints.LeftEye] = face.Points[1];
            detection.Keypoints[FaceKeypoints.Nose] = face.Points[2];
            detection.Keypoints[FaceKeypoints.Mouth] = new Point2f((face.Points[3].X + face.Points[4].X) / 2, (face.Points[3].Y + face.Points[4].Y) / 2);
            faces.Add(detection);
        }
    }

    /// <summary>Fills the 1×3×640×640 input from an 8-bit BGR frame and says where the frame went.</summary>
    public static ScrfdLetterbox Preprocess(Mat frame, Span<float> nchw)
    {
        if (frame.Type() != MatType.CV_8UC3) throw new ArgumentException($"expected an 8-bit BGR frame, got {frame.Type()}", nameof(frame));
        var letterbox = ScrfdLetterbox.For(frame.Width, frame.Height, Size);
        using var square = new Mat(Size, Size, MatType.CV_8UC3, Scalar.All(0));
        using (var region = square[new Rect(0, 0, letterbox.Width, letterbox.Height)])
            Cv2.Resize(frame, region, new OpenCvSharp.Size(letterbox.Width, letterbox.Height));
        NchwPixels.FromBgr(square, nchw, 1 / 128f, -127.5f / 128f);
        return letterbox;
    }
}
