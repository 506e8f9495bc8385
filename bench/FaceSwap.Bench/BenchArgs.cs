using System.Globalization;

namespace FaceSwap.Bench;

/// <summary>Arguments the campaigns share.</summary>
public static class BenchArgs
{
    /// <summary>The number after <c>--frames</c> at <paramref name="i"/> (10 to 10 000); <paramref name="i"/> moves past it.</summary>
    public static int Frames(string[] args, ref int i)
    {
        if (i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var n) && n is >= 10 and <= 10_000)
        {
            i++;
            return n;
        }
        throw new ArgumentException($"--frames takes a number of frames from 10 to 10000, not '{(i + 1 < args.Length ? args[i + 1] : "")}'");
    }
}
