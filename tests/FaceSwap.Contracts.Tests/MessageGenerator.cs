using System.Collections;
using System.Reflection;
using System.Text;
using MessagePack;

namespace FaceSwap.Contracts.Tests;

/// <summary>
/// Random contract records for property tests: fills a record through its widest constructor, recursively, with
/// the edge values a wire format gets wrong (empty and non-ASCII strings, int/long extremes, NaN and infinities,
/// empty and large byte arrays, null where the declaration allows it). Seeded, so a failure replays.
/// </summary>
public sealed class MessageGenerator(int seed)
{
    private static readonly int[] Ints = [0, 1, -1, int.MinValue, int.MaxValue, 255, 256, -32769, 65536];
    private static readonly long[] Longs = [0, 1, -1, long.MinValue, long.MaxValue, int.MinValue, uint.MaxValue + 1L];
    private static readonly float[] Floats =
        [0f, -0f, 1f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MinValue, float.MaxValue, float.Epsilon, 1e-38f];
    private static readonly double[] Doubles =
        [0d, -0d, 1d, 30d, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.MinValue, double.MaxValue, double.Epsilon];
    // Code points from several scripts and planes (no lone surrogates: UTF-8 cannot carry them, so they never round-trip).
    private static readonly int[] CodePoints = ['a', 'Z', '0', ' ', '\0', '\n', 'é', 'ß', 'ш', 'ש', '中', 'ﷺ', '\u0301', '\uFEFF', 0x1F600, 0x10FFFF];

    private readonly Random _random = new(seed);
    private readonly NullabilityInfoContext _nullability = new();

    public Random Random => _random;

    public T Create<T>() => (T)Create(typeof(T));

    public object Create(Type type)
    {
        var constructor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        var args = constructor.GetParameters().Select(p => Value(p.ParameterType, _nullability.Create(p))).ToArray();
        return constructor.Invoke(args);
    }

    public byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        _random.NextBytes(bytes);
        return bytes;
    }

    private object? Value(Type type, NullabilityInfo nullability)
    {
        if (nullability.ReadState == NullabilityState.Nullable && _random.Next(3) == 0)
            return null;
        if (type == typeof(string))
            return String();
        if (type == typeof(int))
            return _random.Next(2) == 0 ? Ints[_random.Next(Ints.Length)] : _random.Next(int.MinValue, int.MaxValue);
        if (type == typeof(long))
            return _random.Next(2) == 0 ? Longs[_random.Next(Longs.Length)] : _random.NextInt64(long.MinValue, long.MaxValue);
        if (type == typeof(float))
            return _random.Next(2) == 0 ? Floats[_random.Next(Floats.Length)] : BitConverter.Int32BitsToSingle(_random.Next(int.MinValue, int.MaxValue));
        if (type == typeof(double))
            return _random.Next(2) == 0 ? Doubles[_random.Next(Doubles.Length)] : BitConverter.Int64BitsToDouble(_random.NextInt64(long.MinValue, long.MaxValue));
        if (type == typeof(bool))
            return _random.Next(2) == 0;
        if (type == typeof(byte[]))
            return Bytes(_random.Next(4) == 0 ? 0 : _random.Next(4097));
        if (type.IsArray)
        {
            var elementType = type.GetElementType()!;
            var array = Array.CreateInstance(elementType, _random.Next(elementType == typeof(float) ? 17 : 4));
            for (var i = 0; i < array.Length; i++)
                array.SetValue(Value(elementType, nullability.ElementType!), i);
            return array;
        }
        if (type == typeof(Dictionary<string, long>))
        {
            var counts = new Dictionary<string, long>();
            for (var i = _random.Next(4); i > 0; i--) counts[String()] = _random.NextInt64();
            return counts;
        }
        if (type.GetCustomAttribute<MessagePackObjectAttribute>() is not null)
            return Create(type);
        throw new NotSupportedException($"No generator for {type}: add one when a contract starts using it.");
    }

    private string String()
    {
        switch (_random.Next(6))
        {
            case 0:
                return "";
            case 1:
                return new string((char)_random.Next('a', 'z' + 1), _random.Next(1, 2000));
            default:
                var text = new StringBuilder();
                for (var n = _random.Next(1, 40); n > 0; n--)
                    text.Append(char.ConvertFromUtf32(_random.Next(2) == 0 ? CodePoints[_random.Next(CodePoints.Length)] : _random.Next(0x20, 0xD7FF)));
                return text.ToString();
        }
    }
}

/// <summary>
/// Structural equality of contract records, across versions: compares every [Key] member of <c>actual</c>'s
/// type with the member of the same name and key in <c>expected</c> (which may be another version's type with
/// more members), arrays element by element.
/// </summary>
public static class FieldAssert
{
    public static void Equal(object? expected, object? actual, string path = "")
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: expected {expected ?? "null"}, got {actual ?? "null"}");
            return;
        }
        var type = actual.GetType();
        if (type.GetCustomAttribute<MessagePackObjectAttribute>() is not null)
        {
            path = path.Length == 0 ? type.Name : path;
            foreach (var property in type.GetProperties().Where(p => p.GetCustomAttribute<KeyAttribute>() is not null))
            {
                var other = expected.GetType().GetProperty(property.Name);
                Assert.True(other is not null, $"{path}.{property.Name} is missing from {expected.GetType()}");
                Assert.Equal(property.GetCustomAttribute<KeyAttribute>()!.IntKey, other.GetCustomAttribute<KeyAttribute>()?.IntKey);
                Equal(other.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}");
            }
        }
        else if (actual is byte[] bytes)
            Assert.True(((byte[])expected).AsSpan().SequenceEqual(bytes), $"{path}: bytes differ");
        else if (actual is IDictionary map)
        {
            var expectedMap = (IDictionary)expected;
            Assert.True(expectedMap.Count == map.Count, $"{path}: {expectedMap.Count} entries expected, got {map.Count}");
            foreach (DictionaryEntry entry in expectedMap)
                Equal(entry.Value, map[entry.Key], $"{path}[{entry.Key}]");
        }
        else if (actual is IList list && actual is not string)
        {
            var expectedList = (IList)expected;
            Assert.True(expectedList.Count == list.Count, $"{path}: {expectedList.Count} elements expected, got {list.Count}");
            for (var i = 0; i < list.Count; i++)
                Equal(expectedList[i], list[i], $"{path}[{i}]");
        }
        else
            // float.Equals holds for NaN == NaN, which is what a round trip must keep.
            Assert.True(expected.Equals(actual), $"{path}: expected {expected}, got {actual}");
    }
}
