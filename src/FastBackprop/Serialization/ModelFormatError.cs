namespace FastBackprop;

/// <summary>
/// Builds the <see cref="InvalidDataException"/> (a sealed type, so not subclassed) thrown for a bad model file.
/// The message names the file, the byte offset, the field and its value, e.g.
/// <c>digits.fbpm, offset 20, layer count: 1073741824 must be in [1, 65536].</c>; the same facts are in
/// <see cref="Exception.Data"/> under "FileName", "Offset" and "Field".
/// </summary>
internal static class ModelFormatError
{
    public static InvalidDataException Create(string? fileName, long offset, string field, string problem, Exception? inner = null)
    {
        string file = fileName is null ? "<stream>" : Path.GetFileName(fileName) is { Length: > 0 } n ? n : fileName;
        var e = new InvalidDataException($"{file}, offset {offset}, {field}: {problem}", inner);
        e.Data["FileName"] = fileName;
        e.Data["Offset"] = offset;
        e.Data["Field"] = field;
        return e;
    }
}
