using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Faces.Detection;

public sealed record DetectorOptions
{
    /// <summary>MediaPipe's face_detection_back graph keeps scores above 0.52; we round to 0.5.</summary>
    public float MinScore { get; init; } = 0.5f;

    /// <summary>MediaPipe's min_suppression_threshold for BlazeFace.</summary>
    public float IouThreshold { get; init; } = 0.3f;

    /// <summary>
    /// Side of the square tiles (frame pixels) of the extra pass that finds small faces; 0 = one full-frame pass
    /// only. A frame is tiled only when its longer side exceeds 1.5 tiles.
    /// </summary>
    public int TileSize { get; init; }

    /// <summary>Overlap of neighbouring tiles, as a fraction of the tile: a face up to this size lies whole in some tile.</summary>
    public float TileOverlap { get; init; } = 0.25f;

    /// <summary>For photos: 512-pixel tiles find faces down to about 20 px between the eyes in a 1920-pixel group photo.</summary>
    public static DetectorOptions Photos => new() { TileSize = 512 };
}

/// <summary>
/// Finds faces in a frame with BlazeFace: one letterboxed full-frame pass, plus (when configured) a batch of
/// overlapping tiles for small faces, merged by weighted NMS. Results are in frame pixels. Buffers are kept per
/// batch size, so a steady stream of same-sized frames allocates nothing.
/// </summary>
public sealed class Detector : IFaceDetector, IDisposable
{
    public const string ModelName = "blazeface-back";
    private const int Size = BlazeFaceDecoder.InputSize;
    private const float Far = 1e9f; // a bound no box reaches (finite, so Rect2f's Right and Bottom stay defined)

    private readonly ModelSession _model;
    private readonly DetectorOptions _options;
    private readonly Dictionary<int, BoundInference> _bindings = [];
    private readonly List<FaceDetection> _candidates = new(64);
    private readonly List<bool> _taken = new(64);
    private readonly List<Rect> _tiles = new(64);

    public Detector(ModelSession model, DetectorOptions? options = null)
    {
        if (model.Manifest.Preset != ModelName)
            throw new ArgumentException($"the detector runs preset '{ModelName}', got model '{model.Name}' (preset '{model.Manifest.Preset}')");
        _model = model;
        _options = options ?? new DetectorOptions();
    }

    public ModelSession Model => _model;

    public List<FaceDetection> Detect(BgrImage frame)
    {
        var faces = new List<FaceDetection>();
        Detect(frame, faces);
        return faces;
    }

    /// <summary>Replaces the contents of <paramref name="faces"/> with the faces in <paramref name="frame"/>, best first.</summary>
    public void Detect(BgrImage frame, List<FaceDetection> faces)
    {
        faces.Clear();
        _candidates.Clear();
        var normalize = _model.Manifest.Inputs[0].Normalize!;

        var letterbox = Letterbox(frame.Width, frame.Height);
        var single = Binding(1);
        AffineSampler.SampleRgb(frame, letterbox, single.Input(), Size, Size, normalize.Scale, normalize.Offset);
        single.Run();
        Decode(single, 0, letterbox, null);

        PlanTiles(frame.Width, frame.Height);
        if (_tiles.Count > 0)
        {
            var batch = Binding(_tiles.Count);
            var input = batch.Input().AsSpan();
            for (var t = 0; t < _tiles.Count; t++)
            {
                var tile = _tiles[t];
                AffineSampler.SampleRgb(frame, TileToFrame(tile), input.Slice(t * Size * Size * 3, Size * Size * 3), Size, Size, normalize.Scale, normalize.Offset);
            }
            batch.Run();
            for (var t = 0; t < _tiles.Count; t++)
            {
                var tile = _tiles[t];
                // Edges shared with the frame do not cut faces; inner edges do.
                var inside = Rect2f.FromLTRB(
                    tile.Left == 0 ? -Far : tile.Left, tile.Top == 0 ? -Far : tile.Top,
                    tile.Right >= frame.Width ? Far : tile.Right, tile.Bottom >= frame.Height ? Far : tile.Bottom);
                Decode(batch, t, TileToFrame(tile), inside);
            }
        }
        BlazeFaceDecoder.WeightedNonMaxSuppression(_candidates, _options.IouThreshold, faces, _taken);
    }

    /// <summary>The full frame, letterboxed: model pixel (x, y) is frame pixel ((x - pad) / scale).</summary>
    internal static Affine2D Letterbox(int width, int height)
    {
        var scale = Math.Min((float)Size / width, (float)Size / height);
        return Affine2D.ScaleTranslate(1 / scale, -(Size - width * scale) / 2 / scale, -(Size - height * scale) / 2 / scale);
    }

    private static Affine2D TileToFrame(Rect tile) => Affine2D.ScaleTranslate((float)tile.Width / Size, tile.X, tile.Y);

    private void Decode(BoundInference outputs, int item, Affine2D toFrame, Rect2f? keepInside) =>
        BlazeFaceDecoder.AddCandidates(
            outputs["Identity"].AsSpan(item * BlazeFaceDecoder.Stride16Anchors, BlazeFaceDecoder.Stride16Anchors),
            outputs["Identity_1"].AsSpan(item * BlazeFaceDecoder.Stride32Anchors, BlazeFaceDecoder.Stride32Anchors),
            outputs["Identity_2"].AsSpan(item * BlazeFaceDecoder.Stride16Anchors * BlazeFaceDecoder.Regressors, BlazeFaceDecoder.Stride16Anchors * BlazeFaceDecoder.Regressors),
            outputs["Identity_3"].AsSpan(item * BlazeFaceDecoder.Stride32Anchors * BlazeFaceDecoder.Regressors, BlazeFaceDecoder.Stride32Anchors * BlazeFaceDecoder.Regressors),
            toFrame, _options.MinScore, keepInside, _candidates);

    /// <summary>Square tiles spread evenly over the frame with at least the configured overlap.</summary>
    private void PlanTiles(int width, int height)
    {
        _tiles.Clear();
        var size = _options.TileSize;
        if (size <= 0 || Math.Max(width, height) <= size * 1.5f) return;
        var stride = size * (1 - _options.TileOverlap);
        int across = width <= size ? 1 : (int)Math.Ceiling((width - size) / stride) + 1;
        int down = height <= size ? 1 : (int)Math.Ceiling((height - size) / stride) + 1;
        for (var row = 0; row < down; row++)
            for (var column = 0; column < across; column++)
            {
                var x = across == 1 ? 0 : (int)Math.Round(column * (double)(width - size) / (across - 1));
                var y = down == 1 ? 0 : (int)Math.Round(row * (double)(height - size) / (down - 1));
                _tiles.Add(new Rect(x, y, size, size));
            }
    }

    /// <summary>How many tiles a frame of this size is cut into (0 when only the full-frame pass runs).</summary>
    public int TileCount(int width, int height)
    {
        PlanTiles(width, height);
        return _tiles.Count;
    }

    private BoundInference Binding(int batch)
    {
        if (!_bindings.TryGetValue(batch, out var binding))
            _bindings[batch] = binding = _model.Bind(batch);
        return binding;
    }

    public void Dispose()
    {
        foreach (var binding in _bindings.Values) binding.Dispose();
    }
}
