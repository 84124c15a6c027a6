// How this file works
// -------------------
// JSON request and response bodies through System.Text.Json with the caller's JsonTypeInfo<T>
// (from a JsonSerializerContext: source-generated, so trimming and native AOT keep working; no
// reflection here). Reading checks, in order, and answers the first failure itself:
//   Content-Type   application/json or any */*+json, charset UTF-8 if given  -> else 415
//   size           the buffered body within maxBytes (the route's limit comes first)  -> else 413
//   syntax/shape   JsonSerializer's message names the path, line and byte position, or the
//                  missing required properties                                -> else 400
// Errors are RFC 9457 problem details (application/problem+json) whose "detail" names the fault.
// Writing serializes into a buffer owned by the loop thread and replies with Content-Length.
using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Meerkat.Http.Json;

/// <summary>
/// Reads a request body into a type and answers with a typed JSON body, on the loop thread.
/// Take the <see cref="JsonTypeInfo{T}"/> from a source-generated <c>JsonSerializerContext</c>.
/// </summary>
/// <example>
/// <code>
/// [JsonSerializable(typeof(Item))] partial class AppJson : JsonSerializerContext;
/// router.MapPost("/items", (c, e, route) =>
/// {
///     if (!c.TryReadJson(e.Request!, AppJson.Default.Item, out var item)) return; // 400/413/415 sent
///     c.ReplyJson(201, Store(item), AppJson.Default.Item);
/// });
/// </code>
/// </example>
public static class HttpJsonExtensions
{
    /// <summary>The media type of JSON bodies.</summary>
    public const string MediaType = "application/json";

    /// <summary>The media type of RFC 9457 problem details.</summary>
    public const string ProblemMediaType = "application/problem+json";

    private const int KeptBufferSize = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? buffer;

    /// <summary>
    /// Reads the buffered request body (in <see cref="EventKind.HttpMessage"/>) as JSON into a
    /// <typeparamref name="T"/>. On failure it has already answered: 415 for a Content-Type that is
    /// not JSON, 413 over <paramref name="maxBytes"/>, 400 for malformed JSON, a missing required
    /// property, a value of the wrong type or a JSON <c>null</c>, with a problem-details body naming the fault.
    /// </summary>
    /// <param name="connection">The server connection whose request is pending.</param>
    /// <param name="request">The request, from <see cref="EventKind.HttpMessage"/>.</param>
    /// <param name="typeInfo">The type's metadata, e.g. <c>AppJson.Default.Item</c>.</param>
    /// <param name="value">The value read.</param>
    /// <param name="maxBytes">The largest body accepted (-1: no limit beyond the server's and the route's).</param>
    /// <returns>True with the value; false after answering with the error.</returns>
    public static bool TryReadJson<T>(this Connection connection, HttpRequest request, JsonTypeInfo<T> typeInfo,
        [MaybeNullWhen(false)] out T value, long maxBytes = -1)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(typeInfo);
        value = default;
        if (!ContentType.Accepts(request.GetHeader("Content-Type"), MediaType, "+json", out string problem))
        {
            connection.ReplyProblem(415, problem);
            return false;
        }
        var body = request.Body;
        if (maxBytes >= 0 && body.Length > maxBytes)
        {
            connection.ReplyProblem(413, $"The JSON body of {body.Length} bytes exceeds the limit of {maxBytes} bytes.");
            return false;
        }
        if (body.IsEmpty && request.HasBody)
            throw new InvalidOperationException("the request body was streamed (StreamBody), so it is not buffered for TryReadJson");
        try
        {
            value = JsonSerializer.Deserialize(body, typeInfo);
        }
        catch (JsonException error)
        {
            connection.ReplyProblem(400, body.IsEmpty ? "The request body is empty; expected JSON." : $"Invalid JSON: {error.Message}");
            return false;
        }
        if (value is null)
        {
            connection.ReplyProblem(400, $"The JSON body is null; expected {typeof(T).Name}.");
            return false;
        }
        return true;
    }

    /// <summary>Answers the pending request with <paramref name="value"/> as JSON (<c>application/json</c>, Content-Length).</summary>
    /// <exception cref="InvalidOperationException">No request is waiting, or it was already answered.</exception>
    public static void ReplyJson<T>(this Connection connection, int status, T value, JsonTypeInfo<T> typeInfo,
        params ReadOnlySpan<(string Name, string Value)> headers)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        var output = Rent();
        try
        {
            using (var writer = new Utf8JsonWriter(output, WriterOptions(typeInfo.Options)))
                JsonSerializer.Serialize(writer, value, typeInfo);
            connection.Reply(status, output.WrittenSpan, MediaType, headers);
        }
        finally
        {
            Return(output);
        }
    }

    /// <summary>Answers with RFC 9457 problem details: <c>{"type":"about:blank","title":...,"status":...,"detail":...}</c>
    /// as <c>application/problem+json</c>.</summary>
    public static void ReplyProblem(this Connection connection, int status, string detail, params ReadOnlySpan<(string Name, string Value)> headers)
    {
        ArgumentNullException.ThrowIfNull(detail);
        var output = Rent();
        try
        {
            // Relaxed escaping: the detail is read by people (curl, logs), and the body is never HTML.
            using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                writer.WriteStartObject();
                writer.WriteString("type", "about:blank");
                writer.WriteString("title", System.Text.Encoding.ASCII.GetString(ReasonPhrases.Get(status)));
                writer.WriteNumber("status", status);
                writer.WriteString("detail", detail);
                writer.WriteEndObject();
            }
            connection.Reply(status, output.WrittenSpan, ProblemMediaType, headers);
        }
        finally
        {
            Return(output);
        }
    }

    private static JsonWriterOptions WriterOptions(JsonSerializerOptions options) => new()
    {
        Indented = options.WriteIndented,
        Encoder = options.Encoder,
        MaxDepth = options.MaxDepth,
        IndentCharacter = options.IndentCharacter,
        IndentSize = options.IndentSize,
        NewLine = options.NewLine,
    };

    private static ArrayBufferWriter<byte> Rent()
    {
        var output = buffer ?? new ArrayBufferWriter<byte>(1024);
        buffer = null; // a serializer that replies re-entrantly gets its own
        output.ResetWrittenCount();
        return output;
    }

    private static void Return(ArrayBufferWriter<byte> output)
    {
        if (output.Capacity <= KeptBufferSize) buffer = output;
    }
}
