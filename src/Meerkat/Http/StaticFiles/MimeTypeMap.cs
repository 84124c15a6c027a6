// How this file works
// -------------------
// File extension -> media type (RFC 6838 names; JavaScript per RFC 9239). Text types get
// "; charset=utf-8" because that is what a modern static site stores. Lookups ignore case.
// A map is an ordinary mutable object: start from the defaults and Set() your own entries
// before handing it to StaticFileOptions; do not mutate it while requests are being served.
namespace Meerkat.Http.StaticFiles;

/// <summary>Maps file extensions to Content-Type values. User-extensible.</summary>
public sealed class MimeTypeMap
{
    /// <summary>The type sent for an unknown extension (RFC 2046 §4.5.1).</summary>
    public const string DefaultContentType = "application/octet-stream";

    private const string Utf8 = "; charset=utf-8";

    private static readonly (string Extension, string ContentType)[] Defaults =
    [
        ("html", "text/html" + Utf8), ("htm", "text/html" + Utf8), ("css", "text/css" + Utf8),
        ("js", "text/javascript" + Utf8), ("mjs", "text/javascript" + Utf8), ("txt", "text/plain" + Utf8),
        ("csv", "text/csv" + Utf8), ("md", "text/markdown" + Utf8), ("xml", "application/xml"),
        ("json", "application/json"), ("map", "application/json"), ("webmanifest", "application/manifest+json"),
        ("svg", "image/svg+xml"), ("png", "image/png"), ("jpg", "image/jpeg"), ("jpeg", "image/jpeg"),
        ("gif", "image/gif"), ("webp", "image/webp"), ("avif", "image/avif"), ("ico", "image/vnd.microsoft.icon"),
        ("bmp", "image/bmp"), ("wasm", "application/wasm"), ("pdf", "application/pdf"), ("zip", "application/zip"),
        ("gz", "application/gzip"), ("tar", "application/x-tar"), ("mp4", "video/mp4"), ("webm", "video/webm"),
        ("mp3", "audio/mpeg"), ("wav", "audio/wav"), ("ogg", "audio/ogg"), ("woff", "font/woff"),
        ("woff2", "font/woff2"), ("ttf", "font/ttf"), ("otf", "font/otf"),
    ];

    private readonly Dictionary<string, string> _types = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Creates a map holding the built-in defaults (html, css, js, json, images, fonts, media, ...).</summary>
    public MimeTypeMap()
    {
        foreach ((string extension, string contentType) in Defaults)
        {
            _types[extension] = contentType;
        }
    }

    /// <summary>Adds or replaces the type of an extension.</summary>
    /// <param name="extension">The extension with or without its leading dot, e.g. <c>.yaml</c>.</param>
    /// <param name="contentType">The full Content-Type value, e.g. <c>application/yaml</c>.</param>
    /// <exception cref="ArgumentException">The extension is empty or the content type is blank.</exception>
    public void Set(string extension, string contentType)
    {
        string key = Normalize(extension);
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);
        ArgumentException.ThrowIfNullOrEmpty(key, nameof(extension));
        _types[key] = contentType;
    }

    /// <summary>Removes an extension so that it maps to <see cref="DefaultContentType"/>.</summary>
    /// <param name="extension">The extension with or without its leading dot.</param>
    /// <returns>True when the extension was present.</returns>
    public bool Remove(string extension) => _types.Remove(Normalize(extension));

    /// <summary>The Content-Type for a file name or path, by its last extension.</summary>
    /// <param name="fileName">A file name such as <c>app.min.js</c>.</param>
    /// <returns>The mapped type, or <see cref="DefaultContentType"/>.</returns>
    public string GetContentType(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        string extension = Path.GetExtension(fileName);
        return extension.Length > 1 && _types.TryGetValue(extension[1..], out string? type) ? type : DefaultContentType;
    }

    private static string Normalize(string extension)
    {
        ArgumentNullException.ThrowIfNull(extension);
        return extension.StartsWith('.') ? extension[1..] : extension;
    }
}
