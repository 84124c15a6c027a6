namespace Meerkat.Http.Forms;

/// <summary>Reads form bodies on a server connection and answers their errors, on the loop thread.</summary>
public static class HttpFormExtensions
{
    /// <summary>
    /// Reads the buffered request body (in <see cref="EventKind.HttpMessage"/>) as an
    /// <c>application/x-www-form-urlencoded</c> form. On failure it has already answered: 415 for
    /// another Content-Type, 413 over a limit, 400 for a malformed escape or invalid UTF-8, with a
    /// text body naming the problem.
    /// </summary>
    /// <returns>True with the form; false after answering with the error.</returns>
    public static bool TryReadForm(this Connection connection, HttpRequest request, out FormData form, FormLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        form = new FormData();
        if (!ContentType.Accepts(request.GetHeader("Content-Type"), FormUrlEncoded.MediaType, null, out string problem))
        {
            Refuse(connection, FormError.WrongContentType, problem);
            return false;
        }
        if (request.Body.IsEmpty && request.HasBody)
            throw new InvalidOperationException("the request body was streamed (StreamBody), so it is not buffered for TryReadForm");
        var error = FormUrlEncoded.TryParse(request.Body, limits, out form, out problem);
        if (error == FormError.None) return true;
        Refuse(connection, error, problem);
        return false;
    }

    /// <summary>The status for a form error: 415, 413 or 400.</summary>
    public static int StatusOf(FormError error) => error switch
    {
        FormError.WrongContentType => 415,
        FormError.TooLarge => 413,
        FormError.Malformed => 400,
        _ => 200,
    };

    internal static void Refuse(Connection connection, FormError error, string problem) =>
        connection.Reply(StatusOf(error), problem + "\n");
}
