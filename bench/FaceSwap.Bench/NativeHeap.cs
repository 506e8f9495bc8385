using System.Runtime.InteropServices;

namespace FaceSwap.Bench;

/// <summary>Where a Linux process's memory is, past the managed heap: glibc's malloc (ONNX Runtime's and OpenCV's buffers) and anonymous RSS.</summary>
internal static partial class NativeHeap
{
    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [LibraryImport("libc", EntryPoint = "mallinfo2")]
    private static partial MallInfo2 MallInfo();

    /// <summary>Bytes malloc has handed out and not had back (arenas and mmapped blocks), and bytes free inside its arenas (fragmentation, or memory kept for reuse), in MiB; zeros where glibc lacks mallinfo2.</summary>
    public static (double UsedMiB, double FreeMiB) Malloc()
    {
        try
        {
            var info = MallInfo();
            return ((info.Uordblks + info.Hblkhd) / 1048576.0, info.Fordblks / 1048576.0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return (0, 0);
        }
    }

    /// <summary>RssAnon of /proc/self/status in MiB: resident memory not backed by a file (heaps, arenas, stacks).</summary>
    public static double RssAnonMiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(8).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
        return 0;
    }
}
