namespace FastBackprop;

/// <summary>The CRC-32 of gzip (ISO-HDLC: reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF), computed
/// eight bytes at a time with eight tables (slicing-by-8). System.IO.Hashing has one, but it is a package the library
/// does not depend on; Sse42.Crc32 computes a different polynomial (CRC-32C).</summary>
internal static class Crc32
{
    private static readonly uint[] Tables = BuildTables();

    /// <summary>Continues <paramref name="crc"/> (0 to start) over <paramref name="data"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint[] t = Tables;
        crc = ~crc;
        while (data.Length >= 8)
        {
            uint low = crc ^ (data[0] | (uint)data[1] << 8 | (uint)data[2] << 16 | (uint)data[3] << 24);
            crc = t[7 * 256 + (low & 0xFF)] ^ t[6 * 256 + ((low >> 8) & 0xFF)] ^ t[5 * 256 + ((low >> 16) & 0xFF)] ^ t[4 * 256 + (low >> 24)]
                ^ t[3 * 256 + data[4]] ^ t[2 * 256 + data[5]] ^ t[256 + data[6]] ^ t[data[7]];
            data = data[8..];
        }
        foreach (byte b in data)
            crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }

    private static uint[] BuildTables()
    {
        var t = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        for (int i = 0; i < 256; i++)
        {
            for (int slice = 1; slice < 8; slice++)
                t[slice * 256 + i] = t[(slice - 1) * 256 + i] >> 8 ^ t[t[(slice - 1) * 256 + i] & 0xFF];
        }
        return t;
    }
}
