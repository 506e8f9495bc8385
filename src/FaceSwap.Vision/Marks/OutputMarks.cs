using OpenCvSharp;

namespace FaceSwap.Vision.Marks;

/// <summary>
/// The marks every output frame leaves with: the visible label (unless the config turned it off) and the invisible
/// watermark naming the node and the session, applied last so it covers the label too.
/// </summary>
public sealed record OutputMarks(LabelOptions Label, WatermarkPayload Payload)
{
    public void Apply(Mat frame)
    {
        VisibleLabel.Apply(frame, Label);
        Watermark.Embed(frame, Payload);
    }
}
