namespace FaceSwap.Inference.Models.Presets;

/// <summary>
/// The models operators bring, as their reference implementations (insightface's model_zoo, FaceFusion) run them.
/// Their weights cannot be downloaded here and several are licensed for non-commercial research only.
/// </summary>
public static class ModelPresets
{
    private const string Float = "float32";

    /// <summary>
    /// insightface inswapper_128 (insightface/model_zoo/inswapper.py): target = aligned 128×128 crop, RGB in [0,1];
    /// source = the ArcFace embedding mapped through the graph's last initializer (emap) and L2-normalised.
    /// </summary>
    public static readonly ModelPreset Inswapper128 = new(
        "inswapper_128", "face-swap",
        [
            new("target", Float, [1, 3, 128, 128], "NCHW", "RGB", Normalization.ZeroToOne, "target face aligned to the ArcFace template (128 px, +8 px in x)"),
            new("source", Float, [1, 512], Meaning: "latent: normalise(normalise(ArcFace embedding) @ emap)"),
        ],
        [new("output", Float, [1, 3, 128, 128], "NCHW", "RGB", Meaning: "swapped face, RGB in [0,1]")],
        // The published inswapper_128.onnx; FP16 and re-exported copies have other hashes and are other models.
        "e4a3f08c753cb72d04e10aa0f7dbe3deebbf39567d4ead6dce08e98aa49e16af",
        "insightface (deepinsight/insightface, inswapper_128.onnx)",
        "insightface model licence: non-commercial research use only");

    /// <summary>ArcFace ResNet-50 trained on WebFace600K (w600k_r50.onnx of buffalo_l): 112×112 ArcFace crop, (x−127.5)/127.5, RGB.</summary>
    public static readonly ModelPreset ArcFaceW600kR50 = new(
        "arcface_w600k_r50", "face-embedding",
        [new("input.1", Float, [-1, 3, 112, 112], "NCHW", "RGB", Normalization.MinusOneToOne, "face aligned to the ArcFace 112 template")],
        [new(null, Float, [-1, 512], Meaning: "identity embedding, 512 values, not normalised")],
        null, // no single published hash that we can vouch for
        "insightface buffalo_l pack (w600k_r50.onnx)",
        "insightface model licence: non-commercial research use only");

    /// <summary>
    /// SCRFD 10G with keypoints (det_10g.onnx of buffalo_l), as insightface/model_zoo/scrfd.py reads it: outputs by
    /// position, scores then boxes then keypoints, each for strides 8, 16, 32 with 2 anchors per cell; input (x−127.5)/128 RGB.
    /// </summary>
    public static readonly ModelPreset Scrfd10g = new(
        "scrfd_10g", "face-detection",
        [new("input.1", Float, [1, 3, -1, -1], "NCHW", "RGB", new Normalization(1f / 128f, -127.5f / 128f), "letterboxed frame, 640×640 by default")],
        [
            new(null, Float, [-1, 1], Meaning: "scores, stride 8"),
            new(null, Float, [-1, 1], Meaning: "scores, stride 16"),
            new(null, Float, [-1, 1], Meaning: "scores, stride 32"),
            new(null, Float, [-1, 4], Meaning: "box distances (left, top, right, bottom) in strides, stride 8"),
            new(null, Float, [-1, 4], Meaning: "box distances, stride 16"),
            new(null, Float, [-1, 4], Meaning: "box distances, stride 32"),
            new(null, Float, [-1, 10], Meaning: "5 keypoint offsets in strides, stride 8"),
            new(null, Float, [-1, 10], Meaning: "5 keypoint offsets, stride 16"),
            new(null, Float, [-1, 10], Meaning: "5 keypoint offsets, stride 32"),
        ],
        null, // no single published hash that we can vouch for
        "insightface buffalo_l pack (det_10g.onnx)",
        "insightface model licence: non-commercial research use only");

    /// <summary>GFPGAN v1.4 as FaceFusion exports it (input named 'input', output read by position): 512×512 FFHQ crop, (x/255−0.5)/0.5, RGB.</summary>
    public static readonly ModelPreset Gfpgan14 = new(
        "gfpgan_1.4", "face-enhancement",
        [new("input", Float, [1, 3, 512, 512], "NCHW", "RGB", Normalization.MinusOneToOne, "face aligned to the FFHQ 5-point template")],
        [new(null, Float, [1, 3, 512, 512], "NCHW", "RGB", Meaning: "restored face in [-1,1] (clip before use)")],
        null, // ONNX exports differ; no single published hash that we can vouch for
        "TencentARC/GFPGAN v1.4 weights, exported to ONNX (e.g. by FaceFusion)",
        "code Apache-2.0 (TencentARC/GFPGAN); the weights under their own terms: read them before any commercial use");

    /// <summary>
    /// CodeFormer as FaceFusion exports it: the GFPGAN crop and normalisation, plus the fidelity weight w as a float64
    /// tensor of one value (FaceFusion's face_enhancer.py feeds numpy.double); output read by position.
    /// </summary>
    public static readonly ModelPreset CodeFormer = new(
        "codeformer", "face-enhancement",
        [
            new("input", Float, [1, 3, 512, 512], "NCHW", "RGB", Normalization.MinusOneToOne, "face aligned to the FFHQ 5-point template"),
            new("weight", "float64", [1], Meaning: "fidelity w: 0 favours restoration, 1 the input's identity"),
        ],
        [new(null, Float, [1, 3, 512, 512], "NCHW", "RGB", Meaning: "restored face in [-1,1] (clip before use)")],
        null, // ONNX exports differ; no single published hash that we can vouch for
        "sczhou/CodeFormer weights, exported to ONNX (e.g. by FaceFusion)",
        "S-Lab License 1.0: non-commercial use only");

    /// <summary>GPEN-BFR 256 as FaceFusion runs it: the GFPGAN normalisation, but the face aligned to the ArcFace 128 template ×2 (its 'arcface_128').</summary>
    public static readonly ModelPreset GpenBfr256 = Gpen(256, "face aligned to the ArcFace 128 template (+8 px in x) scaled ×2");
    /// <summary>GPEN-BFR 512, 1024 and 2048 as FaceFusion runs them: the GFPGAN crop (FFHQ template at the model's size) and normalisation.</summary>
    public static readonly ModelPreset GpenBfr512 = Gpen(512, "face aligned to the FFHQ 5-point template");
    /// <inheritdoc cref="GpenBfr512"/>
    public static readonly ModelPreset GpenBfr1024 = Gpen(1024, "face aligned to the FFHQ 5-point template ×2");
    /// <inheritdoc cref="GpenBfr512"/>
    public static readonly ModelPreset GpenBfr2048 = Gpen(2048, "face aligned to the FFHQ 5-point template ×4");

    // FaceFusion's GPEN exports: one image input named 'input', the output read by position.
    private static ModelPreset Gpen(int size, string crop) => new(
        $"gpen_bfr_{size}", "face-enhancement",
        [new("input", Float, [1, 3, size, size], "NCHW", "RGB", Normalization.MinusOneToOne, crop)],
        [new(null, Float, [1, 3, size, size], "NCHW", "RGB", Meaning: "restored face in [-1,1] (clip before use)")],
        null, // ONNX exports differ; no single published hash that we can vouch for
        $"yangxy/GPEN GPEN-BFR-{size} weights, exported to ONNX (e.g. FaceFusion's gpen_bfr_{size}.onnx)",
        "GPEN (Alibaba DAMO Academy): academic and non-commercial use only");

    /// <summary>
    /// SimSwap 256 as FaceFusion runs it (face_swapper.py): 'target' = 256×256 crop aligned to the arcface_v1 template
    /// (×256/112), RGB, (x/255 − ImageNet mean)/std per channel; 'source' = the L2-normalised embedding of its own
    /// ArcFace (arcface_simswap); output read by position, RGB in [0,1].
    /// </summary>
    public static readonly ModelPreset SimSwap256 = new(
        "simswap_256", "face-swap",
        [
            new("target", Float, [1, 3, 256, 256], "NCHW", "RGB", Meaning: "target face aligned to arcface_v1 ×256/112; (x/255 − [0.485,0.456,0.406]) / [0.229,0.224,0.225]"),
            new("source", Float, [1, 512], Meaning: "L2-normalised arcface_simswap embedding"),
        ],
        [new(null, Float, [1, 3, 256, 256], "NCHW", "RGB", Meaning: "swapped face, RGB in [0,1]")],
        null, // no single published hash that we can vouch for
        "neuralchen/SimSwap, exported to ONNX (e.g. FaceFusion's simswap_256.onnx)",
        "SimSwap: CC BY-NC 4.0, non-commercial; its ArcFace weights under their own terms");

    /// <summary>The ArcFace SimSwap was trained with (FaceFusion's arcface_simswap): arcface_v1 112 crop, x/127.5 − 1, RGB.</summary>
    public static readonly ModelPreset ArcFaceSimSwap = new(
        "arcface_simswap", "face-embedding",
        [new(null, Float, [-1, 3, 112, 112], "NCHW", "RGB", Normalization.MinusOneToOne, "face aligned to the arcface_v1 112 template")],
        [new(null, Float, [-1, 512], Meaning: "identity embedding, 512 values, L2-normalised by the caller")],
        null,
        "SimSwap's ArcFace checkpoint, exported to ONNX (e.g. FaceFusion's arcface_simswap.onnx)",
        "SimSwap: CC BY-NC 4.0, non-commercial");

    public static readonly IReadOnlyList<ModelPreset> All =
        [Inswapper128, ArcFaceW600kR50, Scrfd10g, Gfpgan14, CodeFormer, GpenBfr256, GpenBfr512, GpenBfr1024, GpenBfr2048, SimSwap256, ArcFaceSimSwap];

    public static ModelPreset Get(string name) =>
        All.FirstOrDefault(p => p.Name == name)
        ?? throw new ArgumentException($"no preset '{name}'; the presets are {string.Join(", ", All.Select(p => p.Name))}");
}
