namespace FaceSwap.Swap.Tracking;

/// <summary>
/// The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) over a fixed number of values: a low-pass whose cutoff
/// rises with speed, so a still face stops jittering and a moving face does not lag. Allocation-free per update.
/// </summary>
public sealed class OneEuroFilter(int count, float minCutoff = 1.0f, float beta = 0.05f, float derivativeCutoff = 1.0f)
{
    private readonly float[] _value = new float[count];
    private readonly float[] _derivative = new float[count];
    private bool _started;

    public float MinCutoff { get; } = minCutoff;
    public float Beta { get; } = beta;

    public void Reset() => _started = false;

    /// <summary>Filters <paramref name="values"/> in place, <paramref name="dt"/> seconds after the previous call.</summary>
    public void Update(Span<float> values, float dt)
    {
        if (values.Length != _value.Length) throw new ArgumentException($"filter holds {_value.Length} values, got {values.Length}");
        if (!_started || dt <= 0)
        {
            values.CopyTo(_value);
            Array.Clear(_derivative);
            _started = true;
            return;
        }
        var derivativeAlpha = Alpha(derivativeCutoff, dt);
        for (var i = 0; i < values.Length; i++)
        {
            var derivative = (values[i] - _value[i]) / dt;
            _derivative[i] += derivativeAlpha * (derivative - _derivative[i]);
            var alpha = Alpha(MinCutoff + Beta * MathF.Abs(_derivative[i]), dt);
            _value[i] += alpha * (values[i] - _value[i]);
            values[i] = _value[i];
        }
    }

    private static float Alpha(float cutoff, float dt)
    {
        var tau = 1 / (2 * MathF.PI * cutoff);
        return 1 / (1 + tau / dt);
    }
}
