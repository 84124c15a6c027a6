namespace Meerkat.Http.Client;

/// <summary>Client-side HTTP views of an <see cref="Event"/>.</summary>
public static class HttpClientEventExtensions
{
    extension(Event e)
    {
        /// <summary>The response of a client connection's <see cref="EventKind.HttpHeaders"/>,
        /// <see cref="EventKind.HttpBody"/>, <see cref="EventKind.HttpMessage"/> and
        /// <see cref="EventKind.HttpDone"/> events; null for other events. The object outlives the callback.</summary>
        public HttpResponse? Response => e.Subject as HttpResponse;
    }
}
