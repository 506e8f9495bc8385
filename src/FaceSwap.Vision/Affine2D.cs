using OpenCvSharp;

namespace FaceSwap.Vision;

/// <summary>A 2-D affine map x' = A·x + t, stored as the top two rows of a 3×3 matrix (OpenCV's 2×3 layout).</summary>
public readonly record struct Affine2D(float A, float B, float Tx, float C, float D, float Ty)
{
    public static readonly Affine2D Identity = new(1, 0, 0, 0, 1, 0);

    public static Affine2D ScaleTranslate(float scale, float tx, float ty) => new(scale, 0, tx, 0, scale, ty);

    /// <summary>x' = scale · R(radians) · x + t with R = [cos −sin; sin cos]; with y pointing down, positive angles turn clockwise on screen.</summary>
    public static Affine2D Similarity(float scale, float radians, float tx, float ty)
    {
        var (sin, cos) = MathF.SinCos(radians);
        return new Affine2D(scale * cos, -scale * sin, tx, scale * sin, scale * cos, ty);
    }

    public Point2f Apply(Point2f p) => new(A * p.X + B * p.Y + Tx, C * p.X + D * p.Y + Ty);
    public Point2f Apply(float x, float y) => new(A * x + B * y + Tx, C * x + D * y + Ty);

    /// <summary>Uniform scale of a similarity transform.</summary>
    public float Scale => MathF.Sqrt(MathF.Abs(A * D - B * C));

    public Affine2D Inverse()
    {
        var det = A * D - B * C;
        if (MathF.Abs(det) < 1e-12f) throw new InvalidOperationException("affine map is singular and has no inverse");
        float ia = D / det, ib = -B / det, ic = -C / det, id = A / det;
        return new Affine2D(ia, ib, -(ia * Tx + ib * Ty), ic, id, -(ic * Tx + id * Ty));
    }

    /// <summary>This map applied after <paramref name="first"/>.</summary>
    public Affine2D After(Affine2D first) => new(
        A * first.A + B * first.C, A * first.B + B * first.D, A * first.Tx + B * first.Ty + Tx,
        C * first.A + D * first.C, C * first.B + D * first.D, C * first.Tx + D * first.Ty + Ty);
}
