using System.Diagnostics;
using FaceSwap.Contracts;
using FaceSwap.Testing;
using OpenCvSharp;
using Xunit.Abstractions;

namespace FaceSwap.Vision.Tests;

/// <summary>
/// Fuzzing the image decoder path every frame, region, patch and mask takes off the wire (and the header reader the
/// live socket checks first): valid JPEGs and PNGs, mutated. Each case decodes to an image of the size the message
/// states, or fails with an <see cref="ImageCodecException"/>; the header reader never throws. 3 000 cases in CI;
/// <c>FSC_FULL=1</c> runs 100 000.
/// </summary>
public sealed class ImageDecoderFuzzTests(ITestOutputHelper output)
{
    private static (EncodedImage Image, int Channels)[] Seeds()
    {
        using var frame = new Mat(48, 64, MatType.CV_8UC3);
        Cv2.Randu(frame, Scalar.All(0), Scalar.All(255));
        Cv2.GaussianBlur(frame, frame, new Size(5, 5), 0);
        using var mask = new Mat(48, 64, MatType.CV_8UC1, Scalar.All(0));
        Cv2.Circle(mask, new Point(32, 24), 18, Scalar.All(255), -1);
        return [(WireImages.Jpeg(frame, 90), 3), (WireImages.Jpeg(frame, 30), 3), (WireImages.Png(mask), 1), (WireImages.Png(frame), 3)];
    }

    [Fact]
    public void Mutated_images_decode_at_their_stated_size_or_fail_with_an_image_codec_exception_only()
    {
        var random = new Random(Fuzz.Seed);
        var seeds = Seeds();
        var cases = Fuzz.Cases(3_000);
        var (decoded, refused, slowest) = (0, 0, TimeSpan.Zero);
        (int Index, string Codec, byte[] Bytes) slowestCase = default;
        for (var i = 0; i < cases; i++)
        {
            var (seed, channels) = seeds[random.Next(seeds.Length)];
            var bytes = Fuzz.Mutate(random, seed.Data);
            var clock = Stopwatch.StartNew();
            try
            {
                _ = ImageHeader.Read(bytes);
                using var image = WireImages.Decode(seed with { Data = bytes }, channels, "fuzz");
                Assert.Equal((seed.Width, seed.Height, channels), (image.Width, image.Height, image.Channels()));
                decoded++;
            }
            catch (ImageCodecException)
            {
                refused++;
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"case {i} (seed {Fuzz.Seed}, {seed.Codec}, {bytes.Length} bytes {Convert.ToHexString(bytes.AsSpan(0, Math.Min(64, bytes.Length)))}…): {e.GetType().Name}: {e.Message}");
            }
            if (clock.Elapsed > slowest)
            {
                slowest = clock.Elapsed;
                slowestCase = (i, seed.Codec, bytes);
            }
        }
        if (slowest > TimeSpan.FromSeconds(1))
        {
            var kept = Path.Combine(Path.GetTempPath(), $"fsc-fuzz-image-{Fuzz.Seed}-{slowestCase.Index}.{slowestCase.Codec}");
            File.WriteAllBytes(kept, slowestCase.Bytes!);
            output.WriteLine($"slowest case {slowestCase.Index} kept as {kept}");
        }
        output.WriteLine($"{cases} cases: {decoded} decoded, {refused} refused; slowest {slowest.TotalMilliseconds:F1} ms");
        Assert.True(decoded > 0 && refused > 0, "the mutations should produce both decodable and refused payloads");
        Assert.True(slowest < TimeSpan.FromSeconds(5), $"a case took {slowest.TotalMilliseconds:F0} ms");
    }

    /// <summary>Found by reading the decoder path for this fuzz target: a header that claims a huge image is refused before anything is decoded.</summary>
    [Fact]
    public void A_jpeg_whose_header_claims_30000_by_30000_is_refused_before_decoding()
    {
        var (seed, _) = Seeds()[0];
        var bytes = (byte[])seed.Data.Clone();
        // The SOF0 marker (FF C0): length (2), precision (1), then height and width, big-endian.
        var sof = bytes.AsSpan().IndexOf(new byte[] { 0xFF, 0xC0 });
        Assert.True(sof > 0);
        bytes[sof + 5] = 30000 >> 8; bytes[sof + 6] = 30000 & 0xFF;
        bytes[sof + 7] = 30000 >> 8; bytes[sof + 8] = 30000 & 0xFF;
        var refused = Assert.Throws<ImageCodecException>(() => WireImages.Decode(seed with { Data = bytes }, 3, "huge"));
        Assert.Contains("header says 30000x30000, the message says 64x48", refused.Message);
    }

    /// <summary>Found by this fuzz target: a tiny PNG whose IDAT chunk claims 4 GiB kept the decoder busy for 14 s; it is refused at once.</summary>
    [Fact]
    public void A_png_whose_chunk_claims_more_than_the_payload_holds_is_refused_before_decoding()
    {
        var (seed, channels) = Seeds()[2];
        var bytes = (byte[])seed.Data.Clone();
        var idat = bytes.AsSpan().IndexOf("IDAT"u8) - 4;
        bytes[idat] = 0xFF; bytes[idat + 1] = 0xFF; bytes[idat + 2] = 0xFF; bytes[idat + 3] = 0xFF;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var refused = Assert.Throws<ImageCodecException>(() => WireImages.Decode(seed with { Data = bytes }, channels, "overrun"));
        Assert.Contains("claims 4294967295 bytes", refused.Message);
        output.WriteLine($"{refused.Message} ({clock.Elapsed.TotalMilliseconds:F1} ms)");
    }
}
