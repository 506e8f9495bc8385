using System.Diagnostics;
using FaceSwap.Faces;
using FaceSwap.Faces.Embedding;
using FaceSwap.Faces.Landmarks;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Swap.Evaluation;

/// <summary>One swap, measured on the swapped frame before any mark is applied.</summary>
public sealed record SwapMeasurement(string Source, string Target, float CosineToSource, float CosineToTarget, float LandmarkError, double SsimOutsideFace, double SwapMilliseconds)
{
    /// <summary>cos(output, source) − cos(output, target): how far the identity moved toward the source.</summary>
    public float Margin => CosineToSource - CosineToTarget;
}

public sealed record StillSequenceResult(double LandmarkStd, double LandmarkStdMax, double Jitter, double Flicker, int Detections, double MillisecondsPerFrame);

/// <summary>The quality harness behind <c>fsc eval</c> and the swap tests.</summary>
public static class SwapEvaluation
{
    /// <summary>A face of a photo as a swap source: the photo is its texture, its mesh the landmarks.</summary>
    public static SourceFace SourceFrom(Mat photo, Face face) => new(photo.Clone(), face.Landmarks.Mesh.Select(p => new Point2f(p.X, p.Y)).ToArray());

    /// <summary>
    /// Swaps <paramref name="source"/> onto every target face in turn (with the mesh swap, or <paramref name="neural"/>) (one at a time, on a fresh copy of the photo)
    /// and measures identity, landmark agreement (median over the 468 points, in inter-ocular distances) and SSIM
    /// outside the face oval dilated by 10 % of the face size.
    /// </summary>
    public static List<SwapMeasurement> Measure(FaceAnalyzer analyzer, string sourceName, SourceFace source, float[] sourceEmbedding,
        string targetName, Mat photo, IReadOnlyList<Face> targets, SwapOptions options, IFaceSwapper? neural = null)
    {
        var swapper = neural ?? new MeshSwapper(options);
        var results = new List<SwapMeasurement>();
        var landmarks = new FaceLandmarks();
        var embedding = new float[analyzer.Embedder.Dimension];
        foreach (var target in targets)
        {
            using var frame = photo.Clone();
            var watch = Stopwatch.StartNew();
            swapper.Swap(frame, source, target.Landmarks.Mesh);
            var swapMs = watch.Elapsed.TotalMilliseconds;

            // The output face, re-fitted from the target's detection: the same crop the target had.
            var image = BgrImage.Of(frame);
            analyzer.Landmarker.Process(image, target.Detection, landmarks);
            analyzer.Embedder.Embed(image, landmarks.Mesh, embedding);

            var iod = Distance(target.FivePoints[0], target.FivePoints[1]);
            var errors = landmarks.Mesh.Zip(target.Landmarks.Mesh, (a, b) => Distance(new Point2f(a.X, a.Y), new Point2f(b.X, b.Y))).Order().ToList();
            using var outside = OutsideFace(photo.Size(), target.Landmarks.Mesh);
            results.Add(new SwapMeasurement(sourceName, $"{targetName} {target.Detection.Box.X:F0},{target.Detection.Box.Y:F0}",
                Embedder.Cosine(embedding, sourceEmbedding), Embedder.Cosine(embedding, target.Embedding),
                errors[errors.Count / 2] / iod, Ssim.Mean(photo, frame, outside), swapMs));
        }
        return results;
    }

    /// <summary>Everything but the face oval dilated by 10 % of the face's size.</summary>
    public static Mat OutsideFace(Size size, Point3f[] mesh)
    {
        var mask = new Mat(size, MatType.CV_8UC1, Scalar.All(255));
        var oval = MeshTopology.Polygon(mesh, MeshTopology.FaceOval);
        var bounds = Cv2.BoundingRect(oval);
        using var face = new Mat(size, MatType.CV_8UC1, Scalar.All(0));
        Cv2.FillPoly(face, [oval], Scalar.All(255));
        var grow = Math.Max(1, Math.Max(bounds.Width, bounds.Height) / 10);
        using var kernel = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * grow + 1, 2 * grow + 1));
        Cv2.Dilate(face, face, kernel);
        mask.SetTo(Scalar.All(0), face);
        return mask;
    }

    /// <summary>
    /// One frame repeated <paramref name="frames"/> times with fresh Gaussian noise (σ grey levels), through the
    /// stream engine: landmark spread and jitter after the first 10 frames, and the flicker of the swapped region
    /// (face oval less the eye and mouth openings the swap keeps), as mean absolute frame difference.
    /// </summary>
    public static StillSequenceResult StillSequence(FaceAnalyzer analyzer, SourceFace source, Mat still, StreamEngineOptions options, double noiseSigma, int frames = 60, int seed = 1234,
        IFaceSwapper? neural = null)
    {
        var engine = new StreamSwapEngine(analyzer, source, options, swapper: neural);
        var meshes = new List<Point2f[]>();
        var outputs = new List<Mat>();
        var random = new RNG((ulong)seed);
        var detections = 0;
        using var region = new Mat(still.Size(), MatType.CV_8UC1, Scalar.All(0));
        var watch = new Stopwatch();
        try
        {
            for (var i = 0; i < frames; i++)
            {
                var frame = still.Clone();
                outputs.Add(frame);
                AddNoise(frame, ref random, noiseSigma);
                watch.Start();
                var result = engine.Process(frame);
                watch.Stop();
                if (result.Faces != 1 || result.Swapped != 1)
                    throw new InvalidOperationException($"frame {i}: {result.Faces} faces, {result.Swapped} swapped; the still sequence needs exactly one");
                if (result.Detected) detections++;
                var mesh = engine.Tracks[0].Landmarks.Mesh;
                meshes.Add(mesh.Select(p => new Point2f(p.X, p.Y)).ToArray());
                if (i == 0)
                {
                    Cv2.FillPoly(region, [MeshTopology.Polygon(mesh, MeshTopology.FaceOval)], Scalar.All(255));
                    Cv2.FillPoly(region, [MeshTopology.Polygon(mesh, MeshTopology.RightEye), MeshTopology.Polygon(mesh, MeshTopology.LeftEye), MeshTopology.Polygon(mesh, MeshTopology.MouthOpening)], Scalar.All(0));
                }
            }
            var settled = meshes.Skip(10).ToList();
            var spread = Enumerable.Range(0, settled[0].Length).Select(p =>
            {
                double mx = settled.Average(m => m[p].X), my = settled.Average(m => m[p].Y);
                return Math.Sqrt(settled.Average(m => (m[p].X - mx) * (m[p].X - mx) + (m[p].Y - my) * (m[p].Y - my)));
            }).ToList();
            var jitter = settled.Skip(1).Select((m, i) => m.Zip(settled[i], (a, b) => (double)Distance(a, b)).Average()).Average();
            var flicker = new List<double>();
            for (var i = 11; i < outputs.Count; i++)
            {
                using var a = outputs[i - 1].CvtColor(ColorConversionCodes.BGR2GRAY);
                using var b = outputs[i].CvtColor(ColorConversionCodes.BGR2GRAY);
                using var difference = new Mat();
                Cv2.Absdiff(a, b, difference);
                flicker.Add(Cv2.Mean(difference, region).Val0);
            }
            return new StillSequenceResult(spread.Average(), spread.Max(), jitter, flicker.Average(), detections, watch.Elapsed.TotalMilliseconds / frames);
        }
        finally
        {
            foreach (var output in outputs) output.Dispose();
        }
    }

    private static void AddNoise(Mat frame, ref RNG random, double sigma) // RNG is a struct: by value, every frame would get the same noise
    {
        if (sigma <= 0) return;
        using var noise = new Mat(frame.Size(), MatType.CV_16SC3);
        using var noisy = new Mat();
        random.Fill(noise, DistributionType.Normal, Scalar.All(0), Scalar.All(sigma));
        frame.ConvertTo(noisy, MatType.CV_16SC3);
        Cv2.Add(noisy, noise, noisy);
        noisy.ConvertTo(frame, MatType.CV_8UC3);
    }

    private static float Distance(Point2f a, Point2f b) => MathF.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y));
}
