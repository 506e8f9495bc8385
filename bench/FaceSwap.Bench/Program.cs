using BenchmarkDotNet.Running;
using FaceSwap.Bench;

// "watermark" runs the watermark campaign (a measurement over media, not a BenchmarkDotNet micro-benchmark).
if (args is ["watermark", .. var rest]) return WatermarkCampaign.Run(rest);
// "cluster" measures the cluster path against the in-process engine on the same frames.
if (args is ["cluster", .. var clusterArgs]) return ClusterCostCampaign.Run(clusterArgs);
BenchmarkSwitcher.FromAssembly(typeof(WatermarkCampaign).Assembly).Run(args);
return 0;
