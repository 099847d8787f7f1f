
namespace FastBackprop;

// The records of a CSV file: quoting, separators, line and cell limits, and where each error is.
public static partial class CsvLoader
{
    /// <summary>Splits records into cells: quoted cells, doubled quotes, line breaks inside quotes; skips blank lines.
    /// Lines are read into one reused buffer, never longer than <see cref="DataLimits.MaxRecordCharacters"/>: a file
    /// whose "line" is gigabytes long fails after reading the limit, and a quoted cell that never closes grows the record
    /// by doubling (no quadratic re-concatenation).</summary>
    private sealed class RecordReader(TextReader reader, char separator, string? name, DataLimits limits)
    {
        private char[] text = new char[256];
        private int textLength;
        private readonly char[] input = new char[1 << 16];
        private int inputStart, inputEnd;
        private int[] starts = new int[64];
        private int[] lengths = new int[64];
        private bool[] quoted = new bool[64];
        private bool[] escaped = new bool[64];
        private char[] scratch = new char[256];
        private long physicalLine;

        /// <summary>The 1-based line on which the current record starts.</summary>
        public long Line { get; private set; }

        public int CellCount { get; private set; }

        private ReadOnlySpan<char> Record => text.AsSpan(0, textLength);

        public bool Next()
        {
            do
            {
                SkipBlankLines();
                textLength = 0;
                if (!AppendLine())
                    return false;
                physicalLine++;
            }
            while (Record.IsWhiteSpace());
            Line = physicalLine;
            if (Record.Contains('"'))
                SplitQuoted();
            else
                SplitPlain();
            return true;
        }

        /// <summary>Skips line breaks and the spaces (and tabs, unless they separate cells) around them in bulk, counting the
        /// lines: a file of a billion blank lines (a gzip bomb) then costs a vectorised scan, not a billion records.
        /// Leading blanks of a record are dropped with them, which changes nothing (cells are trimmed, and blanks before
        /// an opening quote are skipped). A \r\n split across two buffer fills counts as two lines.</summary>
        private void SkipBlankLines()
        {
            while (inputStart < inputEnd || Fill())
            {
                ReadOnlySpan<char> available = input.AsSpan(inputStart, inputEnd - inputStart);
                int content = separator == '\t' ? available.IndexOfAnyExcept('\r', '\n', ' ') : available.IndexOfAnyExcept("\r\n \t");
                ReadOnlySpan<char> blank = content < 0 ? available : available[..content];
                // The last line break before the content: what follows it is the start of the record.
                int lastBreak = blank.LastIndexOfAny('\r', '\n');
                if (lastBreak < 0)
                    return;
                ReadOnlySpan<char> breaks = blank[..(lastBreak + 1)];
                physicalLine += breaks.Count('\n') + breaks.Count('\r') - breaks.Count("\r\n");
                inputStart += lastBreak + 1;
                if (content >= 0)
                    return;
            }
        }

        /// <summary>Appends the next line (without its terminator: \n, \r or \r\n) to the record; false at the end of
        /// the input when no character was read.</summary>
        private bool AppendLine()
        {
            bool any = false;
            while (true)
            {
                if (inputStart == inputEnd && !Fill())
                    return any;
                any = true;
                ReadOnlySpan<char> available = input.AsSpan(inputStart, inputEnd - inputStart);
                int end = available.IndexOfAny('\r', '\n');
                int take = end < 0 ? available.Length : end;
                Append(available[..take]);
                inputStart += take;
                if (end < 0)
                    continue;
                char terminator = input[inputStart++];
                if (terminator == '\r' && (inputStart < inputEnd || Fill()) && input[inputStart] == '\n')
                    inputStart++;
                return true;
            }
        }

        private bool Fill()
        {
            inputStart = 0;
            inputEnd = reader.Read(input, 0, input.Length);
            return inputEnd > 0;
        }

        private void Append(ReadOnlySpan<char> chars)
        {
            long needed = (long)textLength + chars.Length;
            if (needed > limits.MaxRecordCharacters)
                throw new DataFormatException(name, physicalLine + 1, null,
                    $"the record is longer than {limits.MaxRecordCharacters:N0} characters (a quoted cell left open, or not a CSV file): {DataLimits.Raise(nameof(DataLimits.MaxRecordCharacters), "line", limits.MaxRecordCharacters)}.");
            if (needed > text.Length)
                Array.Resize(ref text, (int)Math.Min(Math.Max(needed, 2L * text.Length), Array.MaxLength));
            chars.CopyTo(text.AsSpan(textLength));
            textLength += chars.Length;
        }

        public ReadOnlySpan<char> Cell(int index)
        {
            ReadOnlySpan<char> raw = text.AsSpan(starts[index], lengths[index]);
            if (!escaped[index])
                return raw;
            // Undouble the quotes into the scratch buffer (valid until the next call).
            if (scratch.Length < raw.Length)
                scratch = new char[raw.Length * 2];
            int n = 0;
            for (int i = 0; i < raw.Length; i++)
            {
                scratch[n++] = raw[i];
                if (raw[i] == '"')
                    i++;
            }
            return scratch.AsSpan(0, n);
        }

        public bool IsQuoted(int index) => quoted[index];

        public string CellString(int index) => quoted[index] ? Cell(index).ToString() : Cell(index).Trim().ToString();

        private void SplitPlain()
        {
            ReadOnlySpan<char> record = Record;
            int count = 0, start = 0;
            while (true)
            {
                int end = record[start..].IndexOf(separator);
                int length = end < 0 ? record.Length - start : end;
                AddCell(ref count, start, length, false, false);
                if (end < 0)
                    break;
                start += length + 1;
            }
            CellCount = count;
        }

        private void SplitQuoted()
        {
            int count = 0, i = 0;
            while (true)
            {
                // Skip leading blanks before a possible opening quote.
                int j = i;
                while (j < textLength && text[j] != separator && char.IsWhiteSpace(text[j]))
                    j++;
                if (j < textLength && text[j] == '"')
                {
                    int column = count + 1;
                    int start = j + 1;
                    bool hasEscape = false;
                    int k = start;
                    while (true)
                    {
                        if (k >= textLength)
                        {
                            // The quoted cell goes on over a line break.
                            Append("\n");
                            if (!AppendLine())
                                throw new DataFormatException(name, Line, null, $"column {column}: the quoted cell is never closed.");
                            physicalLine++;
                            continue;
                        }
                        if (text[k] == '"')
                        {
                            if (k + 1 < textLength && text[k + 1] == '"')
                            {
                                hasEscape = true;
                                k += 2;
                                continue;
                            }
                            break;
                        }
                        k++;
                    }
                    AddCell(ref count, start, k - start, true, hasEscape);
                    k++;
                    while (k < textLength && text[k] != separator && char.IsWhiteSpace(text[k]))
                        k++;
                    if (k >= textLength)
                        break;
                    if (text[k] != separator)
                        throw new DataFormatException(name, Line, null,
                            $"column {column}: unexpected '{text[k]}' after the closing quote (a quote inside a quoted cell is written \"\").");
                    i = k + 1;
                }
                else
                {
                    int end = text.AsSpan(i, textLength - i).IndexOf(separator);
                    int length = end < 0 ? textLength - i : end;
                    if (text.AsSpan(i, length).Contains('"'))
                        throw new DataFormatException(name, Line, null,
                            $"column {count + 1}: a quote inside an unquoted cell ('{Shorten(new string(text, i, Math.Min(length, 41)), 40)}'); quote the whole cell.");
                    AddCell(ref count, i, length, false, false);
                    if (end < 0)
                        break;
                    i += length + 1;
                }
            }
            CellCount = count;
        }

        private void AddCell(ref int count, int start, int length, bool isQuoted, bool isEscaped)
        {
            if (count >= limits.MaxCellsPerRow)
                throw new DataFormatException(name, physicalLine, null,
                    $"the row has more than {limits.MaxCellsPerRow:N0} cells: {DataLimits.Raise(nameof(DataLimits.MaxCellsPerRow), "cells", limits.MaxCellsPerRow)}.");
            if (count == starts.Length)
            {
                int grown = (int)Math.Min(2L * count, Math.Max(limits.MaxCellsPerRow, 64));
                Array.Resize(ref starts, grown);
                Array.Resize(ref lengths, grown);
                Array.Resize(ref quoted, grown);
                Array.Resize(ref escaped, grown);
            }
            starts[count] = start;
            lengths[count] = length;
            quoted[count] = isQuoted;
            escaped[count] = isEscaped;
            count++;
        }
    }
}
