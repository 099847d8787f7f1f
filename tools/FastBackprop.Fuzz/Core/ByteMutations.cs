using System.Text;

namespace FastBackprop.Fuzz;

/// <summary>Format-blind mutations of a byte array: each returns a new array and appends what it did to a description.</summary>
public static class ByteMutations
{
    // Bytes that mean something to one of the formats: separators, quotes, line ends, sign bits, all-ones.
    private static readonly byte[] Interesting = [0, 1, 0x7F, 0x80, 0xFF, (byte)'"', (byte)',', (byte)'\n', (byte)'\r', (byte)'-', (byte)'e', (byte)'.', 0x1f, 0x8b];

    /// <summary>Applies 1 to 4 random mutations.</summary>
    public static byte[] Mutate(byte[] input, Random random, StringBuilder description)
    {
        byte[] bytes = input;
        int count = random.Next(1, 5);
        for (int i = 0; i < count; i++)
        {
            if (i > 0)
                description.Append("; ");
            bytes = MutateOnce(bytes, random, description);
        }
        return bytes;
    }

    private static byte[] MutateOnce(byte[] bytes, Random random, StringBuilder description)
    {
        int length = bytes.Length;
        switch (random.Next(length == 0 ? 1 : 7))
        {
            case 0:
                {
                    // Insert random or interesting bytes (a no-op mutation never happens: at least one byte).
                    int at = random.Next(length + 1);
                    int n = random.Next(1, 9);
                    var inserted = new byte[n];
                    for (int k = 0; k < n; k++)
                        inserted[k] = random.Next(2) == 0 ? (byte)random.Next(256) : Interesting[random.Next(Interesting.Length)];
                    description.Append($"insert {Convert.ToHexString(inserted)} at {at}");
                    return [.. bytes.AsSpan(0, at), .. inserted, .. bytes.AsSpan(at)];
                }
            case 1:
                {
                    int at = random.Next(length);
                    int bit = random.Next(8);
                    description.Append($"flip bit {bit} at {at}");
                    byte[] copy = (byte[])bytes.Clone();
                    copy[at] ^= (byte)(1 << bit);
                    return copy;
                }
            case 2:
                {
                    int at = random.Next(length);
                    byte value = Interesting[random.Next(Interesting.Length)];
                    description.Append($"set byte {at} to {value:X2}");
                    byte[] copy = (byte[])bytes.Clone();
                    copy[at] = value;
                    return copy;
                }
            case 3:
                {
                    int at = random.Next(length);
                    description.Append($"truncate to {at} bytes");
                    return bytes[..at];
                }
            case 4:
                {
                    int start = random.Next(length);
                    int n = random.Next(1, Math.Min(length - start, 64) + 1);
                    description.Append($"delete {n} bytes at {start}");
                    return [.. bytes.AsSpan(0, start), .. bytes.AsSpan(start + n)];
                }
            case 5:
                {
                    // Duplicate a range somewhere else (repeats rows, header fields, records).
                    int start = random.Next(length);
                    int n = random.Next(1, Math.Min(length - start, 256) + 1);
                    int at = random.Next(length + 1);
                    int times = random.Next(1, 4);
                    description.Append($"copy {n} bytes from {start} to {at} ×{times}");
                    var result = new List<byte>(length + n * times);
                    result.AddRange(bytes.AsSpan(0, at));
                    for (int t = 0; t < times; t++)
                        result.AddRange(bytes.AsSpan(start, n));
                    result.AddRange(bytes.AsSpan(at));
                    return [.. result];
                }
            default:
                {
                    // Overwrite a little-endian or big-endian 32-bit field with a boundary value.
                    if (length < 4)
                        goto case 3;
                    int at = random.Next(length - 3);
                    int value = random.Next(6) switch { 0 => 0, 1 => -1, 2 => int.MaxValue, 3 => int.MinValue, 4 => 1 << random.Next(31), _ => random.Next() };
                    description.Append($"write int32 {value} at {at}");
                    byte[] copy = (byte[])bytes.Clone();
                    BitConverter.TryWriteBytes(copy.AsSpan(at), random.Next(2) == 0 ? value : System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(value));
                    return copy;
                }
        }
    }
}
