using System.Buffers;
using System.Text.Json;

namespace FastBackprop.Serving;

/// <summary>
/// Reads a prediction request straight into a <see cref="PredictionContext"/>'s feature buffer, without building
/// objects for it: <c>{"features": [f0, f1, ...]}</c> (one row) or <c>{"rows": [[...], [...], ...]}</c> (one to
/// <see cref="ModelHost.MaxRows"/> rows). Every row must have the model's feature count and every value must be a finite
/// 32-bit float; anything else is a <see cref="BadRequestException"/> whose message says what and where.
/// </summary>
public static class PredictRequest
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 3, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>Parses <paramref name="body"/>; returns the number of rows and whether the request sent one bare row
    /// (<c>features</c>), so the answer can have the same shape.</summary>
    /// <exception cref="BadRequestException">The body is not a valid request for this model.</exception>
    public static (int Rows, bool Single) Parse(ReadOnlySequence<byte> body, ModelHost host, PredictionContext context)
    {
        try
        {
            // Kestrel hands over bodies above a few kilobytes in several segments. Parse one contiguous span: a reader
            // over segments allocates a copy of every number that straddles two of them (TryGetSingle on a
            // ValueSequence), and reads more slowly.
            var reader = new Utf8JsonReader(body.IsSingleSegment ? body.FirstSpan : context.Contiguous(body), ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new BadRequestException("the body must be a JSON object: {\"features\": [...]} for one row or {\"rows\": [[...], ...]} for several");
            int rows = -1;
            bool single = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isFeatures = reader.ValueTextEquals("features"u8);
                if (!isFeatures && !reader.ValueTextEquals("rows"u8))
                    throw new BadRequestException($"unknown property \"{reader.GetString()}\": send \"features\" (one row) or \"rows\" (several)");
                if (rows >= 0)
                    throw new BadRequestException("send either \"features\" or \"rows\", once");
                reader.Read();
                if (isFeatures)
                {
                    ReadRow(ref reader, host, context, row: 0, rowName: "features");
                    (rows, single) = (1, true);
                }
                else
                {
                    rows = ReadRows(ref reader, host, context);
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject)
                throw new BadRequestException("the body must be a JSON object: {\"features\": [...]} for one row or {\"rows\": [[...], ...]} for several");
            if (rows < 0)
                throw new BadRequestException("no \"features\" or \"rows\" in the request");
            reader.Read();   // content after the object is a JsonException ("malformed JSON"), the default for a final block
            return (rows, single);
        }
        catch (JsonException e)
        {
            // The reader's message names the line and byte: "'x' is an invalid start of a value. LineNumber: 0 | BytePositionInLine: 13."
            throw new BadRequestException($"malformed JSON: {e.Message}");
        }
    }

    private static int ReadRows(ref Utf8JsonReader reader, ModelHost host, PredictionContext context)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new BadRequestException("\"rows\" must be an array of rows, each an array of numbers");
        int rows = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (rows == host.MaxRows)
                throw new BadRequestException($"too many rows: at most {host.MaxRows} per request");
            ReadRow(ref reader, host, context, rows, rowName: null);
            rows++;
        }
        if (rows == 0)
            throw new BadRequestException("\"rows\" is empty");
        return rows;
    }

    private static void ReadRow(ref Utf8JsonReader reader, ModelHost host, PredictionContext context, int row, string? rowName)
    {
        int n = host.InputSize;
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new BadRequestException($"{RowName(row, rowName)} must be an array of {n} numbers");
        Span<float> destination = context.Inputs.AsSpan(row * n, n);
        int count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number)
                throw new BadRequestException($"{RowName(row, rowName)}, feature {count}: expected a number, got {reader.TokenType}");
            if (count == n)
                throw new BadRequestException($"{RowName(row, rowName)} has more than {n} features; the model takes {n}");
            // Values beyond float's range (1e39) read as infinities: the network's outputs would be meaningless, so
            // refuse them as Model.Predict does (JSON itself has no NaN or infinity literals).
            if (!reader.TryGetSingle(out float value) || !float.IsFinite(value))
                throw new BadRequestException($"{RowName(row, rowName)}, feature {count}: {RawText(ref reader)} is not a finite 32-bit float");
            destination[count++] = value;
        }
        if (count != n)
            throw new BadRequestException($"{RowName(row, rowName)} has {count} features; the model takes {n}");
    }

    private static string RawText(ref Utf8JsonReader reader)
        => System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan.ToArray());

    private static string RowName(int row, string? rowName) => rowName ?? $"row {row}";
}

/// <summary>A request the service answers with 400 and this message.</summary>
public sealed class BadRequestException(string message) : Exception(message);
