using System.Buffers.Binary;

namespace FaceSwap.Vision;

/// <summary>Reads an image's size from its header, before any decoding, so oversized images are refused cheaply.</summary>
public static class ImageHeader
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Format and size of a JPEG, PNG, BMP or WebP file; null for anything else or a damaged header.</summary>
    public static (string Format, int Width, int Height)? Read(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 24 && head[..8].SequenceEqual(PngSignature))
            return ("PNG", BinaryPrimitives.ReadInt32BigEndian(head[16..]), BinaryPrimitives.ReadInt32BigEndian(head[20..]));
        if (head.Length >= 26 && head[0] == 'B' && head[1] == 'M')
            return ("BMP", BinaryPrimitives.ReadInt32LittleEndian(head[18..]), Math.Abs(BinaryPrimitives.ReadInt32LittleEndian(head[22..])));
        if (head.Length >= 30 && head[..4].SequenceEqual("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8))
            return ReadWebP(head);
        if (head.Length >= 4 && head[0] == 0xFF && head[1] == 0xD8)
            return ReadJpeg(head);
        return null;
    }

    private static (string, int, int)? ReadWebP(ReadOnlySpan<byte> h)
    {
        var chunk = h[12..16];
        if (chunk.SequenceEqual("VP8X"u8))
            return ("WebP", 1 + (h[24] | h[25] << 8 | h[26] << 16), 1 + (h[27] | h[28] << 8 | h[29] << 16));
        if (chunk.SequenceEqual("VP8L"u8))
        {
            var bits = BinaryPrimitives.ReadUInt32LittleEndian(h[21..]);
            return ("WebP", (int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1);
        }
        if (chunk.SequenceEqual("VP8 "u8))
            return ("WebP", BinaryPrimitives.ReadUInt16LittleEndian(h[26..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(h[28..]) & 0x3FFF);
        return null;
    }

    // Walks the marker segments to the first start-of-frame (SOF0–SOF15 but DHT, JPG and DAC).
    private static (string, int, int)? ReadJpeg(ReadOnlySpan<byte> h)
    {
        var i = 2;
        while (i + 9 < h.Length)
        {
            if (h[i] != 0xFF) return null;
            var marker = h[i + 1];
            if (marker == 0xFF) { i++; continue; }
            if (marker is 0xD8 or 0x01 or >= 0xD0 and <= 0xD7) { i += 2; continue; }
            var length = BinaryPrimitives.ReadUInt16BigEndian(h[(i + 2)..]);
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
                return ("JPEG", BinaryPrimitives.ReadUInt16BigEndian(h[(i + 7)..]), BinaryPrimitives.ReadUInt16BigEndian(h[(i + 5)..]));
            i += 2 + length;
        }
        return null;
    }
}
