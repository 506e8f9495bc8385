namespace FaceSwap.Cluster;

/// <summary>Keys for the stage regions (or their proxies) in the node's actor registry.</summary>
public sealed class DetectRegion;

public sealed class SwapRegion;

public sealed class EnhanceRegion;

/// <summary>Key for the placement coordinator's singleton proxy.</summary>
public sealed class PlacementCoordinatorKey;
