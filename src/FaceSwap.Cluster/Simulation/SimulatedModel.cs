namespace FaceSwap.Cluster.Simulation;

/// <summary>
/// One model on a simulated device: a batch of n items takes <see cref="FixedMs"/> + n × <see cref="PerItemMs"/>
/// (launch, copies and sync once per run; the compute per face), and holds <see cref="DeviceBytes"/> of device memory.
/// </summary>
public sealed record SimulatedModel(string Name, double FixedMs, double PerItemMs, long DeviceBytes)
{
    public double BatchMs(int items) =>
        items >= 1 ? FixedMs + items * PerItemMs : throw new ArgumentOutOfRangeException(nameof(items), $"{Name}: a batch has 1 item or more, got {items}");

    /// <exception cref="ArgumentException">a negative cost or size, named</exception>
    public SimulatedModel Validated()
    {
        if (string.IsNullOrWhiteSpace(Name)) throw new ArgumentException("a simulated model needs a name");
        if (!(FixedMs >= 0) || !(PerItemMs >= 0) || !double.IsFinite(FixedMs + PerItemMs))
            throw new ArgumentException($"{Name}: fixed {FixedMs} ms and per-item {PerItemMs} ms must be finite and 0 or more");
        if (DeviceBytes < 0) throw new ArgumentException($"{Name}: device memory {DeviceBytes} bytes is negative");
        return this;
    }
}
