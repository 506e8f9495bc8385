using FaceSwap.Inference.Models;
using FaceSwap.Inference.Runtime;
using FaceSwap.Swap.Neural;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Cli.Commands;

/// <summary>Bring-your-own models as fsc swap and fsc eval open them from the store, by preset name.</summary>
public static class ByoModels
{
    /// <summary>A swapper and its ArcFace, from the store; a missing one is named with the command that adds it.</summary>
    public static NeuralModels OpenNeural(ModelStore models, string swapperPreset, InferenceOptions inference, ILogger logger)
    {
        var embedderPreset = NeuralSwapper.EmbedderOf[swapperPreset];
        foreach (var preset in new[] { swapperPreset, embedderPreset })
            if (!models.Contains(preset))
                throw Missing(models, preset);
        var swapper = ModelSession.Open(models, swapperPreset, inference, logger);
        var embedder = ModelSession.Open(models, embedderPreset, inference, logger);
        return new NeuralModels(new NeuralSwapper(swapper, models.VerifiedPath(swapper.Manifest), embedder), swapper, embedder);
    }

    /// <summary>A bring-your-own model by its preset name; a missing one is named with the command that adds it.</summary>
    public static ModelSession OpenFromStore(ModelStore models, string preset, InferenceOptions inference, ILogger logger) =>
        models.Contains(preset) ? ModelSession.Open(models, preset, inference, logger) : throw Missing(models, preset);

    private static ModelStoreException Missing(ModelStore models, string preset) =>
        new(models.ManifestPath(preset), $"no '{preset}' model in the store: add the file you have with 'fsc models add FILE.onnx --preset {preset}' (see docs/models.md)");

    public sealed record NeuralModels(NeuralSwapper Swapper, ModelSession SwapperModel, ModelSession EmbedderModel) : IDisposable
    {
        public IEnumerable<ModelManifest> Manifests => [SwapperModel.Manifest, EmbedderModel.Manifest];

        public void Dispose()
        {
            SwapperModel.Dispose();
            EmbedderModel.Dispose();
        }
    }
}
