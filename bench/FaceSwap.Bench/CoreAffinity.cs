using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace FaceSwap.Bench;

/// <summary>
/// Pins every thread of this process to a set of cores. On Linux <see cref="Process.ProcessorAffinity"/> is
/// sched_setaffinity on the process id, which is the main thread only: the thread pool, the GC's, Akka's and
/// ONNX Runtime's threads would keep running anywhere. Each thread (/proc/self/task) is pinned instead; threads
/// started later inherit their creator's cores, so once all are pinned, all stay pinned.
/// </summary>
public static partial class CoreAffinity
{
    /// <summary>The cores as a mask: bit i is core i.</summary>
    public static ulong Mask(IEnumerable<int> cores) => cores.Aggregate(0UL, (mask, core) => mask | 1UL << core);

    /// <summary>Pins every thread of this process to <paramref name="mask"/>; returns how many threads there were.</summary>
    /// <exception cref="InvalidOperationException">a thread could not be pinned (errno given)</exception>
    public static int Pin(ulong mask)
    {
        if (mask == 0) throw new ArgumentException("no core to pin to", nameof(mask));
        if (OperatingSystem.IsWindows())
        {
            // There the process mask does apply to all of its threads.
            using var self = Process.GetCurrentProcess();
            self.ProcessorAffinity = (nint)mask;
            return self.Threads.Count;
        }
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException($"pinning threads to cores is done on Linux and Windows only, not on {RuntimeInformation.OSDescription}");
        // A thread started while this runs may inherit the old mask from a creator not yet pinned: go round again until none is left.
        for (var round = 0; round < 20; round++)
        {
            var (threads, changed) = (0, 0);
            foreach (var tid in Threads())
            {
                threads++;
                if (Get(tid) == mask) continue;
                if (SchedSetAffinity(tid, sizeof(ulong), ref mask) != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == NoSuchThread) continue; // it ended meanwhile
                    throw new InvalidOperationException($"could not pin thread {tid} to cores {Describe(mask)}: errno {errno}");
                }
                changed++;
            }
            if (changed == 0) return threads;
        }
        throw new InvalidOperationException($"threads kept starting with other cores than {Describe(mask)} after 20 rounds of pinning");
    }

    /// <summary>The cores this thread may run on (the first 64): what the process was started with, before any pinning.</summary>
    public static ulong Current()
    {
        if (OperatingSystem.IsWindows())
        {
            using var self = Process.GetCurrentProcess();
            return (ulong)self.ProcessorAffinity;
        }
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException($"reading the cores of a thread is done on Linux and Windows only, not on {RuntimeInformation.OSDescription}");
        return Get(0) ?? throw new InvalidOperationException("could not read this thread's cores");
    }

    /// <summary>The threads of this process not on exactly <paramref name="mask"/>: a check that pinning held.</summary>
    public static int Strays(ulong mask) => OperatingSystem.IsLinux() ? Threads().Count(tid => Get(tid) is { } m && m != mask) : 0;

    /// <summary>"0" or "0, 1": the cores of a mask, for messages.</summary>
    public static string Describe(ulong mask) =>
        string.Join(", ", Enumerable.Range(0, 64).Where(i => (mask >> i & 1) != 0).Select(i => i.ToString(CultureInfo.InvariantCulture)));

    private static IEnumerable<int> Threads() =>
        Directory.EnumerateDirectories("/proc/self/task").Select(d => int.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture));

    /// <summary>The thread's cores (the first 64), or null when it ended meanwhile.</summary>
    private static ulong? Get(int tid)
    {
        // The kernel refuses a buffer smaller than its own mask size: room for 1024 cores.
        Span<ulong> buffer = stackalloc ulong[16];
        if (SchedGetAffinity(tid, buffer.Length * sizeof(ulong), ref buffer[0]) >= 0) return buffer[0];
        var errno = Marshal.GetLastPInvokeError();
        return errno == NoSuchThread ? null : throw new InvalidOperationException($"could not read thread {tid}'s cores: errno {errno}");
    }

    private const int NoSuchThread = 3; // ESRCH

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int tid, nint size, ref ulong mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int tid, nint size, ref ulong mask);
}
