using FaceSwap.Faces;
using FaceSwap.Faces.Alignment;
using FaceSwap.Faces.Detection;
using FaceSwap.Faces.Landmarks;
using FaceSwap.Swap.Tracking;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Swap;

public sealed record StreamEngineOptions
{
    /// <summary>Run the detector on every Nth frame; in between, each face is re-fitted from its own landmarks.</summary>
    public int DetectEvery { get; init; } = 5;
    /// <summary>A track whose FaceMesh presence falls below this is dropped, and the next frame detects again.</summary>
    public float MinPresence { get; init; } = 0.5f;
    /// <summary>A detection continues a track when their boxes overlap this much.</summary>
    public float MatchIou { get; init; } = 0.3f;
    public float FramesPerSecond { get; init; } = 30;
    /// <summary>One-Euro parameters for the landmarks: cutoff (Hz) at rest, and how fast it opens with speed.</summary>
    public float SmoothingMinCutoff { get; init; } = 1.0f;
    public float SmoothingBeta { get; init; } = 0.05f;
    public FaceSelection Selection { get; init; } = new();
    public SwapOptions Swap { get; init; } = new();
}

/// <param name="Enhanced">faces the enhancer restored this frame (0 without an enhancer, or between its every-k-th frames)</param>
/// <param name="Lost">a track was lost this frame: the next frame detects again</param>
public readonly record struct FrameResult(bool Detected, int Faces, int Swapped, int Enhanced = 0, bool Lost = false);

/// <summary>
/// The per-stream engine, the unit the cluster hosts: detect every N frames and track in between, smooth the
/// landmarks, select faces, and swap the source in. The source's mesh and texture are prepared once.
/// </summary>
public sealed class StreamSwapEngine
{
    private readonly FaceAnalyzer _analyzer;
    private readonly SourceFace _source;
    private readonly IFaceSwapper _swapper;
    private readonly IFaceDetector _detector;
    private readonly ILandmarkFitter _landmarks;
    private readonly List<FaceTrack> _tracks = [];
    private readonly List<FaceDetection> _detections = [];
    private int _frame;
    private int _nextTrackId;
    private bool _detectNext = true;

    private readonly CancellationToken _consent;
    private readonly Enhancement.FaceEnhancer? _enhancer;

    /// <param name="consent">cancelled when the source's consent is revoked or expires: from the next frame on, nothing is swapped in</param>
    /// <param name="enhancer">a bring-your-own face restorer run on each swapped face (every k-th frame); none: no enhancement</param>
    /// <param name="swapper">a bring-your-own neural swapper; none: the built-in mesh swap with the options' settings</param>
    /// <param name="detector">a bring-your-own detector (SCRFD); none: the analyser's BlazeFace</param>
    /// <param name="landmarks">where FaceMesh runs (a worker's batcher, shared by its streams); none: the analyser's landmarker</param>
    public StreamSwapEngine(FaceAnalyzer analyzer, SourceFace source, StreamEngineOptions? options = null, CancellationToken consent = default,
        Enhancement.FaceEnhancer? enhancer = null, IFaceSwapper? swapper = null, IFaceDetector? detector = null, ILandmarkFitter? landmarks = null)
    {
        _detector = detector ?? analyzer.Detector;
        _landmarks = landmarks ?? analyzer.Landmarker;
        _enhancer = enhancer;
        _analyzer = analyzer;
        _source = source;
        _consent = consent;
        Options = options ?? new StreamEngineOptions();
        _swapper = swapper ?? new MeshSwapper(Options.Swap);
    }

    public StreamEngineOptions Options { get; }

    /// <summary>What the enhancement stage does, in words, for stream stats and diagnostics.</summary>
    public string EnhancementStatus => _enhancer is null
        ? "off: no enhancer model (add one with 'fsc models add FILE --preset gfpgan_1.4')"
        : $"{_enhancer.Model.Name}, blend {_enhancer.Options.Blend:0.##}, every {_enhancer.Options.EveryNthFrame} frame(s)";
    public IReadOnlyList<FaceTrack> Tracks => _tracks;
    /// <summary>The tracks the last frame swapped a source onto.</summary>
    public IReadOnlyList<FaceTrack> SwappedTracks => _swapped;
    private readonly List<FaceTrack> _swapped = [];

    /// <summary>Whether the next frame is due for the detector: every Nth frame, after a lost track, or with no track at all.</summary>
    public bool DetectDue => _detectNext || _frame % Math.Max(1, Options.DetectEvery) == 0;

    /// <summary>Analyses <paramref name="frame"/> (running the detector when it is due), and swaps the selected faces in place.</summary>
    public FrameResult Process(Mat frame) => Process(frame, null, ownDetector: true);

    /// <summary>
    /// Like <see cref="Process(Mat)"/>, with the faces another node's detector found on this frame (the cluster's
    /// detect stage): <paramref name="detections"/> null means none was run, so the engine tracks what it has and
    /// stays due for detection until a frame brings some.
    /// </summary>
    public FrameResult Process(Mat frame, IReadOnlyList<FaceDetection>? detections) => Process(frame, detections, ownDetector: false);

    private FrameResult Process(Mat frame, IReadOnlyList<FaceDetection>? detections, bool ownDetector)
    {
        try
        {
            return Analyse(frame, detections, ownDetector);
        }
        catch
        {
            // A frame that failed part-way (a landmark request that expired, say) may have left the tracks half
            // re-fitted: the next frame starts from a fresh detection.
            _detectNext = true;
            throw;
        }
    }

    private FrameResult Analyse(Mat frame, IReadOnlyList<FaceDetection>? detections, bool ownDetector)
    {
        var image = BgrImage.Of(frame);
        var due = DetectDue;
        _frame++;
        var lost = false;
        var detect = ownDetector ? due : detections is not null;
        if (detect)
        {
            if (ownDetector)
            {
                _detector.Detect(image, _detections);
                detections = _detections;
            }
            Detect(image, detections!);
        }
        else lost = Track(image);
        // Due but not given detections: keep asking for them.
        _detectNext = lost || _tracks.Count == 0 || (due && !detect);

        var (swapped, enhanced) = (0, 0);
        _swapped.Clear();
        if (_consent.IsCancellationRequested) return new FrameResult(detect, _tracks.Count, 0, 0, lost);
        var enhance = _enhancer is not null && (_frame - 1) % _enhancer.Options.EveryNthFrame == 0;
        Span<Point2f> five = stackalloc Point2f[5];
        foreach (var (track, source) in Selected())
        {
            _swapper.Swap(frame, source, track.Landmarks.Mesh);
            _swapped.Add(track);
            swapped++;
            if (!enhance) continue;
            FaceSwap.Faces.Alignment.Aligner.FivePoints(track.Landmarks.Mesh, five);
            _enhancer!.Enhance(frame, five);
            enhanced++;
        }
        return new FrameResult(detect, _tracks.Count, swapped, enhanced, lost);
    }

    private void Detect(BgrImage image, IReadOnlyList<FaceDetection> detections)
    {
        var continued = new List<FaceTrack>();
        foreach (var detection in detections)
        {
            var track = _tracks.Where(t => !continued.Contains(t))
                .Select(t => (Track: t, Iou: BlazeFaceDecoder.Iou(MeshBox(t.Landmarks), detection.Box)))
                .Where(m => m.Iou >= Options.MatchIou).OrderByDescending(m => m.Iou).Select(m => m.Track).FirstOrDefault()
                ?? new FaceTrack(_nextTrackId++, Options.SmoothingMinCutoff, Options.SmoothingBeta);
            // A continued track keeps fitting from its own landmarks: re-fitting from the detector's box would
            // make the crop, and so the landmarks, jump every Nth frame.
            var crop = track.Age > 0 ? FromLandmarks(track.Landmarks) : detection;
            if (!Fit(image, track, crop)) continue;
            if (Options.Selection.NeedsEmbeddings) Embed(image, track);
            continued.Add(track);
        }
        _tracks.Clear();
        _tracks.AddRange(continued);
    }

    /// <summary>Re-fits every track from its own landmarks; true when one was lost (the next frame detects).</summary>
    private bool Track(BgrImage image)
    {
        var lost = false;
        for (var i = _tracks.Count - 1; i >= 0; i--)
            if (!Fit(image, _tracks[i], FromLandmarks(_tracks[i].Landmarks)))
            {
                _tracks.RemoveAt(i);
                lost = true;
            }
        return lost;
    }

    /// <summary>Runs FaceMesh for the track on <paramref name="crop"/>, and smooths the result; false when the face is gone.</summary>
    private bool Fit(BgrImage image, FaceTrack track, in FaceDetection crop)
    {
        var landmarks = track.Landmarks;
        _landmarks.Process(image, crop, landmarks);
        if (landmarks.Presence < Options.MinPresence) return false;
        var coordinates = track.Coordinates;
        for (var i = 0; i < FaceLandmarks.Count; i++)
        {
            coordinates[3 * i] = landmarks.Mesh[i].X;
            coordinates[3 * i + 1] = landmarks.Mesh[i].Y;
            coordinates[3 * i + 2] = landmarks.Mesh[i].Z;
        }
        track.Filter.Update(coordinates, 1 / Options.FramesPerSecond);
        for (var i = 0; i < FaceLandmarks.Count; i++)
            landmarks.Mesh[i] = new Point3f(coordinates[3 * i], coordinates[3 * i + 1], coordinates[3 * i + 2]);
        track.Age++;
        return true;
    }

    private void Embed(BgrImage image, FaceTrack track)
    {
        track.Embedding ??= new float[_analyzer.Embedder.Dimension];
        _analyzer.Embedder.Embed(image, track.Landmarks.Mesh, track.Embedding);
    }

    /// <summary>The tracks to swap this frame, each with the source it gets.</summary>
    private IEnumerable<(FaceTrack Track, SourceFace Source)> Selected()
    {
        var selection = Options.Selection;
        switch (selection.Mode)
        {
            case SelectionMode.Largest:
                return _tracks.OrderByDescending(t => MeshBox(t.Landmarks).Width).Take(1).Select(t => (t, _source));
            case SelectionMode.Leftmost:
                return _tracks.OrderBy(t => MeshBox(t.Landmarks).X).Take(1).Select(t => (t, _source));
            case SelectionMode.Reference:
                return _tracks.Where(t => t.Embedding is not null && selection.ReferenceEmbedding is not null
                    && FaceSwap.Faces.Embedding.Embedder.Cosine(t.Embedding, selection.ReferenceEmbedding) >= selection.Threshold).Select(t => (t, _source));
            case SelectionMode.Mapping:
                var mapped = new List<(FaceTrack, SourceFace)>();
                foreach (var track in _tracks.Where(t => t.Embedding is not null))
                {
                    var best = (selection.Mappings ?? []).Select(m => (Mapping: m, Cosine: FaceSwap.Faces.Embedding.Embedder.Cosine(track.Embedding!, m.TargetReference)))
                        .Where(m => m.Cosine >= selection.Threshold).OrderByDescending(m => m.Cosine).FirstOrDefault();
                    if (best.Mapping is not null) mapped.Add((track, best.Mapping.Source));
                }
                return mapped;
            default:
                return _tracks.Select(t => (t, _source));
        }
    }

    /// <summary>The box around the mesh, with the eye centres as keypoints: the crop FaceMesh gets on a tracked frame (MediaPipe re-fits the same way).</summary>
    private static FaceDetection FromLandmarks(FaceLandmarks landmarks)
    {
        var box = MeshBox(landmarks);
        // The landmark box spans brow to chin and cheek to cheek, about 1.2 times the detector's box.
        const float DetectorScale = 1 / 1.2f;
        var centre = new Point2f(box.X + box.Width / 2, box.Y + box.Height / 2);
        var side = Math.Max(box.Width, box.Height) * DetectorScale;
        Span<Point2f> five = stackalloc Point2f[5];
        Aligner.FivePoints(landmarks.Mesh, five);
        var detection = new FaceDetection { Box = new Rect2f(centre.X - side / 2, centre.Y - side / 2, side, side), Score = landmarks.Presence };
        detection.Keypoints[FaceKeypoints.RightEye] = five[0];
        detection.Keypoints[FaceKeypoints.LeftEye] = five[1];
        return detection;
    }

    /// <summary>The box around a track's mesh, in frame pixels.</summary>
    public static Rect2f MeshBox(FaceLandmarks landmarks)
    {
        float left = float.MaxValue, top = float.MaxValue, right = float.MinValue, bottom = float.MinValue;
        foreach (var p in landmarks.Mesh)
        {
            left = MathF.Min(left, p.X); right = MathF.Max(right, p.X);
            top = MathF.Min(top, p.Y); bottom = MathF.Max(bottom, p.Y);
        }
        return new Rect2f(left, top, right - left, bottom - top);
    }
}
