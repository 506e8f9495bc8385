using FaceSwap.Faces.Alignment;
using FaceSwap.Inference.Models.Presets;
using FaceSwap.Inference.Runtime;
using FaceSwap.Vision;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OpenCvSharp;

namespace FaceSwap.Swap.Enhancement;

public sealed record EnhancerOptions
{
    /// <summary>How much of the restored face replaces the swapped one, 0 to 1 (FaceFusion's default 80 %).</summary>
    public float Blend { get; init; } = 0.8f;
    /// <summary>In a live stream, enhance every k-th frame only (the others keep the plain swap): restoration costs far more than a swap.</summary>
    public int EveryNthFrame { get; init; } = 1;
    /// <summary>CodeFormer's fidelity weight w: 0 favours restoration, 1 the input's identity.</summary>
    public float Fidelity { get; init; } = 1f;
    /// <summary>Blur of the crop's box mask as a fraction of the crop (FaceFusion's face_mask_blur).</summary>
    public float MaskBlur { get; init; } = 0.3f;

    public EnhancerOptions Validate() =>
        Blend is < 0 or > 1 ? throw new ArgumentException($"enhancer blend {Blend} must be between 0 and 1")
        : EveryNthFrame < 1 ? throw new ArgumentException($"enhance every {EveryNthFrame} frames: must be 1 or more")
        : Fidelity is < 0 or > 1 ? throw new ArgumentException($"CodeFormer fidelity {Fidelity} must be between 0 and 1")
        : MaskBlur is < 0 or > 1 ? throw new ArgumentException($"enhancer mask blur {MaskBlur} must be between 0 and 1")
        : this;
}

/// <summary>
/// Restores a swapped face with a bring-your-own enhancer (GFPGAN 1.4, CodeFormer, GPEN-BFR), as FaceFusion runs them: the face
/// aligned by its five points to the model's template (<see cref="Template"/>), RGB (x/255 − 0.5)/0.5, NCHW; the output clipped
/// to [−1, 1] and mapped back; pasted through a blurred box mask and the inverse affine; blended with the frame.
/// </summary>
public sealed class FaceEnhancer
{
    /// <summary>FFHQ's five points for a 512×512 crop (facexlib's face_template): eyes, nose tip, mouth corners, image-left first.</summary>
    public static readonly Point2f[] Ffhq512 =
    [
        new(192.98138f, 239.94708f), new(318.90277f, 240.1936f), new(256.63416f, 314.01935f), new(201.26117f, 371.41043f), new(313.08905f, 371.15118f),
    ];

    private readonly ModelSession _model;
    private readonly string _imageInput;
    private readonly string? _fidelityInput;
    private readonly int _size;

    public FaceEnhancer(ModelSession model, EnhancerOptions? options = null)
    {
        Options = (options ?? new EnhancerOptions()).Validate();
        if (model.Manifest.Task != "face-enhancement")
            throw new ArgumentException($"model '{model.Name}' is a {model.Manifest.Task} model, not a face enhancer");
        _model = model;
        var inputs = model.Session.InputMetadata;
        _imageInput = inputs.Keys.FirstOrDefault(k => inputs[k].Dimensions.Length == 4)
            ?? throw new ArgumentException($"model '{model.Name}' has no image input (a 4-D tensor)");
        _fidelityInput = inputs.Keys.FirstOrDefault(k => k == "weight");
        _size = inputs[_imageInput].Dimensions[2];
        if (_size <= 0 || inputs[_imageInput].Dimensions[3] != _size)
            throw new ArgumentException($"model '{model.Name}': image input '{_imageInput}' must be a fixed square, got [{string.Join(",", inputs[_imageInput].Dimensions)}]");
        Template = model.Manifest.Preset == ModelPresets.GpenBfr256.Name
            ? Aligner.Template(_size)
            : Ffhq512.Select(p => new Point2f(p.X * _size / 512f, p.Y * _size / 512f)).ToArray();
    }

    public EnhancerOptions Options { get; }
    public ModelSession Model => _model;
    public int Size => _size;

    /// <summary>
    /// Where the five points go in this model's crop, as FaceFusion's model table says: the FFHQ template at the crop's
    /// size for GFPGAN, CodeFormer and GPEN 512 to 2048; for GPEN 256 the ArcFace 128 template ×2 (its 'arcface_128').
    /// </summary>
    public Point2f[] Template { get; }

    /// <summary>Enhances the face whose five points (template order) are <paramref name="fivePoints"/>, in place.</summary>
    public void Enhance(Mat frame, ReadOnlySpan<Point2f> fivePoints)
    {
        if (frame.Type() != MatType.CV_8UC3) throw new ArgumentException($"expected an 8-bit BGR frame, got {frame.Type()}", nameof(frame));
        var frameToCrop = Aligner.Similarity(fivePoints, Template);
        using var crop = Aligner.Crop(frame, frameToCrop, _size);
        var input = new DenseTensor<float>([1, 3, _size, _size]);
        NchwPixels.FromBgr(crop, input.Buffer.Span, 1 / 127.5f, -1f);
        List<NamedOnnxValue> inputs = [NamedOnnxValue.CreateFromTensor(_imageInput, input)];
        if (_fidelityInput is not null)
            inputs.Add(NamedOnnxValue.CreateFromTensor(_fidelityInput, new DenseTensor<double>(new[] { (double)Options.Fidelity }, [1])));
        using (var results = _model.Session.Run(inputs))
        {
            var output = results[0].AsTensor<float>();
            if (output.Length != 3L * _size * _size)
                throw new InvalidOperationException($"model '{_model.Name}' returned {output.Length} values, not a {_size}x{_size} RGB image");
            // ToBgr clips: values beyond [−1, 1] land on 0 and 255, as numpy.clip(−1, 1) does.
            NchwPixels.ToBgr(output is DenseTensor<float> dense ? dense.Buffer.Span : output.ToArray(), crop, 127.5f, 127.5f, round: true);
        }
        BoxMaskPaste.Paste(frame, crop, frameToCrop, Options.MaskBlur, Options.Blend);
    }
}
