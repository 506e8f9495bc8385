using FaceSwap.Faces;
using FaceSwap.Faces.Alignment;
using FaceSwap.Vision;
using OpenCvSharp;

namespace FaceSwap.Swap;

/// <summary>
/// Builds a face that is nobody's: every near-frontal face of the given photos is aligned to a common frame,
/// their meshes averaged, and each face's texture warped onto the mean mesh and averaged pixel by pixel.
/// </summary>
public static class AverageFaceBuilder
{
    public const int Size = 512;

    /// <summary>Faces turned further than this (nose off the eyes' midpoint, in inter-ocular distances) are left out: their far side is hidden.</summary>
    public const float MaxTurn = 0.25f;

    public sealed record Result(SourceFace Face, int FacesUsed, int FacesSkipped);

    public static Result Build(FaceAnalyzer analyzer, IEnumerable<string> photos, Action<string>? progress = null)
    {
        // The ArcFace template scaled so a whole face with forehead and chin fits the canvas.
        var template = Aligner.ArcFace112.Select(p => new Point2f((p.X - 56) * Size / 112f * 0.55f + Size / 2f, (p.Y - 72) * Size / 112f * 0.55f + Size * 0.55f)).ToArray();
        var faces = new List<(Mat Photo, Point2f[] Mesh, Point2f[] Canonical)>();
        var skipped = 0;
        try
        {
            foreach (var path in photos)
            {
                var photo = ImageFile.ReadBgr(path);
                var found = analyzer.Analyze(BgrImage.Of(photo));
                var used = 0;
                foreach (var face in found)
                {
                    if (Turn(face) > MaxTurn) { skipped++; continue; }
                    var toCanonical = Aligner.Similarity(face.FivePoints, template);
                    var mesh = face.Landmarks.Mesh.Select(p => new Point2f(p.X, p.Y)).ToArray();
                    faces.Add((photo, mesh, mesh.Select(toCanonical.Apply).ToArray()));
                    used++;
                }
                if (used == 0) photo.Dispose();
                progress?.Invoke($"{Path.GetFileName(path)}: {used} of {found.Count} face(s) used");
            }
            if (faces.Count == 0) throw new InvalidOperationException("no near-frontal face found in the photos: nothing to average");

            var meanMesh = new Point2f[faces[0].Canonical.Length];
            for (var i = 0; i < meanMesh.Length; i++)
                meanMesh[i] = new Point2f(faces.Average(f => f.Canonical[i].X), faces.Average(f => f.Canonical[i].Y));

            using var sum = new Mat(Size, Size, MatType.CV_32FC3, Scalar.All(0));
            using var count = new Mat(Size, Size, MatType.CV_32FC1, Scalar.All(0));
            using var warped = new Mat(Size, Size, MatType.CV_8UC3);
            using var coverage = new Mat(Size, Size, MatType.CV_8UC1);
            using var warpedF = new Mat();
            using var coverageF = new Mat();
            foreach (var (photo, mesh, _) in faces)
            {
                warped.SetTo(Scalar.All(0));
                coverage.SetTo(Scalar.All(0));
                TriangleWarper.Warp(photo, mesh, warped, meanMesh, coverage);
                warped.ConvertTo(warpedF, MatType.CV_32FC3);
                Cv2.Add(sum, warpedF, sum, coverage);
                coverage.ConvertTo(coverageF, MatType.CV_32FC1, 1 / 255.0);
                Cv2.Add(count, coverageF, count);
            }
            // Pixels no face reached stay black; they lie outside the face oval, which is all a swap uses.
            using var count3 = new Mat();
            Cv2.Max(count, 1, count);
            Cv2.Merge([count, count, count], count3);
            using var mean = new Mat();
            Cv2.Divide(sum, count3, mean);
            var texture = new Mat();
            mean.ConvertTo(texture, MatType.CV_8UC3);
            return new Result(new SourceFace(texture, meanMesh), faces.Count, skipped);
        }
        finally
        {
            foreach (var photo in faces.Select(f => f.Photo).Distinct()) photo.Dispose();
        }
    }

    /// <summary>How far the nose tip sits from the eyes' midpoint, in inter-ocular distances: 0 for a frontal face.</summary>
    public static float Turn(Face face)
    {
        var (left, right, nose) = (face.FivePoints[0], face.FivePoints[1], face.FivePoints[2]);
        var iod = MathF.Sqrt((right.X - left.X) * (right.X - left.X) + (right.Y - left.Y) * (right.Y - left.Y));
        var middleX = (left.X + right.X) / 2;
        var middleY = (left.Y + right.Y) / 2;
        // Distance of the nose from the perpendicular bisector of the eyes.
        var along = ((nose.X - middleX) * (right.X - left.X) + (nose.Y - middleY) * (right.Y - left.Y)) / iod;
        return MathF.Abs(along) / iod;
    }
}
