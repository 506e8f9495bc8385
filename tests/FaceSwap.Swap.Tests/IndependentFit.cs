using OpenCvSharp;

namespace FaceSwap.Swap.Tests;

/// <summary>Fits the tests compute apart from the code under test, to check its alignments against.</summary>
internal static class IndependentFit
{
    /// <summary>The least-squares similarity taking <paramref name="from"/> onto <paramref name="to"/>, from the normal equations, in doubles.</summary>
    public static (double A, double B, double Tx, double Ty) LeastSquaresSimilarity(Point2f[] from, Point2f[] to)
    {
        // Unknowns (a, b, tx, ty): u = a·x − b·y + tx, v = b·x + a·y + ty; normal equations AᵀA p = Aᵀr.
        var m = new double[4, 5];
        for (var i = 0; i < from.Length; i++)
        {
            double x = from[i].X, y = from[i].Y;
            double[][] rows = [[x, -y, 1, 0, to[i].X], [y, x, 0, 1, to[i].Y]];
            foreach (var r in rows)
                for (var j = 0; j < 4; j++)
                    for (var k = 0; k < 5; k++)
                        m[j, k] += r[j] * r[k];
        }
        for (var c = 0; c < 4; c++) // Gauss–Jordan; the system is positive definite
        {
            for (var r = 0; r < 4; r++)
            {
                if (r == c) continue;
                var f = m[r, c] / m[c, c];
                for (var k = 0; k < 5; k++) m[r, k] -= f * m[c, k];
            }
        }
        return (m[0, 4] / m[0, 0], m[1, 4] / m[1, 1], m[2, 4] / m[2, 2], m[3, 4] / m[3, 3]);
    }

    /// <summary>The frame point that <paramref name="fit"/> takes to the crop point <paramref name="p"/>.</summary>
    public static Point2f Inverse((double A, double B, double Tx, double Ty) fit, Point2f p)
    {
        // [a −b; b a]⁻¹ = [a b; −b a] / (a² + b²)
        double u = p.X - fit.Tx, v = p.Y - fit.Ty, n = fit.A * fit.A + fit.B * fit.B;
        return new Point2f((float)((fit.A * u + fit.B * v) / n), (float)((-fit.B * u + fit.A * v) / n));
    }
}
