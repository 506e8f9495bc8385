namespace FaceSwap.Inference.TfJs;

/// <summary>A TF.js graph model that cannot be read or converted: names the file and what is wrong with it.</summary>
public sealed class TfjsModelException(string file, string problem, Exception? inner = null)
    : Exception($"{file}: {problem}", inner)
{
    public string File { get; } = file;
    public string Problem { get; } = problem;
}
