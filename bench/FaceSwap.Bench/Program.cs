using BenchmarkDotNet.Running;
using FaceSwap.Bench;

// "watermark" runs the watermark campaign (a measurement over media, not a BenchmarkDotNet micro-benchmark).
if (args is ["watermark", .. var rest]) return WatermarkCampaign.Run(rest);
// "cluster" measures the cluster path against the in-process engine on the same frames.
if (args is ["cluster", .. var clusterArgs]) return ClusterCostCampaign.Run(clusterArgs);
// "batching" measures batching across streams on one worker: off against on, same frames.
if (args is ["batching", .. var batchingArgs]) return BatchingCampaign.Run(batchingArgs);
// "overload" draws the overload curve: offered against served fps and latency at 1x to 4x capacity.
if (args is ["overload", .. var overloadArgs]) return OverloadCurve.Run(overloadArgs);
// "classic" runs the popular tools' single loop against ours on the same camera frames.
if (args is ["classic", .. var classicArgs]) return ClassicLoopCampaign.Run(classicArgs);
// "cluster-worker" is the worker process "cluster --pin" starts on its own core; not for people to run.
if (args is [ClusterWorkerProcess.Command, .. var workerArgs]) return ClusterWorkerProcess.RunChild(workerArgs);
BenchmarkSwitcher.FromAssembly(typeof(WatermarkCampaign).Assembly).Run(args);
return 0;
