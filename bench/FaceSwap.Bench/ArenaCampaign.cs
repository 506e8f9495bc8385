using System.Diagnostics;
using System.Globalization;
using FaceSwap.Inference.Models;
using Microsoft.ML.OnnxRuntime;

namespace FaceSwap.Bench;

/// <summary>
/// <c>arena [--seconds S] [--mode on|off|shrink|nopattern] [--seed N]</c>: the worker's two batched models (BlazeFace, FaceMesh)
/// run on one thread with batch sizes drawn at random from 1 to 8, as the batchers form them, with ONNX Runtime's CPU arena
/// on (its default), off, on with shrinkage after every run, or on without memory patterns; RSS and malloc are sampled
/// every 10 s and each batch's latency is kept for batch 1 and 8. What the arena setting costs in memory and in time.
/// </summary>
public static class ArenaCampaign
{
    public static int Run(string[] args)
    {
        var (seconds, mode, seed) = (180.0, "on", 1);
        for (var i = 0; i + 1 < args.Length; i += 2)
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--mode": mode = args[i + 1]; break;
                case "--seed": seed = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"'{args[i]}': arena takes --seconds S, --mode on|off|shrink|nopattern, --seed N");
            }
        var store = new ModelStore(RepositoryPaths.ModelStore);
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            EnableCpuMemArena = mode != "off",
            EnableMemoryPattern = mode != "nopattern",
        };
        using var runOptions = new RunOptions();
        if (mode == "shrink") runOptions.AddRunConfigEntry("memory.enable_memory_arena_shrinkage", "cpu:0");
        var models = new[] { "blazeface-back", "facemesh" }.Select(name =>
        {
            var manifest = store.Get(name);
            return (Manifest: manifest, Session: new InferenceSession(store.VerifiedPath(manifest), options), Bound: new Dictionary<int, (OrtIoBinding, List<OrtValue>)>());
        }).ToList();
        (OrtIoBinding Binding, List<OrtValue> Values) Bind((ModelManifest Manifest, InferenceSession Session, Dictionary<int, (OrtIoBinding, List<OrtValue>)> Bound) model, int batch)
        {
            if (model.Bound.TryGetValue(batch, out var bound)) return bound;
            var binding = model.Session.CreateIoBinding();
            var values = new List<OrtValue>();
            foreach (var (tensor, input) in model.Manifest.Inputs.Select(t => (t, true)).Concat(model.Manifest.Outputs.Select(t => (t, false))))
            {
                var dims = tensor.Shape.Select(d => d < 0 ? batch : d).ToArray();
                var buffer = new float[dims.Aggregate(1L, (a, b) => a * b)];
                for (var k = 0; k < buffer.Length; k++) buffer[k] = Random.Shared.NextSingle() * 2 - 1;
                var value = OrtValue.CreateTensorValueFromMemory(buffer, dims);
                values.Add(value);
                if (input) binding.BindInput(tensor.Name, value); else binding.BindOutput(tensor.Name, value);
            }
            return model.Bound[batch] = (binding, values);
        }
        var random = new Random(seed);
        var latencies = models.ToDictionary(m => m.Manifest.Name, _ => new Dictionary<int, List<double>> { [1] = [], [8] = [] });
        Console.WriteLine($"arena: mode {mode}, {seconds:0} s, batch sizes 1..8 at random (seed {seed})");
        var clock = Stopwatch.StartNew();
        var nextSample = TimeSpan.Zero;
        var runs = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            if (clock.Elapsed >= nextSample)
            {
                using var process = Process.GetCurrentProcess();
                var (used, free) = NativeHeap.Malloc();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"arena: {clock.Elapsed.TotalSeconds,5:F0} s  RSS {process.WorkingSet64 / 1048576.0,6:F1} MiB  anon {NativeHeap.RssAnonMiB(),6:F1}  malloc used {used,6:F1} free {free,6:F1} MiB  runs {runs}"));
                nextSample += TimeSpan.FromSeconds(10);
            }
            foreach (var model in models)
            {
                var batch = random.Next(1, 9);
                var (binding, _) = Bind(model, batch);
                var start = Stopwatch.GetTimestamp();
                model.Session.RunWithBinding(runOptions, binding);
                var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (latencies[model.Manifest.Name].TryGetValue(batch, out var list)) list.Add(ms);
                runs++;
            }
        }
        foreach (var (name, byBatch) in latencies)
            foreach (var (batch, list) in byBatch)
            {
                list.Sort();
                double P(double q) => list.Count == 0 ? double.NaN : list[Math.Min(list.Count - 1, (int)(q * list.Count))];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"arena: mode {mode}  {name,-15} batch {batch}  p50 {P(0.5),7:F2} ms  p99 {P(0.99),7:F2} ms  n {list.Count}"));
            }
        foreach (var model in models)
        {
            foreach (var (binding, values) in model.Bound.Values)
            {
                binding.Dispose();
                foreach (var v in values) v.Dispose();
            }
            model.Session.Dispose();
        }
        return 0;
    }
}
