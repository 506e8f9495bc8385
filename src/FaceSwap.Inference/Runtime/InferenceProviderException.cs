namespace FaceSwap.Inference.Runtime;

/// <summary>No execution provider the options allow could run the model.</summary>
public sealed class InferenceProviderException(string model, string problem) : Exception($"{model}: {problem}");
