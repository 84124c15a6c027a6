// How this file works: one request of an HTTP/2 client connection, from the call that gives it to
// the stream's end: its header section (built and checked when the request is given, so a bad field
// throws at once even while the stream waits to open), the upload of its body under flow control,
// the response being received, and the credit withheld while the application pauses its body.
//
// Upload states and their legal successors:
//   None       nothing (more) to send: no body, or all of it went out  (terminal)
//   Whole      HttpClientRequest.Content goes out as the windows allow  -> None
//   Streaming  a body given piece by piece (SendRequestHead, then SendBody) -> Ending (EndBody)
//   Ending     EndBody was called; what waits for window goes first, then END_STREAM or the trailers -> None
using System.Buffers;
using System.Diagnostics;
using Meerkat.Diagnostics;
using Meerkat.Http;
using Meerkat.Http.Client;

namespace Meerkat.Http2;

/// <summary>Where a request's body stands; see the file header.</summary>
internal enum Http2UploadState { None, Whole, Streaming, Ending }

/// <summary>A request on an HTTP/2 client connection (a handle for MeerkatHttpClient's exchanges). Loop thread only.</summary>
internal sealed class Http2ClientStream
{
    public Http2ClientStream(HttpClientRequest request, object? tag, int maxWaiting)
    {
        Request = request;
        Tag = tag;
        Waiting = new IoBuffer(16 * 1024, maxWaiting);
    }

    public HttpClientRequest Request { get; }

    /// <summary>The application's object for the request, given back while its events are raised (<c>Http2ClientProtocol.CurrentTag</c>).</summary>
    public object? Tag { get; }

    /// <summary>The request's header section, ready to send.</summary>
    public Http2HeaderList Head { get; } = new();

    /// <summary>0 until the stream is opened (it waits while the connection decides its protocol or is at the peer's limit).</summary>
    public int StreamId { get; set; }

    public Http2UploadState Upload { get; set; }

    /// <summary>The part of a whole body not yet sent.</summary>
    public ReadOnlyMemory<byte> Content { get; set; }

    /// <summary>Pieces of a streamed body the window could not take yet (or given before the stream opened).</summary>
    public IoBuffer Waiting { get; }

    /// <summary>The declared length of a streamed body (-1: none), kept to replay the request over HTTP/1.1.</summary>
    public long DeclaredLength { get; set; } = -1;

    /// <summary>Bytes of the declared length not yet given (-1: no length declared).</summary>
    public long Remaining { get; set; } = -1;

    /// <summary>Trailer fields to send after a streamed body.</summary>
    public KeyValuePair<string, string>[]? Trailers { get; set; }

    /// <summary>The response, once its final header section arrived.</summary>
    public HttpResponse? Response { get; set; }

    /// <summary>The whole body, for a request with <see cref="HttpClientRequest.BufferResponse"/>.</summary>
    public ArrayBufferWriter<byte>? Buffered { get; set; }

    /// <summary>The application paused the body: its credit is withheld, so the server's sending stops at the window.</summary>
    public bool IsPaused { get; set; }

    /// <summary>Octets delivered while paused, credited back on resume.</summary>
    public int Withheld { get; set; }

    /// <summary>The request is whole in <see cref="HttpClientRequest.Content"/> (or has no body), so it can be sent again.</summary>
    public bool IsReplayable { get; set; }

    /// <summary>Times the server refused this request's stream unprocessed (REFUSED_STREAM) and it was sent again.</summary>
    public int Refusals { get; set; }

    /// <summary>The stream ended (or the request was cancelled before it opened).</summary>
    public bool IsClosed { get; set; }

    /// <summary><see cref="Activity.Current"/> where the request was given: the parent of its client span, started when the stream opens.</summary>
    public Activity? Parent { get; set; }

    /// <summary>The request's metrics and span, from its stream's opening (telemetry; a field, being a struct).</summary>
    public HttpClientTelemetry.Pending Measure;

    /// <summary>The stream was opened and is being measured (it stays so when it is sent again after a refusal).</summary>
    public bool IsMeasured => Measure.Method is not null;

    /// <summary>True for HEAD: the response has no content whatever it announces.</summary>
    public bool IsHead => Request.Method == "HEAD";
}
