using OpenCvSharp;

namespace FaceSwap.Vision.Marks;

/// <summary>
/// The invisible mark every output frame carries: a <see cref="WatermarkPayload"/> that survives JPEG, downscaling
/// and H.264, keeps PSNR above 40 dB, and that unmarked images almost never appear to carry.
/// </summary>
/// <remarks>
/// Design. The mark lives on a 64×48 grid of cells defined relative to the frame, so a resize keeps each cell's mean
/// luminance (an area downscale averages the same pixels again). Each of the 188 coded bits of
/// <see cref="WatermarkCode"/> owns one pair of horizontally adjacent cells, placed by a fixed key one per run of 8
/// pairs; the pair's luminance difference ignores brightness and smooth gradients. A bit is embedded by dither
/// modulation (Chen &amp; Wornell 2001): the difference is moved to the nearest point of that bit's keyed lattice
/// (step 40 levels), whatever the picture holds, so flat and busy frames are marked alike and noise below ±10 levels
/// leaves the bit intact. Concentrating each bit in one pair (12 % of the cells, about ±6 levels each) rather than
/// spreading it thinly over eight with texture masking was measured: at equal PSNR, H.264's dead zone erased the
/// thin version in moving content at crf 23 and kept this one. A pair's move is shared between its cells by what a
/// level costs each: half each on grey, on saturated colours (white, black, colour bars) through the channels with
/// room; should the frame still cost more than PSNR 40.3 dB, all moves shrink alike. Changes are ordered-dithered so
/// a cell's mean moves by fractions of a level. Detection reads each bit's soft distance to the two lattices, sums it
/// over frames, decodes by Viterbi and trusts the payload only when its CRC-24 holds.
/// </remarks>
public static class Watermark
{
    public const int GridWidth = 64, GridHeight = 48;
    public const int MinWidth = 2 * GridWidth, MinHeight = 2 * GridHeight, MaxSide = 4096;

    /// <summary>Lattice step of a pair's difference, in luminance levels: sets PSNR (median 42 dB) against robustness (±Step/4).</summary>
    internal const float Step = 40f;

    /// <summary>The plan's mean square change is kept under this: PSNR 40.3 dB, just above the 40 dB floor.</summary>
    private const double MaxMeanSquare = 255.0 * 255.0 / 10715;
    private const ulong Seed = 0x46534357_4D41524BUL; // "FSCWMARK": the key; changing it unmarks every old output

    internal static readonly Layout Grid = new();

    [ThreadStatic] private static Scratch? _scratch;

    /// <summary>Marks an 8-bit BGR frame in place: about 1 ms for 640×480 on one core.</summary>
    public static void Embed(Mat bgrFrame, WatermarkPayload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        Check(bgrFrame, MinWidth, MinHeight, MaxSide, "marked");
        var scratch = _scratch ??= new Scratch();
        if (scratch.Payload != payload.Bits || scratch.Coded is null)
            (scratch.Payload, scratch.Coded) = (payload.Bits, WatermarkCode.Encode(payload.Bits));
        var cells = ReadCells(bgrFrame, scratch);
        Grid.Plan(cells, scratch.Coded, scratch.Delta);
        Apply(bgrFrame, scratch.Delta);
    }

    /// <summary>Looks for a mark in one frame.</summary>
    public static WatermarkDetection Detect(Mat bgrFrame)
    {
        var detector = new WatermarkDetector();
        detector.Add(bgrFrame);
        return detector.Result();
    }

    /// <summary>Looks for one mark across several frames of a video: their soft bits add up before decoding.</summary>
    public static WatermarkDetection Detect(IEnumerable<Mat> bgrFrames)
    {
        var detector = new WatermarkDetector();
        foreach (var frame in bgrFrames) detector.Add(frame);
        return detector.Result();
    }

    internal static void Check(Mat frame, int minWidth, int minHeight, int maxSide, string verb)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Empty() || frame.Type() != MatType.CV_8UC3)
            throw new ArgumentException($"only 8-bit 3-channel BGR frames can be {verb}; got {(frame.Empty() ? "an empty frame" : frame.Type().ToString())} (convert with Cv2.CvtColor / ConvertTo first)", nameof(frame));
        if (frame.Width < minWidth || frame.Height < minHeight || frame.Width > maxSide || frame.Height > maxSide)
            throw new ArgumentException($"a {frame.Width}x{frame.Height} frame cannot be {verb}: the watermark needs {minWidth}x{minHeight} to {maxSide}x{maxSide} pixels", nameof(frame));
    }

    /// <summary>
    /// Per-cell means of B, G, R, weighting each pixel by the area it shares with the cell (as OpenCV's area resize,
    /// which is as fast only where the grid divides the frame, not for 1080 rows). A frame downscaled after marking
    /// averages to the same cell means, since cell edges stay at the same fractions of the frame.
    /// </summary>
    internal static unsafe CellMeans ReadCells(Mat frame, Scratch scratch)
    {
        int width = frame.Width, height = frame.Height;
        Span<int> firstColumn = stackalloc int[GridWidth + 1];
        FirstColumns(width, firstColumn);
        var sums = scratch.Cells;
        Array.Clear(sums);
        Span<float> rowSums = stackalloc float[GridWidth * 3];
        for (var y = 0; y < height; y++)
        {
            var row = (byte*)frame.Ptr(y);
            rowSums.Clear();
            for (var c = 0; c < GridWidth; c++)
            {
                int b = 0, g = 0, r = 0;
                for (byte* pixel = row + 3 * firstColumn[c], end = row + 3 * firstColumn[c + 1]; pixel < end; pixel += 3)
                {
                    b += pixel[0];
                    g += pixel[1];
                    r += pixel[2];
                }
                rowSums[3 * c] += b;
                rowSums[3 * c + 1] += g;
                rowSums[3 * c + 2] += r;
                // A pixel that straddles the cell's right edge: the part of it left of the edge belongs to this cell.
                var edge = (float)((double)(c + 1) * width / GridWidth);
                var split = firstColumn[c + 1] - edge;
                if (c + 1 < GridWidth && split > 0)
                {
                    var pixel = row + 3 * (firstColumn[c + 1] - 1);
                    for (var ch = 0; ch < 3; ch++)
                    {
                        rowSums[3 * c + ch] -= split * pixel[ch];
                        rowSums[3 * (c + 1) + ch] += split * pixel[ch];
                    }
                }
            }
            // Likewise a row that straddles a cell row's lower edge.
            var top = (int)((long)y * GridHeight / height);
            var below = (float)((double)(top + 1) * height / GridHeight) - y;
            if (below >= 1) Accumulate(sums, top, rowSums, 1);
            else
            {
                Accumulate(sums, top, rowSums, below);
                Accumulate(sums, top + 1, rowSums, 1 - below);
            }
        }
        var area = (float)((double)width * height / (GridWidth * GridHeight));
        for (var i = 0; i < sums.Length; i++) sums[i] /= area;
        return new CellMeans(sums);
    }

    private static void Accumulate(float[] sums, int cellRow, ReadOnlySpan<float> rowSums, float weight)
    {
        var target = sums.AsSpan(cellRow * GridWidth * 3, GridWidth * 3);
        for (var i = 0; i < target.Length; i++) target[i] += weight * rowSums[i];
    }

    /// <summary>The first column of each cell column, and the frame's width at the end: x is in cell ⌊64x/width⌋.</summary>
    private static void FirstColumns(int width, Span<int> firstColumn)
    {
        for (var c = 0; c <= GridWidth; c++) firstColumn[c] = (int)(((long)c * width + GridWidth - 1) / GridWidth);
    }

    /// <summary>Per-thread buffers, so marking a stream allocates nothing per frame.</summary>
    internal sealed class Scratch
    {
        public readonly float[] Cells = new float[GridWidth * GridHeight * 3];
        public readonly float[] Delta = new float[GridWidth * GridHeight * 3];
        public ulong Payload;
        public byte[]? Coded;
    }

    /// <summary>Adds each cell's change of B, G, R to every pixel of the cell, ordered-dithered (4×4 Bayer) so fractions of a level count.</summary>
    private static unsafe void Apply(Mat frame, float[] delta)
    {
        int width = frame.Width, height = frame.Height;
        Span<int> firstColumn = stackalloc int[GridWidth + 1];
        FirstColumns(width, firstColumn);
        ReadOnlySpan<float> bayer = [0.5f / 16, 8.5f / 16, 2.5f / 16, 10.5f / 16, 12.5f / 16, 4.5f / 16, 14.5f / 16, 6.5f / 16,
                                     3.5f / 16, 11.5f / 16, 1.5f / 16, 9.5f / 16, 15.5f / 16, 7.5f / 16, 13.5f / 16, 5.5f / 16];
        for (var y = 0; y < height; y++)
        {
            var row = (byte*)frame.Ptr(y);
            var cellRow = delta.AsSpan((int)((long)y * GridHeight / height) * GridWidth * 3, GridWidth * 3);
            var dither = bayer.Slice((y & 3) * 4, 4);
            for (var c = 0; c < GridWidth; c++)
            {
                float b = cellRow[3 * c], g = cellRow[3 * c + 1], r = cellRow[3 * c + 2];
                if (b == 0 && g == 0 && r == 0) continue; // 88 % of the cells carry no bit
                for (var x = firstColumn[c]; x < firstColumn[c + 1]; x++)
                {
                    var t = dither[x & 3];
                    var pixel = row + 3 * x;
                    pixel[0] = (byte)Math.Clamp(pixel[0] + (int)MathF.Floor(b + t), 0, 255);
                    pixel[1] = (byte)Math.Clamp(pixel[1] + (int)MathF.Floor(g + t), 0, 255);
                    pixel[2] = (byte)Math.Clamp(pixel[2] + (int)MathF.Floor(r + t), 0, 255);
                }
            }
        }
    }

    /// <summary>Cell means of B, G, R, and how a cell's luminance (BT.601 weights, as OpenCV's BGR2GRAY) can move.</summary>
    internal readonly struct CellMeans(float[] bgr)
    {
        private static ReadOnlySpan<float> Weight => [0.114f, 0.587f, 0.299f];

        /// <summary>Channel sets to move, best first: all three (a grey change), then the pairs and single channels that carry most luminance.</summary>
        private static ReadOnlySpan<byte> Channels => [0b111, 0b110, 0b011, 0b101, 0b010, 0b100, 0b001];

        public float Luma(int cell) => Weight[0] * bgr[3 * cell] + Weight[1] * bgr[3 * cell + 1] + Weight[2] * bgr[3 * cell + 2];

        /// <summary>How far the cell's luminance can move in <paramref name="direction"/>'s sign without clipping a channel.</summary>
        public float Room(int cell, float direction)
        {
            float best = 0;
            foreach (var set in Channels) best = Math.Max(best, Reach(cell, set, direction).Luma);
            return best;
        }

        /// <summary>
        /// Moves the cell's luminance by <paramref name="change"/> (within <see cref="Room"/>): all three channels alike
        /// where they have room; on a saturated colour (testsrc2's bars, a red shirt) only the channels that can move.
        /// </summary>
        public void Move(int cell, float change, Span<float> bgrChange)
        {
            if (change == 0) return;
            var (set, luma, weight) = Choose(cell, change);
            var each = MathF.CopySign(Math.Min(MathF.Abs(change), luma) / weight, change);
            for (var ch = 0; ch < 3; ch++)
                if ((set & (1 << ch)) != 0) bgrChange[ch] += each;
        }

        /// <summary>Squared channel change per squared luminance change for <see cref="Move"/>: 3 for grey, 77 to raise yellow (blue alone).</summary>
        public float Cost(int cell, float change)
        {
            var (set, _, weight) = Choose(cell, change);
            return System.Numerics.BitOperations.PopCount(set) / (weight * weight);
        }

        /// <summary>The first channel set, in order of preference, that reaches the change; failing that, the one that reaches furthest.</summary>
        private (byte Set, float Luma, float Weight) Choose(int cell, float change)
        {
            var need = MathF.Abs(change);
            (byte Set, float Luma, float Weight) best = (0b111, -1, 1);
            foreach (var set in Channels)
            {
                var (luma, weight) = Reach(cell, set, change);
                if (luma >= need * 0.999f) return (set, luma, weight);
                if (luma > best.Luma) best = (set, luma, weight);
            }
            return best;
        }

        /// <summary>The luminance a channel set reaches moving its channels equally until the first clips, and its weight.</summary>
        private (float Luma, float Weight) Reach(int cell, byte set, float direction)
        {
            float room = float.MaxValue, weight = 0;
            for (var ch = 0; ch < 3; ch++)
            {
                if ((set & (1 << ch)) == 0) continue;
                var value = bgr[3 * cell + ch];
                room = Math.Min(room, Math.Max(0, direction > 0 ? 253 - value : value - 2)); // a level spare for texture
                weight += Weight[ch];
            }
            return (room * weight, weight);
        }
    }

    /// <summary>The keyed layout: the pair of cells that carries each coded bit, the sign its difference is read with, and its dither.</summary>
    internal sealed class Layout
    {
        private const int PairsPerRow = GridWidth / 2;
        private const int Pairs = PairsPerRow * GridHeight;
        private readonly int[] _left = new int[WatermarkCode.CodedBits]; // cell index of the bit's left cell; the right is +1
        private readonly float[] _sign = new float[WatermarkCode.CodedBits];
        private readonly float[] _dither = new float[WatermarkCode.CodedBits];

        public Layout()
        {
            var random = new SplitMix64(Seed);
            // One pair from each run of ~8 consecutive pairs (row-major) spreads the bits evenly over the frame ...
            Span<int> chosen = stackalloc int[WatermarkCode.CodedBits];
            for (var i = 0; i < chosen.Length; i++)
            {
                int from = i * Pairs / chosen.Length, to = (i + 1) * Pairs / chosen.Length;
                chosen[i] = from + (int)(random.Next() % (ulong)(to - from));
            }
            // ... and a keyed shuffle interleaves them, so a damaged region costs Viterbi scattered bits, not a burst.
            for (var i = chosen.Length - 1; i > 0; i--)
            {
                var j = (int)(random.Next() % (ulong)(i + 1));
                (chosen[i], chosen[j]) = (chosen[j], chosen[i]);
            }
            for (var i = 0; i < chosen.Length; i++)
            {
                _left[i] = 2 * chosen[i];
                _sign[i] = (random.Next() & 1) == 0 ? 1f : -1f;
                _dither[i] = (float)(random.Next() >> 11) / (1UL << 53) * Step;
            }
        }

        /// <summary>Adds the soft values of the coded bits: +1 on the lattice of bit 0, −1 on that of bit 1, linear between.</summary>
        public void Soft(in CellMeans cells, Span<float> soft)
        {
            for (var i = 0; i < WatermarkCode.CodedBits; i++)
            {
                var r = (Difference(cells, i) - _dither[i]) / Step;
                soft[i] += 1 - 4 * MathF.Abs(r - MathF.Round(r)); // distance 0 on bit 0's lattice, 0.5 on bit 1's
            }
        }

        /// <summary>Fills <paramref name="delta"/> with the change of each cell's B, G, R that puts every bit's pair on its lattice.</summary>
        public void Plan(in CellMeans cells, byte[] coded, float[] delta)
        {
            Array.Clear(delta);
            for (var i = 0; i < WatermarkCode.CodedBits; i++)
            {
                var p = Difference(cells, i);
                var offset = _dither[i] + coded[i] * Step / 2;
                var below = offset + Step * MathF.Floor((p - offset) / Step) - p; // the lattice points either side of p
                var above = below + Step;
                // Take the nearer one unless clipping leaves no room that way (a white or black background allows one way only).
                var left = _left[i];
                float roomUp = Room(cells, left, _sign[i]), roomDown = Room(cells, left, -_sign[i]);
                var move = (-below <= above && -below <= roomDown) || above > roomUp ? below : above;
                var want = _sign[i] * move; // change of left minus right
                Split(cells, left, want, delta);
            }
            // PSNR is a floor: where saturated colours leave few channels to move, the plan costs more, and then every
            // move shrinks alike (distortion compensation, Chen & Wornell §V), giving up a little of the ±Step/4 margin.
            double squares = 0;
            foreach (var d in delta) squares += d * d;
            var mse = squares / delta.Length;
            if (mse > MaxMeanSquare)
            {
                var shrink = (float)Math.Sqrt(MaxMeanSquare / mse);
                for (var c = 0; c < delta.Length; c++) delta[c] *= shrink;
            }
        }

        /// <summary>The bit's pair difference, left minus right luminance, times the bit's keyed sign.</summary>
        private float Difference(in CellMeans cells, int bit) => _sign[bit] * (cells.Luma(_left[bit]) - cells.Luma(_left[bit] + 1));

        /// <summary>How far the pair's difference can move in <paramref name="direction"/>'s sign: one cell up plus the other down.</summary>
        private static float Room(in CellMeans cells, int left, float direction) =>
            cells.Room(left, direction) + cells.Room(left + 1, -direction);

        /// <summary>
        /// Raises one cell and lowers the other, sharing the change in inverse proportion to what each costs (half each
        /// on grey; on yellow nearly all goes to lowering, since raising moves blue alone), within the room each has.
        /// </summary>
        private static void Split(in CellMeans cells, int left, float want, float[] delta)
        {
            int up = want > 0 ? left : left + 1, down = want > 0 ? left + 1 : left;
            var need = MathF.Abs(want);
            float rise = cells.Room(up, 1), fall = cells.Room(down, -1);
            float upCost = cells.Cost(up, need / 2), downCost = cells.Cost(down, -need / 2);
            var riseBy = Math.Min(need * downCost / (upCost + downCost), rise);
            var fallBy = Math.Min(need - riseBy, fall);
            riseBy = Math.Min(need - fallBy, rise);
            cells.Move(up, riseBy, delta.AsSpan(3 * up, 3));
            cells.Move(down, -fallBy, delta.AsSpan(3 * down, 3));
        }
    }

    /// <summary>SplitMix64 (Steele et al. 2014): a fixed, runtime-independent stream for the keyed layout.</summary>
    private struct SplitMix64(ulong state)
    {
        public ulong Next()
        {
            var z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}

/// <summary>
/// Accumulates soft bits over the frames of one video, so a mark too weak in any single frame (after heavy
/// compression) is still found; frames may differ in size. One detector per video and thread.
/// </summary>
public sealed class WatermarkDetector
{
    private readonly float[] _soft = new float[WatermarkCode.CodedBits];
    private readonly Watermark.Scratch _scratch = new();

    public int Frames { get; private set; }

    /// <summary>Adds one frame (8-bit BGR, at least 64×48: a half-size copy of the smallest marked frame).</summary>
    public void Add(Mat bgrFrame)
    {
        Watermark.Check(bgrFrame, Watermark.GridWidth, Watermark.GridHeight, int.MaxValue, "searched for a watermark");
        Watermark.Grid.Soft(Watermark.ReadCells(bgrFrame, _scratch), _soft);
        Frames++;
    }

    public WatermarkDetection Result()
    {
        if (Frames == 0) return new WatermarkDetection(false, null, 0, 0);
        var (bits, crc) = WatermarkCode.Decode(_soft);
        var codeword = WatermarkCode.Encode(bits, crc);
        double agreement = 0, energy = 0;
        for (var i = 0; i < codeword.Length; i++)
        {
            agreement += codeword[i] == 0 ? _soft[i] : -_soft[i];
            energy += _soft[i] * _soft[i];
        }
        var score = energy > 0 ? agreement / Math.Sqrt(energy * codeword.Length) : 0;
        var marked = crc == WatermarkCode.Crc24(bits);
        return new WatermarkDetection(marked, marked ? WatermarkPayload.FromBits(bits) : null, score, Frames);
    }

    public void Reset()
    {
        Array.Clear(_soft);
        Frames = 0;
    }

}
