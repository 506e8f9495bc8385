using OpenCvSharp;

namespace FaceSwap.Swap;

public static partial class MeshTopology
{
    /// <summary>The mesh points at <paramref name="indices"/> (a ring such as <see cref="FaceOval"/>) as a polygon of whole pixels, for filling masks.</summary>
    public static Point[] Polygon(ReadOnlySpan<Point2f> mesh, ReadOnlySpan<int> indices)
    {
        var points = new Point[indices.Length];
        for (var i = 0; i < indices.Length; i++) points[i] = new Point((int)MathF.Round(mesh[indices[i]].X), (int)MathF.Round(mesh[indices[i]].Y));
        return points;
    }

    public static Point[] Polygon(ReadOnlySpan<Point3f> mesh, ReadOnlySpan<int> indices)
    {
        var points = new Point[indices.Length];
        for (var i = 0; i < indices.Length; i++) points[i] = new Point((int)MathF.Round(mesh[indices[i]].X), (int)MathF.Round(mesh[indices[i]].Y));
        return points;
    }
}
