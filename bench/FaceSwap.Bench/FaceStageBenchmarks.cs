using BenchmarkDotNet.Attributes;
using FaceSwap.Faces.Alignment;
using FaceSwap.Faces.Detection;
using FaceSwap.Faces.Embedding;
using FaceSwap.Faces.Landmarks;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap.Evaluation;
using FaceSwap.Vision;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;

namespace FaceSwap.Bench;

/// <summary>
/// Per-stage CPU cost of face analysis on a 640×480 frame with one face (scikit-image's astronaut, letterboxed),
/// each model on one thread, buffers reused as a stream reuses them; plus the tiled photo pass on a 1920-px photo.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PercentileConfig))]
public class FaceStageBenchmarks
{
    private Mat _frameMat = null!, _photoMat = null!;
    private BgrImage _frame, _photo;
    private ModelSession _detectorModel = null!, _landmarkModel = null!, _embedderModel = null!;
    private Detector _detector = null!, _tiledDetector = null!;
    private Landmarker _landmarker = null!;
    private Embedder _embedder = null!;
    private readonly List<FaceDetection> _faces = new(16);
    private readonly FaceLandmarks _landmarks = new();
    private readonly Point2f[] _five = new Point2f[5];
    private float[] _embedding = null!;
    private Affine2D _alignment;

    [GlobalSetup]
    public void Setup()
    {
        var store = new ModelStore(RepositoryPaths.ModelStore);
        DefaultPackBuilder.Build(RepositoryPaths.NodeModules, store);
        var options = new InferenceOptions { IntraOpThreads = 1 };
        _detectorModel = ModelSession.Open(store, Detector.ModelName, options, NullLogger.Instance);
        _landmarkModel = ModelSession.Open(store, Landmarker.ModelName, options, NullLogger.Instance);
        _embedderModel = ModelSession.Open(store, Embedder.ModelName, options, NullLogger.Instance);
        _detector = new Detector(_detectorModel);
        _tiledDetector = new Detector(_detectorModel, DetectorOptions.Photos);
        _landmarker = new Landmarker(_landmarkModel);
        _embedder = new Embedder(_embedderModel);
        _embedding = new float[_embedder.Dimension];

        _frameMat = StillFrames.Astronaut640x480();
        _frame = BgrImage.Of(_frameMat);
        _photoMat = ImageFile.ReadBgr(Path.Combine(RepositoryPaths.SamplePhotos, "sample5.jpg"));
        _photo = BgrImage.Of(_photoMat);

        _detector.Detect(_frame, _faces);
        if (_faces.Count != 1) throw new InvalidOperationException($"the benchmark frame should hold one face, the detector found {_faces.Count}");
        Landmarks();
        Align();
        Embed();
    }

    [Benchmark(Description = "detect (640x480, one pass)")]
    public void Detect() => _detector.Detect(_frame, _faces);

    [Benchmark(Description = "landmarks (468 points)")]
    public void Landmarks() => _landmarker.Process(_frame, _faces[0], _landmarks);

    [Benchmark(Description = "align (5 points, similarity)")]
    public void Align()
    {
        Aligner.FivePoints(_landmarks.Mesh, _five);
        _alignment = Aligner.Similarity(_five, Embedder.Template);
    }

    [Benchmark(Description = "embed (MobileFace, flip-averaged, batch 2)")]
    public void Embed() => _embedder.Embed(_frame, _alignment, _embedding);

    [Benchmark(Description = "detect + landmarks")]
    public void DetectAndLandmarks()
    {
        _detector.Detect(_frame, _faces);
        _landmarker.Process(_frame, _faces[0], _landmarks);
    }

    [Benchmark(Description = "detect 1920x1398 photo, 15 tiles + full pass")]
    public void DetectTiledPhoto() => _tiledDetector.Detect(_photo, _faces);

    [GlobalCleanup]
    public void Cleanup()
    {
        _detector.Dispose();
        _tiledDetector.Dispose();
        _landmarker.Dispose();
        _embedder.Dispose();
        _detectorModel.Dispose();
        _landmarkModel.Dispose();
        _embedderModel.Dispose();
        _frameMat.Dispose();
        _photoMat.Dispose();
    }
}
