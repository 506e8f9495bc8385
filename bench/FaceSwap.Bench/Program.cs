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
// "stages" measures each stage of a frame on one core: CPU time (p50/p99) and bytes allocated per frame.
if (args is ["stages", .. var stageArgs]) return StageCostCampaign.Run(stageArgs);
// "startup" measures each role's time from start to ready, and its RSS at idle and under load.
if (args is ["startup", .. var startupArgs]) return StartupCampaign.Run(startupArgs);
// "scaleout" measures served fps with 1, 2 and 4 worker processes, per core.
if (args is ["scaleout", .. var scaleArgs]) return ScaleOutCampaign.Run(scaleArgs);
// "live" measures the live edge: one stream alone, four clients (browser, WebSocket, ffmpeg) sharing it, browser latency.
if (args is ["live", .. var liveArgs]) return LiveCampaign.Run(liveArgs);
// "soak" runs live streams for a long time (30 min by default) and samples memory and handles for drift.
if (args is ["soak", .. var soakArgs]) return SoakCampaign.Run(soakArgs);
// "faults" runs the fault campaign: a farm of node processes, one fault at a time, watched from the streams' side.
if (args is ["faults", .. var faultArgs]) return FaultCampaign.Run(faultArgs);
// "sim" runs the farm on simulated GPUs under the real cluster code: the largest stream count this host sustains, then a quarter of the workers killed.
if (args is ["sim", .. var simArgs]) return SimCampaign.Run(simArgs);
// "sim-worker" is a simulated gpu-worker process the sim campaign starts; not for people to run.
if (args is [SimCampaign.WorkerCommand, .. var simWorkerArgs]) return SimCampaign.RunChild(simWorkerArgs);
// "arena" measures ONNX Runtime's CPU arena settings on the batched models: RSS over random batch sizes, latency per batch.
if (args is ["arena", .. var arenaArgs]) return ArenaCampaign.Run(arenaArgs);
// "report" splices the campaigns' fragments into BENCHMARKS.md.
if (args is ["report", .. var reportArgs]) return BenchReport.Run(reportArgs);
// "cluster-worker" is the worker process "cluster --pin" starts on its own core; not for people to run.
if (args is [ClusterWorkerProcess.Command, .. var workerArgs]) return ClusterWorkerProcess.RunChild(workerArgs);
BenchmarkSwitcher.FromAssembly(typeof(WatermarkCampaign).Assembly).Run(args);
return 0;
