namespace FaceSwap.Contracts.Management;

// What the management API answers over HTTP (JSON, camelCase), and fsc reads back: one shape on both sides.

/// <summary><c>cluster show</c>: the members as the answering node sees them.</summary>
public sealed record ClusterView(string Self, string? Leader, string? Oldest, MemberView[] Members);

/// <param name="Status">joining, weakly-up, up, leaving, exiting, down, removed</param>
/// <param name="Reachable">false when a node's failure detector marked it unreachable</param>
public sealed record MemberView(string Address, string Status, string[] Roles, bool Reachable);

/// <summary>One event of <c>cluster tail</c>.</summary>
public sealed record MemberEvent(DateTimeOffset Time, string Event, string Address, string Status, string[] Roles);

/// <summary>An operator's command was done (or refused) with this message.</summary>
public sealed record CommandResult(bool Ok, string Message);

/// <summary><c>cluster-sharding region-stats</c>: per node, the shards and entities of one region type.</summary>
public sealed record RegionStatsView(string Type, RegionStat[] Regions);

public sealed record RegionStat(string Address, int Shards, int Entities);

/// <summary><c>cluster-sharding shard-stats</c>: per shard, where it lives and how many entities it has.</summary>
public sealed record ShardStatsView(string Type, ShardStat[] Shards, string[] Unanswered);

public sealed record ShardStat(string Address, string Shard, int Entities);

/// <summary><c>actor hierarchy</c>: one actor and its children, to the depth asked.</summary>
public sealed record ActorNode(string Name, string Path, ActorNode[] Children);

/// <summary><c>log peek</c>: one line of the node's log.</summary>
public sealed record LogEntry(DateTimeOffset Time, string Level, string Category, string Message);

/// <summary><c>doctor</c>: every node's findings.</summary>
public sealed record DoctorView(NodeStatus[] Nodes, string[] Unanswered);

/// <summary><c>streams list</c>: the live streams of every edge.</summary>
public sealed record StreamsView(StreamSummary[] Streams, string[] Unanswered);

/// <summary>A live stream an edge started (<c>fsc stream start</c>): its id, audit session, source, outputs and MJPEG path.</summary>
public sealed record LiveStreamStarted(string StreamId, string Session, string Source, string[] Outputs, string Mjpeg);
