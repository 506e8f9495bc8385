using System.Reflection;
using System.Runtime.InteropServices;
using Akka.Actor;
using FaceSwap.Cluster.Placement;
using FaceSwap.Cluster.Worker;
using FaceSwap.Contracts.Management;
using FaceSwap.Inference.Runtime;

namespace FaceSwap.Node.Management;

/// <summary>
/// <c>fsc doctor</c> against a running node: versions, the execution provider each loaded model really runs on
/// (not the one asked for), the devices ONNX Runtime offers, and settings that will hurt (a worker on CPU where a
/// GPU provider is available, a model the plan puts here that is not loaded, an open API on every interface).
/// </summary>
public static class NodeDoctor
{
    public static string Version { get; } =
        typeof(NodeDoctor).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static DoctorFinding[] Findings(ActorSystem system, NodeSettings settings, WorkerModels? worker)
    {
        var findings = new List<DoctorFinding>
        {
            Ok("version", $"faceswap-node {Version}, Akka.NET {typeof(ActorSystem).Assembly.GetName().Version}, .NET {Environment.Version}, {RuntimeInformation.OSDescription} {RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} cores"),
            Ok("roles", $"{string.Join(", ", settings.Roles)}; config {settings.Source}"),
        };
        var (ready, reason) = NodeReadiness.Check(system, worker);
        findings.Add(new DoctorFinding(ready ? "ok" : "warn", "readiness", reason));
        if (settings.Management.Hostname is "0.0.0.0" or "::")
            findings.Add(new DoctorFinding("warn", "management", $"the API listens on every interface ({settings.Management.Hostname}:{settings.Management.Port}); only its token protects it: keep the token secret, or bind a private address"));
        if (!settings.Fsc.Label.Enabled)
            findings.Add(new DoctorFinding("warn", "label", "the visible label is off; every session is audited as label-off"));
        if (settings.Has(Contracts.Roles.Edge))
        {
            if (settings.Edge.Admission == AdmissionMode.Off)
                findings.Add(new DoctorFinding("warn", "admission", "admission control is off: a stream the farm cannot carry slows every stream down"));
            findings.Add(File.Exists(settings.Fsc.SigningKey)
                ? Ok("signing key", settings.Fsc.SigningKey)
                : new DoctorFinding("fail", "signing key", $"{settings.Fsc.SigningKey} missing: streams cannot sign their provenance; run 'fsc keys generate'"));
        }
        if (worker is not null) Worker(system, worker, findings);
        return [.. findings];
    }

    private static void Worker(ActorSystem system, WorkerModels worker, List<DoctorFinding> findings)
    {
        var available = Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders();
        var gpu = available.Where(p => p is not "CPUExecutionProvider").ToList();
        findings.Add(Ok("onnxruntime", $"providers in this build: {string.Join(", ", available)}; preferred {string.Join(" → ", InferenceOptions.DefaultProviders)}"));
        foreach (var (model, provider) in worker.Providers())
            findings.Add(new DoctorFinding(provider == "Cpu" && gpu.Count > 0 ? "warn" : "ok", $"model {model}",
                provider == "Cpu" && gpu.Count > 0 ? $"runs on the CPU although {string.Join(", ", gpu)} is available" : $"runs on {provider}"));
        var plan = PlacementView.For(system).Plan;
        var self = Akka.Cluster.Cluster.Get(system).SelfAddress.ToString();
        var loaded = worker.LoadedModels();
        foreach (var model in plan.ModelsOn(self).Except(loaded))
            findings.Add(new DoctorFinding("warn", $"placement {model}", $"plan v{plan.Version} puts it here but it is not loaded"));
        foreach (var model in loaded.Except(plan.ModelsOn(self)))
            findings.Add(new DoctorFinding("warn", $"placement {model}", $"loaded here but plan v{plan.Version} does not put it here (unloaded after the grace period)"));
        foreach (var failed in plan.Failed.Where(f => f.Node == self))
            findings.Add(new DoctorFinding("fail", $"load {failed.Model}", failed.Error));
        if (plan.IsDrained(self)) findings.Add(new DoctorFinding("warn", "drained", "an operator drained this node: it holds no model until undrained"));
    }

    private static DoctorFinding Ok(string subject, string detail) => new("ok", subject, detail);
}
