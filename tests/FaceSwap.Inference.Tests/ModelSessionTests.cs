using System.Diagnostics;
using System.Text.Json;
using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Inference.Tests;

public sealed class ModelSessionTests(DefaultPackFixture pack) : IClassFixture<DefaultPackFixture>, IDisposable
{
    private readonly TestPaths.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Cuda_requested_on_the_cpu_build_falls_back_to_cpu_and_says_so()
    {
        var log = new ListLogger();
        using var session = ModelSession.Open(pack.Store, "facemesh", new InferenceOptions { Providers = [ExecutionProvider.Cuda, ExecutionProvider.Cpu] }, log);
        Assert.Equal(ExecutionProvider.Cpu, session.Provider);
        Assert.Contains(log.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("facemesh: Cuda requested, but this ONNX Runtime build offers only CPUExecutionProvider"));
        Assert.Contains(log.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("facemesh: runs on Cpu, not on the preferred Cuda"));
    }

    [Fact]
    public void Without_cpu_fallback_a_missing_provider_refuses_to_load()
    {
        var error = Assert.Throws<InferenceProviderException>(() => ModelSession.Open(pack.Store, "facemesh",
            new InferenceOptions { Providers = [ExecutionProvider.TensorRt], CpuFallback = false }, new ListLogger()));
        Assert.Contains("none of the execution providers [TensorRt]", error.Message);
    }

    [Fact]
    public void Bound_buffers_run_the_model_and_a_batch_of_two_matches_two_singles()
    {
        using var session = ModelSession.Open(pack.Store, "mobilefacenet", new InferenceOptions(), new ListLogger());
        using var single = session.Bind();
        using var pair = session.Bind(2);
        var random = new Random(7);
        var a = Enumerable.Range(0, single.Input().Length).Select(_ => (float)random.NextDouble()).ToArray();
        var b = Enumerable.Range(0, single.Input().Length).Select(_ => (float)random.NextDouble()).ToArray();
        a.CopyTo(pair.Input(), 0);
        b.CopyTo(pair.Input(), a.Length);
        pair.Run();
        foreach (var (input, offset) in new[] { (a, 0), (b, single.Output().Length) })
        {
            input.CopyTo(single.Input(), 0);
            single.Run();
            for (var i = 0; i < single.Output().Length; i++)
                Assert.Equal(single.Output()[i], pair.Output()[offset + i], 4);
        }
    }

    [Fact]
    public void Missing_model_file_and_changed_model_file_are_refused_before_loading()
    {
        var store = CopyOfPack();
        var manifest = store.Get("selfie");
        File.Delete(store.ModelPath(manifest));
        Assert.Contains("model file of 'selfie' is missing",
            Assert.Throws<ModelStoreException>(() => ModelSession.Open(store, "selfie", new InferenceOptions(), new ListLogger())).Problem);

        File.WriteAllBytes(store.ModelPath(manifest), [1, 2, 3]);
        Assert.Contains("does not match the manifest",
            Assert.Throws<ModelStoreException>(() => ModelSession.Open(store, "selfie", new InferenceOptions(), new ListLogger())).Problem);
    }

    [Fact]
    public void Corrupted_onnx_file_whose_hash_matches_is_refused_as_not_loadable()
    {
        var store = CopyOfPack();
        var manifest = store.Get("selfie");
        var bytes = File.ReadAllBytes(store.ModelPath(manifest));
        store.Add(manifest, bytes.AsSpan(0, bytes.Length / 3)); // a truncated file, recorded with its own hash
        var error = Assert.Throws<ModelStoreException>(() => ModelSession.Open(store, "selfie", new InferenceOptions(), new ListLogger()));
        Assert.Equal(store.ModelPath(manifest), error.Path);
        Assert.Contains("not a loadable ONNX model", error.Problem);
    }

    [Fact]
    public void Gpu_build_property_swaps_the_cpu_package_for_the_gpu_one()
    {
        var project = Path.Combine(TestPaths.Root, "src", "FaceSwap.Inference", "FaceSwap.Inference.csproj");
        Assert.Equal(["Microsoft.ML.OnnxRuntime"], OnnxRuntimePackages(project));
        Assert.Equal(["Microsoft.ML.OnnxRuntime.Gpu.Linux"], OnnxRuntimePackages(project, "-p:OnnxRuntimeGpu=true"));
    }

    private static string[] OnnxRuntimePackages(string project, params string[] properties)
    {
        var start = new ProcessStartInfo("dotnet", ["msbuild", project, "-getItem:PackageReference", .. properties]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"dotnet msbuild failed: {output}{process.StandardError.ReadToEnd()}");
        using var json = JsonDocument.Parse(output);
        return json.RootElement.GetProperty("Items").GetProperty("PackageReference").EnumerateArray()
            .Select(item => item.GetProperty("Identity").GetString()!)
            .Where(name => name.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal)).ToArray();
    }

    private ModelStore CopyOfPack()
    {
        var store = new ModelStore(Path.Combine(_dir.Path, "store"));
        foreach (var manifest in pack.Store.List())
            store.Add(manifest, File.ReadAllBytes(pack.Store.VerifiedPath(manifest)));
        return store;
    }

    /// <summary>Keeps what is logged, so a test can check what was said.</summary>
    internal sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Text)> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }
}
