using System.CommandLine;
using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>--limit NAME=N[,NAME=N…]: raises or lowers the bounds on what input may make the tool read or allocate
/// (<see cref="DataLimits"/> for data files, and the memory a training run may plan to use).</summary>
internal static class LimitArgs
{
    public static readonly Option<string?> Limit = CliOption.Text("--limit", "NAME=N,...",
        "bounds on input, each raisable: line (characters per CSV record, 16M), cells (per CSV row, 1M), bytes (read per file after decompression, 8G), values (feature values per file, 1G), classes (10000), memory (bytes a training run may plan to allocate; default 3/4 of the memory available). Suffixes K, M, G, T are powers of 1024");

    /// <summary>The limits given (defaults for the rest).</summary>
    public static (DataLimits Data, long? MemoryBytes) Parse(ParsedArgs args)
    {
        string? text = args.Value(Limit);
        if (text is null)
            return (DataLimits.Default, null);
        DataLimits defaults = DataLimits.Default;
        int line = defaults.MaxRecordCharacters, cells = defaults.MaxCellsPerRow, classes = defaults.MaxClasses;
        long bytes = defaults.MaxBytes, values = defaults.MaxValues;
        long? memory = null;
        foreach (string item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = item.IndexOf('=');
            if (equals <= 0)
                throw new UsageException($"--limit: '{item}' is not NAME=N (names: line, cells, bytes, values, classes, memory)");
            string name = item[..equals].Trim().ToLowerInvariant();
            long n = Size(item[(equals + 1)..].Trim(), name);
            switch (name)
            {
                case "line": line = ToInt(n, name, 1, Array.MaxLength); break;
                case "cells": cells = ToInt(n, name, 1, Array.MaxLength); break;
                case "classes": classes = ToInt(n, name, 2, Array.MaxLength); break;
                case "bytes": bytes = n; break;
                case "values": values = n; break;
                case "memory": memory = n; break;
                default:
                    throw new UsageException($"--limit: unknown limit '{name}' (names: line, cells, bytes, values, classes, memory)");
            }
        }
        return (new DataLimits { MaxRecordCharacters = line, MaxCellsPerRow = cells, MaxBytes = bytes, MaxValues = values, MaxClasses = classes }, memory);
    }

    private static long Size(string value, string name)
    {
        long unit = 1;
        if (value.Length > 0 && char.IsLetter(value[^1]))
        {
            unit = char.ToUpperInvariant(value[^1]) switch
            {
                'K' => 1L << 10,
                'M' => 1L << 20,
                'G' => 1L << 30,
                'T' => 1L << 40,
                _ => throw new UsageException($"--limit {name}: unknown suffix in '{value}' (K, M, G or T)"),
            };
            value = value[..^1];
        }
        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n < 1 || n > long.MaxValue / unit)
            throw new UsageException($"--limit {name}: '{value}' is not a positive whole number");
        return n * unit;
    }

    private static int ToInt(long n, string name, int min, int max)
        => n >= min && n <= max ? (int)n : throw new UsageException($"--limit {name}: {n} is outside [{min}, {max}]");
}
