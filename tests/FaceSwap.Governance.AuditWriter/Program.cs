using FaceSwap.Governance.Audit;

// Usage: FaceSwap.Governance.AuditWriter <audit.db> <node>
// Appends events as fast as it can until killed; prints "appending" once the first append has committed.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: FaceSwap.Governance.AuditWriter <audit.db> <node>");
    return 2;
}
using var log = AuditLog.OpenFile(args[0], node: args[1]);
var random = new Random();
for (long i = 0; ; i++)
{
    // Details of 10 B to 6 KB: some events spill onto overflow pages, so a kill can land inside a multi-page write.
    var details = new string((char)('a' + i % 26), random.Next(10, 6_000));
    log.Append("audit-writer", AuditKinds.SettingsChanged, details, session: $"writer-{args[1]}", identity: i % 3 == 0 ? "id-writer" : null);
    if (i == 0)
    {
        Console.WriteLine("appending");
        Console.Out.Flush();
    }
}
