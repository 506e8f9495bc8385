namespace FaceSwap.Cluster;

/// <summary>Keys for the stage regions (or their proxies) in the node's actor registry.</summary>
public sealed class DetectRegion;

public sealed class SwapRegion;

public sealed class EnhanceRegion;
