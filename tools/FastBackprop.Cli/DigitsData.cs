using System.Globalization;
using System.IO.Compression;
using System.Reflection;

namespace FastBackprop.Cli;

/// <summary>
/// The 8×8 hand-written digits embedded as <c>digits.csv.gz</c> (see Data/README.md): one image per line,
/// 64 pixel values 0..16 then the label 0..9, no header.
/// </summary>
internal static class DigitsData
{
    public const string ResourceName = "digits.csv.gz";
    public const int Pixels = 64;
    public const int Classes = 10;
    public const int MaxPixelValue = 16;
    public const int ExpectedRows = 1797;

    /// <summary>Loads all images, pixels scaled to [0, 1] (divided by 16), row-major one image per row.</summary>
    public static (float[] Pixels, int[] Labels) Load()
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new InvalidDataException($"embedded resource '{ResourceName}' is missing from the executable");
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);

        var pixels = new List<float>(ExpectedRows * Pixels);
        var labels = new List<int>(ExpectedRows);
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            ReadOnlySpan<char> row = line.AsSpan().Trim();
            if (row.IsEmpty)
                continue;

            int field = 0;
            foreach (Range r in row.Split(','))
            {
                ReadOnlySpan<char> text = row[r].Trim();
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value))
                    throw Bad(lineNumber, $"field {field + 1} is not a non-negative integer: '{text}'");
                if (field < Pixels)
                {
                    if (value > MaxPixelValue)
                        throw Bad(lineNumber, $"pixel {field + 1} is {value}, outside 0..{MaxPixelValue}");
                    pixels.Add(value / (float)MaxPixelValue);
                }
                else if (field == Pixels)
                {
                    if (value >= Classes)
                        throw Bad(lineNumber, $"label {value} is outside 0..{Classes - 1}");
                    labels.Add(value);
                }
                field++;
            }
            if (field != Pixels + 1)
                throw Bad(lineNumber, $"expected {Pixels + 1} fields, found {field}");
        }

        if (labels.Count == 0)
            throw new InvalidDataException($"embedded resource '{ResourceName}' holds no rows");
        return (pixels.ToArray(), labels.ToArray());
    }

    private static InvalidDataException Bad(int line, string what) =>
        new($"{ResourceName} line {line}: {what}");
}
