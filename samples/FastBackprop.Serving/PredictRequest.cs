using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace FastBackprop.Serving;

/// <summary>
/// Reads a prediction request straight into a <see cref="PredictionContext"/>'s feature buffer, without building
/// objects for it: <c>{"features": [f0, f1, ...]}</c> (one row) or <c>{"rows": [[...], [...], ...]}</c> (one to
/// <see cref="ModelHost.MaxRows"/> rows). Every row must have the model's feature count and every value must be a finite
/// 32-bit float, and the body must be UTF-8 (a leading byte order mark is skipped); anything else is a
/// <see cref="BadRequestException"/> whose one-line message says what and where, quoting at most a few dozen characters
/// of what the client sent. Nothing a client sends throws anything else.
/// </summary>
public static class PredictRequest
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 3, CommentHandling = JsonCommentHandling.Disallow };

    // Values the client sent, quoted back in an error, are cut to this many characters: a reason stays one short line
    // whatever the body holds.
    private const int MaxQuotedChars = 40;

    /// <summary>Parses <paramref name="body"/>; returns the number of rows and whether the request sent one bare row
    /// (<c>features</c>), so the answer can have the same shape.</summary>
    /// <exception cref="BadRequestException">The body is not a valid request for this model.</exception>
    public static (int Rows, bool Single) Parse(ReadOnlySequence<byte> body, ModelHost host, PredictionContext context)
    {
        // Kestrel hands over bodies above a few kilobytes in several segments. Parse one contiguous span: a reader
        // over segments allocates a copy of every number that straddles two of them (TryGetSingle on a
        // ValueSequence), and reads more slowly.
        ReadOnlySpan<byte> json = body.IsSingleSegment ? body.FirstSpan : context.Contiguous(body);
        RequireUtf8(json);
        try
        {
            var reader = new Utf8JsonReader(WithoutByteOrderMark(json), ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new BadRequestException("the body must be a JSON object: {\"features\": [...]} for one row or {\"rows\": [[...], ...]} for several");
            int rows = -1;
            bool single = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isFeatures = NameIs(ref reader, "features"u8);
                if (!isFeatures && !NameIs(ref reader, "rows"u8))
                    throw new BadRequestException($"unknown property \"{Quote(ref reader)}\": send \"features\" (one row) or \"rows\" (several)");
                if (rows >= 0)
                    throw new BadRequestException("send either \"features\" or \"rows\", once");
                reader.Read();
                if (isFeatures)
                {
                    ReadRow(ref reader, host, context, row: 0, single: true);
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

    /// <summary>How a row is named in an answer: <c>features</c> for a request of one bare row, <c>row N</c> (from 0)
    /// in <c>rows</c>.</summary>
    public static string RowName(int row, bool single) => single ? "features" : $"row {row}";

    /// <summary>JSON is UTF-8 (RFC 8259), and the reader does not check the bytes of strings and property names: text
    /// that is not UTF-8 would reach a decoder that throws. Refused here, naming the first bad byte.</summary>
    private static void RequireUtf8(ReadOnlySpan<byte> json)
    {
        if (Utf8.IsValid(json))
            return;
        int at = 0;
        while (Rune.DecodeFromUtf8(json[at..], out _, out int length) == OperationStatus.Done)
            at += length;
        throw new BadRequestException($"malformed JSON: invalid UTF-8 at byte {at} (0x{json[at]:X2}); send the body as UTF-8");
    }

    /// <summary>RFC 8259 lets a parser ignore a UTF-8 byte order mark, and System.Text.Json's own readers of documents
    /// do; the raw reader does not.</summary>
    private static ReadOnlySpan<byte> WithoutByteOrderMark(ReadOnlySpan<byte> json)
        => json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? json[3..] : json;

    /// <summary>Whether the property name at the reader is <paramref name="name"/>. An escaped name that is no Unicode
    /// text (a lone surrogate, <c>"\ud800"</c>) makes the reader's comparison throw InvalidOperationException as it
    /// unescapes; such a name is none of ours.</summary>
    private static bool NameIs(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        try
        {
            return reader.ValueTextEquals(name);
        }
        catch (InvalidOperationException)
        {
            return false;
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
            ReadRow(ref reader, host, context, rows, single: false);
            rows++;
        }
        if (rows == 0)
            throw new BadRequestException("\"rows\" is empty");
        return rows;
    }

    private static void ReadRow(ref Utf8JsonReader reader, ModelHost host, PredictionContext context, int row, bool single)
    {
        int n = host.InputSize;
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new BadRequestException($"{RowName(row, single)} must be an array of {n} numbers");
        Span<float> destination = context.Inputs.AsSpan(row * n, n);
        int count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number)
                throw new BadRequestException($"{RowName(row, single)}, feature {count}: expected a number, got {reader.TokenType}");
            if (count == n)
                throw new BadRequestException($"{RowName(row, single)} has more than {n} features; the model takes {n}");
            // Values beyond float's range (1e39) read as infinities: the network's outputs would be meaningless, so
            // refuse them as Model.Predict does (JSON itself has no NaN or infinity literals).
            if (!reader.TryGetSingle(out float value) || !float.IsFinite(value))
                throw new BadRequestException($"{RowName(row, single)}, feature {count}: {Quote(ref reader)} is not a finite 32-bit float");
            destination[count++] = value;
        }
        if (count != n)
            throw new BadRequestException($"{RowName(row, single)} has {count} features; the model takes {n}");
    }

    /// <summary>The current token as the client wrote it (escapes left as sent, so nothing is decoded that could
    /// fail), cut to <see cref="MaxQuotedChars"/> characters. The reader runs over one span, so the token is in
    /// <see cref="Utf8JsonReader.ValueSpan"/>.</summary>
    private static string Quote(ref Utf8JsonReader reader)
    {
        ReadOnlySpan<byte> raw = reader.ValueSpan;
        if (raw.Length <= MaxQuotedChars)
            return Encoding.UTF8.GetString(raw);
        // Cut at a character boundary: Rune.DecodeFromUtf8 steps over whole characters (the body is valid UTF-8).
        int cut = 0, chars = 0;
        while (chars < MaxQuotedChars && Rune.DecodeFromUtf8(raw[cut..], out Rune rune, out int length) == OperationStatus.Done)
        {
            cut += length;
            chars += rune.Utf16SequenceLength;
        }
        return Encoding.UTF8.GetString(raw[..cut]) + "…";
    }
}

/// <summary>A request the service answers with 400 and this message.</summary>
public sealed class BadRequestException(string message) : Exception(message);
