using FaceSwap.Faces.Alignment;
using FaceSwap.Faces.Detection;
using FaceSwap.Faces.Embedding;
using FaceSwap.Faces.Landmarks;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;
using Microsoft.Extensions.Logging;
using OpenCvSharp;

namespace FaceSwap.Faces;

/// <summary>Detector → Landmarker → Aligner → Embedder over one frame: the face-analysis engine, free of Akka. Owns its stages and their sessions.</summary>
public sealed class FaceAnalyzer : IDisposable
{
    private readonly List<FaceDetection> _detections = [];

    public FaceAnalyzer(Detector detector, Landmarker landmarker, Embedder embedder)
    {
        Detector = detector;
        Landmarker = landmarker;
        Embedder = embedder;
    }

    public Detector Detector { get; }
    public Landmarker Landmarker { get; }
    public Embedder Embedder { get; }

    /// <summary>Faces whose FaceMesh presence falls below this are dropped: the detector's box held no face.</summary>
    public float MinPresence { get; init; } = 0.5f;

    public static FaceAnalyzer Open(ModelStore store, InferenceOptions inference, DetectorOptions detector, ILogger logger) =>
        new(new Detector(ModelSession.Open(store, Detector.ModelName, inference, logger), detector),
            new Landmarker(ModelSession.Open(store, Landmarker.ModelName, inference, logger)),
            new Embedder(ModelSession.Open(store, Embedder.ModelName, inference, logger)));

    public IEnumerable<ModelSession> Sessions => [Detector.Model, Landmarker.Model, Embedder.Model];

    /// <summary>Each model and the execution provider it really runs on.</summary>
    public IEnumerable<(string Model, ExecutionProvider Provider)> Providers => Sessions.Select(s => (s.Name, s.Provider));

    /// <summary>The manifests of the models it runs (name, file hash), for provenance records.</summary>
    public IEnumerable<FaceSwap.Inference.Models.ModelManifest> Models => Sessions.Select(s => s.Manifest);

    public List<Face> Analyze(BgrImage frame)
    {
        Detector.Detect(frame, _detections);
        var faces = new List<Face>(_detections.Count);
        Span<Point2f> five = stackalloc Point2f[5];
        foreach (var detection in _detections)
        {
            var landmarks = new FaceLandmarks();
            Landmarker.Process(frame, detection, landmarks);
            if (landmarks.Presence < MinPresence) continue;
            Aligner.FivePoints(landmarks.Mesh, five);
            var toTemplate = Aligner.Similarity(five, Embedder.Template);
            var embedding = new float[Embedder.Dimension];
            Embedder.Embed(frame, toTemplate, embedding);
            faces.Add(new Face(detection, landmarks, five.ToArray(), toTemplate, embedding));
        }
        return faces;
    }

    public void Dispose()
    {
        Detector.Dispose();
        Landmarker.Dispose();
        Embedder.Dispose();
        Detector.Model.Dispose();
        Landmarker.Model.Dispose();
        Embedder.Model.Dispose();
    }
}
