using BenchmarkDotNet.Running;
using FaceSwap.Bench;

// "watermark" runs the watermark campaign (a measurement over media, not a BenchmarkDotNet micro-benchmark).
if (args is ["watermark", .. var rest]) return WatermarkCampaign.Run(rest);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
