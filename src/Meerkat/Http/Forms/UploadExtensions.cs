using Meerkat.Http.Routing;

namespace Meerkat.Http.Forms;

/// <summary>Called once an upload is complete: its files are saved and its fields read. Answer the request.</summary>
/// <param name="connection">The server connection.</param>
/// <param name="request">The request (its spans are valid during the call).</param>
/// <param name="route">The route match.</param>
/// <param name="upload">The saved files and the fields.</param>
public delegate void UploadHandler(Connection connection, HttpRequest request, RouteContext route, MultipartUpload upload);

/// <summary>Routes that receive multipart/form-data uploads into files.</summary>
public static class UploadExtensions
{
    /// <summary>Maps POST <paramref name="template"/> to receive uploads per <paramref name="options"/>: the body
    /// is streamed to files as it arrives (bounded memory), refusals are answered (415, 413, 400), and
    /// <paramref name="handler"/> runs when everything is saved. An upload cut short leaves no file behind.</summary>
    public static Route MapUpload(this RouteGroup group, string template, UploadOptions options, UploadHandler handler)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        return group.MapPost(template, (c, e, route) =>
        {
            switch (e.Kind)
            {
                case EventKind.HttpHeaders:
                    route.State = MultipartUpload.Start(c, e.Request!, options);
                    break;
                case EventKind.HttpBody when route.State is MultipartUpload upload:
                    upload.Write(c, e.Data);
                    break;
                case EventKind.HttpMessage when route.State is MultipartUpload upload:
                    if (upload.Complete(c)) handler(c, e.Request!, route, upload);
                    break;
            }
        }).StreamBody();
    }
}
