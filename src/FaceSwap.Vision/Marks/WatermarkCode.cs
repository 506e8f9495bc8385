namespace FaceSwap.Vision.Marks;

/// <summary>
/// The watermark's channel code: 64 payload bits + CRC-24, then the NASA-standard rate-1/2, K=7 convolutional code
/// (generators 171/133 octal, as in 802.11 and DVB) with a zero tail, decoded by soft-decision Viterbi.
/// The CRC is what makes a random image almost never decode: 2^-24 ≈ 6e-8 per decision.
/// </summary>
internal static class WatermarkCode
{
    public const int PayloadBits = 64;
    public const int CrcBits = 24;
    private const int ConstraintLength = 7;
    private const int States = 1 << (ConstraintLength - 1);
    private const int Generator0 = 0b1111001, Generator1 = 0b1011011;
    private const int InfoBits = PayloadBits + CrcBits;
    private const int Steps = InfoBits + ConstraintLength - 1;

    /// <summary>Coded bits carried by each frame.</summary>
    public const int CodedBits = 2 * Steps;

    /// <summary>OpenPGP's CRC-24 (RFC 4880 §6.1); its non-zero start makes an all-zero decode fail the check.</summary>
    public static uint Crc24(ulong payload)
    {
        var crc = 0xB704CEu;
        for (var i = 7; i >= 0; i--)
        {
            crc ^= (uint)(byte)(payload >> (8 * i)) << 16;
            for (var bit = 0; bit < 8; bit++)
            {
                crc <<= 1;
                if ((crc & 0x1000000) != 0) crc ^= 0x864CFB;
            }
        }
        return crc & 0xFFFFFF;
    }

    /// <summary>The coded bits (0/1) for a 64-bit payload and its CRC.</summary>
    public static byte[] Encode(ulong payload) => Encode(payload, Crc24(payload));

    /// <summary>The coded bits for any payload and check bits: re-encoding a decode shows how well it fits.</summary>
    public static byte[] Encode(ulong payload, uint crc)
    {
        var info = InfoBitsOf(payload, crc);
        var coded = new byte[CodedBits];
        var register = 0;
        for (var t = 0; t < Steps; t++)
        {
            register = ((register << 1) | (t < InfoBits ? info[t] : 0)) & 0x7F;
            coded[2 * t] = Parity(register & Generator0);
            coded[2 * t + 1] = Parity(register & Generator1);
        }
        return coded;
    }

    /// <summary>
    /// Maximum-likelihood decode of soft values (positive means coded bit 0, magnitude is confidence): the payload
    /// and check bits of the best path, which a caller trusts only when <c>crc == Crc24(payload)</c>.
    /// </summary>
    public static (ulong Payload, uint Crc) Decode(ReadOnlySpan<float> soft)
    {
        if (soft.Length != CodedBits) throw new ArgumentException($"expected {CodedBits} soft values, got {soft.Length}", nameof(soft));
        Span<float> metric = stackalloc float[States], next = stackalloc float[States];
        // The survivor of each state at each step: the bit that left the register on the way in.
        Span<ulong> survivors = stackalloc ulong[Steps];
        metric.Fill(float.NegativeInfinity);
        metric[0] = 0;
        for (var t = 0; t < Steps; t++)
        {
            float y0 = soft[2 * t], y1 = soft[2 * t + 1];
            next.Fill(float.NegativeInfinity);
            ulong choice = 0;
            for (var state = 0; state < States; state++)
            {
                var input = state & 1;
                if (t >= InfoBits && input == 1) continue; // the tail is all zeros
                // The two predecessors differ only in the bit that leaves the register.
                for (var old = 0; old < 2; old++)
                {
                    var previous = (state >> 1) | (old << (ConstraintLength - 2));
                    if (float.IsNegativeInfinity(metric[previous])) continue;
                    var register = (previous << 1) | input;
                    var m = metric[previous] + (Parity(register & Generator0) == 0 ? y0 : -y0) + (Parity(register & Generator1) == 0 ? y1 : -y1);
                    if (m > next[state])
                    {
                        next[state] = m;
                        choice = old == 1 ? choice | (1UL << state) : choice & ~(1UL << state);
                    }
                }
            }
            survivors[t] = choice;
            next.CopyTo(metric);
        }
        // Trace back from state 0, where the zero tail ends.
        Span<byte> info = stackalloc byte[Steps];
        var s = 0;
        for (var t = Steps - 1; t >= 0; t--)
        {
            info[t] = (byte)(s & 1);
            var old = (int)((survivors[t] >> s) & 1);
            s = (s >> 1) | (old << (ConstraintLength - 2));
        }
        ulong payload = 0;
        uint crc = 0;
        for (var i = 0; i < PayloadBits; i++) payload = (payload << 1) | info[i];
        for (var i = 0; i < CrcBits; i++) crc = (crc << 1) | info[PayloadBits + i];
        return (payload, crc);
    }

    private static byte[] InfoBitsOf(ulong payload, uint crc)
    {
        var info = new byte[InfoBits];
        for (var i = 0; i < PayloadBits; i++) info[i] = (byte)((payload >> (PayloadBits - 1 - i)) & 1);
        for (var i = 0; i < CrcBits; i++) info[PayloadBits + i] = (byte)((crc >> (CrcBits - 1 - i)) & 1);
        return info;
    }

    private static byte Parity(int x) => (byte)(System.Numerics.BitOperations.PopCount((uint)x) & 1);
}
