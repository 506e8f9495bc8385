using Akka.DistributedData;
using FaceSwap.Contracts.Placement;

namespace FaceSwap.Cluster.Placement;

/// <summary>Where the coordinator keeps its state in DistributedData (both keys durable: see config/faceswap.conf).</summary>
public static class PlacementKeys
{
    public static readonly LWWRegisterKey<PlacementPlan> Plan = new("faceswap-placement");
    public static readonly LWWRegisterKey<AdmissionLedger> Ledger = new("faceswap-admissions");
}
