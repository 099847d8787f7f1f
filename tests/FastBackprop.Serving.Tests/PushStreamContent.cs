using System.Net;

namespace FastBackprop.Serving.Tests;

/// <summary>A request body written by a callback, of no length known in advance: HttpClient sends it chunked.</summary>
internal sealed class PushStreamContent(Func<Stream, Task> write) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => write(stream);

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
