using System.Diagnostics;
using System.Globalization;
using FaceSwap.Inference.Models;
using FaceSwap.Vision.Marks;
using FaceSwap.Vision.Video;
using OpenCvSharp;

namespace FaceSwap.Bench;

/// <summary>
/// <c>dotnet run --project bench/FaceSwap.Bench -c Release -- watermark [--frames N]</c>: measures the invisible
/// watermark on the sample photos and on generated video — detection after JPEG 75, 0.5× and H.264, false positives
/// on unmarked frames, PSNR, and the cost per 640×480 frame on one core. N is the length of each clip (default 40).
/// </summary>
public static class WatermarkCampaign
{
    private static readonly WatermarkPayload Payload = WatermarkPayload.For("campaign-node", 0x5EED_1234_ABCDUL);
    private static readonly Size Vga = new(640, 480);

    public static int Run(string[] args)
    {
        var frames = 40;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--frames" && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var n) && n is >= 2 and <= 1000) frames = n;
            else if (args[i] != "--frames" && !(i > 0 && args[i - 1] == "--frames")) throw new ArgumentException($"unknown argument '{args[i]}': the watermark campaign takes only --frames N (2 to 1000)");
        }
        Cv2.SetNumThreads(1); // costs are per frame on one core, as a live stream's worker spends them
        var clock = Stopwatch.StartNew();
        var temp = Directory.CreateTempSubdirectory("fsc-watermark-").FullName;
        try
        {
            var campaign = new Tally();
            var photos = LoadPhotos();
            MarkedStills(photos, campaign);
            MarkedClips(photos, frames, temp, campaign);
            UnmarkedStills(photos, campaign);
            GeneratedVideos(frames, temp, campaign);
            var (embed, detect) = Cost(photos);
            foreach (var photo in photos) photo.Image.Dispose();
            campaign.Print(photos.Count, frames, embed, detect, clock.Elapsed);
            return 0;
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private sealed record Photo(string Name, Mat Image);

    private static List<Photo> LoadPhotos()
    {
        var skimage = Path.Combine(RepositoryPaths.Root, ".cache", "skimage");
        var paths = Enumerable.Range(1, 6).Select(i => Path.Combine(RepositoryPaths.SamplePhotos, $"sample{i}.jpg"))
            .Concat(Directory.Exists(skimage) ? Directory.GetFiles(skimage, "*.png").Order() : []).ToList();
        var missing = paths.Where(p => !File.Exists(p)).ToList();
        if (missing.Count > 0) throw new FileNotFoundException($"sample photos missing: {string.Join(", ", missing)} (run scripts/setup.sh)");
        return paths.Select(p => new Photo(Path.GetFileName(p), FaceSwap.Vision.ImageFile.ReadBgr(p))).ToList();
    }

    /// <summary>Each photo as frames a stream produces: cropped to 4:3 and 16:9, native, small, and a face on plain backgrounds.</summary>
    private static IEnumerable<(string Name, Mat Frame)> StillFrames(Photo photo)
    {
        yield return ($"{photo.Name} 640x480", Fit(photo.Image, Vga));
        yield return ($"{photo.Name} 1280x720", Fit(photo.Image, new Size(1280, 720)));
        yield return ($"{photo.Name} 320x240", Fit(photo.Image, new Size(320, 240)));
        yield return ($"{photo.Name} native", photo.Image.Clone());
        foreach (var (name, colour) in new[] { ("grey", Scalar.All(128)), ("white", Scalar.All(255)), ("black", Scalar.All(0)), ("beige", new Scalar(200, 215, 230)) })
        {
            using var plain = new Mat(Vga, MatType.CV_8UC3, colour);
            yield return ($"{photo.Name} face on {name}", FaceOn(plain, photo.Image, new Point(215, 110)));
        }
    }

    private static void MarkedStills(List<Photo> photos, Tally tally)
    {
        Console.Error.WriteLine($"marked stills: {photos.Count} photos × 8 frames, each plain, JPEG 75, 0.5×, 0.5× then JPEG 75");
        foreach (var photo in photos)
            foreach (var (name, frame) in StillFrames(photo))
            {
                using (frame)
                using (var marked = frame.Clone())
                {
                    Watermark.Embed(marked, Payload);
                    tally.Psnr.Add(Cv2.PSNR(frame, marked));
                    using var jpeg = Jpeg(marked, 75);
                    using var half = Half(marked);
                    using var both = Jpeg(half, 75);
                    tally.Marked("plain", name, Watermark.Detect(marked));
                    tally.Marked("JPEG 75", name, Watermark.Detect(jpeg));
                    tally.Marked("0.5x (INTER_AREA)", name, Watermark.Detect(half));
                    tally.Marked("0.5x then JPEG 75", name, Watermark.Detect(both));
                }
            }
    }

    /// <summary>640×480 clips as the swapper writes them: a camera pan over a photo, a face moving over a still room, a synthetic pattern.</summary>
    private static List<(string Name, Func<int, Mat> Frame)> Clips(List<Photo> photos, Mat room, List<Mat> synthetic) =>
    [
        ("pan over sample1", i => Pan(photos[0].Image, i)),
        ("pan over sample4", i => Pan(photos[3].Image, i)),
        ("pan over chelsea", i => Pan(photos.Single(p => p.Name == "chelsea.png").Image, i)),
        ("face over still room (sample2)", i => FaceOn(room, photos[1].Image, Sway(i))),
        ("face over still room (sample5)", i => FaceOn(room, photos[4].Image, Sway(i))),
        ("testsrc2", i => synthetic[i].Clone()),
    ];

    private static void MarkedClips(List<Photo> photos, int frames, string temp, Tally tally)
    {
        using var room = new Mat(Vga, MatType.CV_8UC3, new Scalar(170, 160, 150));
        var source = Path.Combine(temp, "testsrc2.mp4");
        Generate("testsrc2=size=640x480:rate=25", frames, source, lossless: true);
        var synthetic = ReadAll(source);
        var clips = Clips(photos, room, synthetic);
        var info = new MediaInfo(Vga.Width, Vga.Height, 25, "25", frames, false, frames / 25.0);
        foreach (var crf in new[] { 18, 23 })
            foreach (var (name, frameAt) in clips)
            {
                Console.Error.WriteLine($"marked clip: {name}, {frames} frames, H.264 crf {crf}");
                var path = Path.Combine(temp, $"marked-{crf}.mp4");
                using (var writer = new VideoFileWriter(path, info, null, crf))
                {
                    for (var i = 0; i < frames; i++)
                    {
                        using var frame = frameAt(i);
                        using var marked = frame.Clone();
                        Watermark.Embed(marked, Payload);
                        if (crf == 18) tally.Psnr.Add(Cv2.PSNR(frame, marked));
                        writer.Write(marked);
                    }
                    writer.Complete();
                }
                var video = new WatermarkDetector();
                foreach (var frame in ReadAll(path))
                    using (frame)
                    {
                        tally.Marked($"mp4 crf {crf}, per frame", name, Watermark.Detect(frame));
                        video.Add(frame);
                    }
                tally.Marked($"mp4 crf {crf}, per video", name, video.Result());
            }
        // The same clips unmarked, through the same encoder: realistic content for the false-positive count.
        foreach (var (name, frameAt) in clips)
        {
            Console.Error.WriteLine($"unmarked clip: {name}, H.264 crf 18");
            var path = Path.Combine(temp, "unmarked.mp4");
            using (var writer = new VideoFileWriter(path, info, null))
            {
                for (var i = 0; i < frames; i++)
                    using (var frame = frameAt(i)) writer.Write(frame);
                writer.Complete();
            }
            UnmarkedVideo("unmarked clips after H.264 crf 18", name, path, tally);
        }
        synthetic.ForEach(f => f.Dispose());
    }

    /// <summary>Photos that never saw the mark: crops, rescales, flips, rotations and JPEG re-encodes.</summary>
    private static void UnmarkedStills(List<Photo> photos, Tally tally)
    {
        Console.Error.WriteLine($"unmarked stills: {photos.Count} photos × 21 variants");
        foreach (var photo in photos)
        {
            var image = photo.Image;
            using var vga = Fit(image, Vga);
            var variants = new List<(string, Mat)>
            {
                ("640x480", vga.Clone()), ("native", image.Clone()),
                ("300x300", Fit(image, new Size(300, 300))), ("800x450", Fit(image, new Size(800, 450))),
                ("crop 70% top-left", Crop(image, new Rect(0, 0, image.Width * 7 / 10, image.Height * 7 / 10))),
            };
            for (var q = 0; q < 4; q++)
                variants.Add(($"quadrant {q}", Crop(image, new Rect(q % 2 * image.Width / 2, q / 2 * image.Height / 2, image.Width / 2, image.Height / 2))));
            foreach (var scale in new[] { 0.25, 0.5, 0.75 })
            {
                var scaled = new Mat();
                Cv2.Resize(image, scaled, new Size(), scale, scale, InterpolationFlags.Area);
                variants.Add(($"scale {scale}", scaled));
            }
            foreach (var (flip, code) in new[] { ("flip h", FlipMode.Y), ("flip v", FlipMode.X), ("flip both", FlipMode.XY) })
            {
                var flipped = new Mat();
                Cv2.Flip(vga, flipped, code);
                variants.Add((flip, flipped));
            }
            foreach (var (rotation, code) in new[] { ("rotate 90", RotateFlags.Rotate90Clockwise), ("rotate 180", RotateFlags.Rotate180), ("rotate 270", RotateFlags.Rotate90Counterclockwise) })
            {
                var rotated = new Mat();
                Cv2.Rotate(vga, rotated, code);
                variants.Add((rotation, rotated));
            }
            foreach (var quality in new[] { 30, 75, 95 }) variants.Add(($"JPEG {quality}", Jpeg(vga, quality)));
            foreach (var (name, frame) in variants)
                using (frame) tally.Unmarked("photo variants (crops, rescales, flips, rotations, JPEG)", $"{photo.Name} {name}", Watermark.Detect(frame));
        }
    }

    /// <summary>ffmpeg's generated sources, encoded to H.264: synthetic content with flat areas, hard edges, fractals and noise.</summary>
    private static void GeneratedVideos(int frames, string temp, Tally tally)
    {
        string[] sources =
        [
            "testsrc2=size=640x480:rate=25", "mandelbrot=size=640x480:rate=25", "life=size=640x480:rate=25:mold=10:death_color=#402010",
            "cellauto=size=640x480:rate=25:rule=110", "color=c=gray:size=640x480:rate=25,noise=alls=60:allf=t+u",
            "gradients=size=640x480:rate=25:speed=0.05", "sierpinski=size=640x480:rate=25",
        ];
        foreach (var source in sources)
        {
            var name = source[..source.IndexOf('=', StringComparison.Ordinal)];
            Console.Error.WriteLine($"generated video: {source}, {frames} frames");
            var path = Path.Combine(temp, $"{name}.mp4");
            Generate(source, frames, path, lossless: false);
            UnmarkedVideo("generated video frames (ffmpeg lavfi sources)", name, path, tally);
        }
    }

    private static void UnmarkedVideo(string group, string name, string path, Tally tally)
    {
        var video = new WatermarkDetector();
        foreach (var frame in ReadAll(path))
            using (frame)
            {
                tally.Unmarked(group, name, Watermark.Detect(frame));
                video.Add(frame);
            }
        tally.Unmarked("per video (frames combined)", name, video.Result());
    }

    /// <summary>Mean and 99th percentile of embed and detect on 640×480 frames of the photos, one core.</summary>
    private static (Stats Embed, Stats Detect) Cost(List<Photo> photos)
    {
        Console.Error.WriteLine("cost: embed and detect, 640x480, one thread");
        var frames = photos.Select(p => Fit(p.Image, Vga)).ToList();
        List<double> embed = [], detect = [];
        for (var i = 0; i < 600; i++)
        {
            var frame = frames[i % frames.Count];
            var start = Stopwatch.GetTimestamp();
            Watermark.Embed(frame, Payload);
            var middle = Stopwatch.GetTimestamp();
            Watermark.Detect(frame);
            var end = Stopwatch.GetTimestamp();
            if (i < 100) continue; // warm-up: JIT and caches
            embed.Add(Stopwatch.GetElapsedTime(start, middle).TotalMilliseconds);
            detect.Add(Stopwatch.GetElapsedTime(middle, end).TotalMilliseconds);
        }
        frames.ForEach(f => f.Dispose());
        return (Stats.Of(embed), Stats.Of(detect));
    }

    private sealed record Stats(double Mean, double Median, double P99)
    {
        public static Stats Of(List<double> values)
        {
            var sorted = values.Order().ToList();
            return new Stats(values.Average(), sorted[sorted.Count / 2], sorted[(int)(sorted.Count * 0.99)]);
        }
    }

    /// <summary>Counts per condition; remembers the misses by name so a failure says where.</summary>
    private sealed class Tally
    {
        private readonly Dictionary<string, (int Frames, int Correct, int Wrong, double MinScore)> _marked = [];
        private readonly Dictionary<string, (int Frames, int Positive, double MaxScore)> _unmarked = [];
        private readonly List<string> _misses = [];
        private readonly Dictionary<(string Condition, string Clip), (int Frames, int Correct)> _perClip = [];
        public List<double> Psnr { get; } = [];

        public void Marked(string condition, string name, WatermarkDetection detection)
        {
            var correct = detection.Marked && detection.Payload == Payload;
            var (frames, hits, wrong, min) = _marked.GetValueOrDefault(condition, (0, 0, 0, double.MaxValue));
            _marked[condition] = (frames + 1, hits + (correct ? 1 : 0), wrong + (detection.Marked && !correct ? 1 : 0), correct ? Math.Min(min, detection.Score) : min);
            if (condition.EndsWith("per frame", StringComparison.Ordinal))
            {
                var (clipFrames, clipCorrect) = _perClip.GetValueOrDefault((condition, name));
                _perClip[(condition, name)] = (clipFrames + 1, clipCorrect + (correct ? 1 : 0));
            }
            else if (!correct) _misses.Add($"missed: {condition}: {name}: {detection}");
        }

        public void Unmarked(string group, string name, WatermarkDetection detection)
        {
            var (frames, positive, max) = _unmarked.GetValueOrDefault(group, (0, 0, double.MinValue));
            _unmarked[group] = (frames + 1, positive + (detection.Marked ? 1 : 0), Math.Max(max, detection.Score));
            if (detection.Marked) _misses.Add($"false positive: {group}: {name}: {detection}");
        }

        public void Print(int photos, int clipFrames, Stats embed, Stats detect, TimeSpan elapsed)
        {
            Console.WriteLine($"Invisible watermark campaign: {photos} photos, 640x480 clips of {clipFrames} frames at 25 fps; payload {Payload}");
            Console.WriteLine();
            Console.WriteLine("| marked: condition                 | frames | correct payload |    rate | wrong payload | min score |");
            Console.WriteLine("|-----------------------------------|-------:|----------------:|--------:|--------------:|----------:|");
            foreach (var (condition, (frames, correct, wrong, min)) in _marked)
                Console.WriteLine($"| {condition,-33} | {frames,6} | {correct,15} | {100.0 * correct / frames,5:F1} % | {wrong,13} | {(correct > 0 ? min.ToString("F2", CultureInfo.InvariantCulture) : "-"),9} |");
            Console.WriteLine();
            Console.WriteLine("| mp4 per frame, by clip            | " + string.Join(" | ", _perClip.Keys.Select(k => k.Condition).Distinct().Select(c => $"{c[..c.IndexOf(',', StringComparison.Ordinal)],12}")) + " |");
            Console.WriteLine("|-----------------------------------|" + string.Concat(_perClip.Keys.Select(k => k.Condition).Distinct().Select(_ => "-------------:|")));
            foreach (var clip in _perClip.Keys.Select(k => k.Clip).Distinct())
                Console.WriteLine($"| {clip,-33} | " + string.Join(" | ", _perClip.Where(e => e.Key.Clip == clip).Select(e => $"{e.Value.Correct,4} of {e.Value.Frames,4}")) + " |");
            Console.WriteLine();
            Console.WriteLine("| unmarked: source                                         | frames | false positives |    rate | max score |");
            Console.WriteLine("|----------------------------------------------------------|-------:|----------------:|--------:|----------:|");
            int allFrames = 0, allPositive = 0;
            foreach (var (group, (frames, positive, max)) in _unmarked)
            {
                Console.WriteLine($"| {group,-56} | {frames,6} | {positive,15} | {100.0 * positive / frames,5:F2} % | {max,9:F2} |");
                if (group.StartsWith("per video", StringComparison.Ordinal)) continue;
                allFrames += frames;
                allPositive += positive;
            }
            Console.WriteLine($"| {"all unmarked frames",-56} | {allFrames,6} | {allPositive,15} | {100.0 * allPositive / allFrames,5:F2} % |           |");
            Console.WriteLine();
            var psnr = Psnr.Order().ToList();
            Console.WriteLine($"PSNR marked vs unmarked (B, G, R together; {psnr.Count} frames: stills and crf-18 clip frames before encoding): min {psnr[0]:F2} dB, median {psnr[psnr.Count / 2]:F2} dB");
            Console.WriteLine($"Cost per 640x480 frame on one core: embed mean {embed.Mean:F2} ms, median {embed.Median:F2}, p99 {embed.P99:F2}; detect mean {detect.Mean:F2} ms, median {detect.Median:F2}, p99 {detect.P99:F2}");
            Console.WriteLine($"Campaign time {elapsed.TotalSeconds:F0} s");
            if (allFrames < 500) Console.WriteLine($"note: only {allFrames} unmarked frames; raise --frames for the 500 the false-positive bound needs");
            foreach (var miss in _misses) Console.WriteLine(miss);
        }
    }

    private static Mat Fit(Mat image, Size size)
    {
        // Centre crop to the target's aspect ratio, then area downscale (or linear upscale), as a stream's scaler would.
        var aspect = (double)size.Width / size.Height;
        int width = Math.Min(image.Width, (int)Math.Round(image.Height * aspect)), height = Math.Min(image.Height, (int)Math.Round(image.Width / aspect));
        using var crop = image[new Rect((image.Width - width) / 2, (image.Height - height) / 2, width, height)];
        var frame = new Mat();
        Cv2.Resize(crop, frame, size, 0, 0, width >= size.Width ? InterpolationFlags.Area : InterpolationFlags.Linear);
        return frame;
    }

    /// <summary>The photo's centre, where its faces are, as a 210×250 head and shoulders pasted on a copy of <paramref name="backdrop"/>.</summary>
    private static Mat FaceOn(Mat backdrop, Mat image, Point at)
    {
        var frame = backdrop.Clone();
        using var face = image[new Rect(image.Width * 3 / 8, image.Height / 6, image.Width / 4, image.Height * 5 / 12)];
        using var target = frame[new Rect(at.X, at.Y, 210, 250)];
        Cv2.Resize(face, target, target.Size(), 0, 0, InterpolationFlags.Area);
        return frame;
    }

    private static Mat Crop(Mat image, Rect rect)
    {
        using var view = image[rect];
        return view.Clone();
    }

    /// <summary>A slow camera pan with zoom over the photo: content moves under the mark, the worst case for H.264.</summary>
    private static Mat Pan(Mat image, int i)
    {
        var width = (int)(image.Width * (0.8 - 0.003 * (i % 100)));
        var height = Math.Min(image.Height, width * 3 / 4);
        width = height * 4 / 3;
        var x = (int)((image.Width - width) * (0.1 + 0.008 * (i % 100)));
        using var crop = image[new Rect(Math.Min(x, image.Width - width), (image.Height - height) / 2, width, height)];
        var frame = new Mat();
        Cv2.Resize(crop, frame, Vga, 0, 0, InterpolationFlags.Area);
        return frame;
    }

    /// <summary>A webcam shot's head, swaying over a still room.</summary>
    private static Point Sway(int i) => new(215 + (int)(60 * Math.Sin(i * 0.25)), 110 + (int)(20 * Math.Sin(i * 0.4)));

    private static Mat Jpeg(Mat frame, int quality)
    {
        Cv2.ImEncode(".jpg", frame, out var bytes, new ImageEncodingParam(ImwriteFlags.JpegQuality, quality));
        return Cv2.ImDecode(bytes, ImreadModes.Color);
    }

    private static Mat Half(Mat frame)
    {
        var half = new Mat();
        Cv2.Resize(frame, half, new Size(frame.Width / 2, frame.Height / 2), 0, 0, InterpolationFlags.Area);
        return half;
    }

    private static void Generate(string source, int frames, string path, bool lossless) =>
        Ffmpeg.Run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", source, "-frames:v", frames.ToString(CultureInfo.InvariantCulture),
            "-c:v", "libx264", "-preset", "veryfast", .. lossless ? new[] { "-qp", "0", "-pix_fmt", "yuv444p" } : ["-crf", "18", "-pix_fmt", "yuv420p"], path], source);

    private static List<Mat> ReadAll(string path)
    {
        var info = MediaInfo.Probe(path);
        using var reader = new VideoFileReader(path, info);
        var frames = new List<Mat>();
        while (true)
        {
            var frame = new Mat(info.Height, info.Width, MatType.CV_8UC3);
            if (reader.Read(frame)) frames.Add(frame);
            else
            {
                frame.Dispose();
                return frames;
            }
        }
    }
}
