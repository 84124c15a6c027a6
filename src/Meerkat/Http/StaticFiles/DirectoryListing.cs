// How this file works
// -------------------
// Renders an HTML directory listing. Every name is treated as hostile: the link target is
// percent-encoded (RFC 3986 §2.1, everything but unreserved characters) and then
// HTML-escaped, and the visible text is HTML-escaped, so a file called <script>&"'.txt shows
// as text and links to itself. Entries are sorted ordinally, directories first, with sizes in
// bytes and modification times in UTC. The caller decides which entries may be shown.
using System.Globalization;
using System.Net;
using System.Text;

namespace Meerkat.Http.StaticFiles;

/// <summary>One row of a directory listing.</summary>
/// <param name="Name">The entry's file name, unescaped.</param>
/// <param name="IsDirectory">Whether the entry is a directory (shown with a trailing "/").</param>
/// <param name="Length">The size in bytes; ignored for directories.</param>
/// <param name="LastModified">The last-write time.</param>
public readonly record struct DirectoryListingEntry(string Name, bool IsDirectory, long Length, DateTimeOffset LastModified);

/// <summary>Renders directory listings as UTF-8 HTML.</summary>
public static class DirectoryListing
{
    /// <summary>The Content-Type of a rendered listing.</summary>
    public const string ContentType = "text/html; charset=utf-8";

    private const string DateFormat = "yyyy-MM-dd HH:mm:ss";

    /// <summary>Renders a listing page.</summary>
    /// <param name="displayPath">The decoded request path shown as the title, e.g. <c>/docs/</c>.</param>
    /// <param name="entries">The entries to show, in any order.</param>
    /// <param name="includeParent">Whether to add a "../" link (false at the root).</param>
    /// <returns>The page as UTF-8 bytes.</returns>
    public static byte[] Render(string displayPath, IEnumerable<DirectoryListingEntry> entries, bool includeParent)
    {
        ArgumentNullException.ThrowIfNull(displayPath);
        ArgumentNullException.ThrowIfNull(entries);
        string title = WebUtility.HtmlEncode("Index of " + displayPath);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").Append(title)
            .Append("</title></head>\n<body><h1>").Append(title).Append("</h1>\n<table>\n")
            .Append("<tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr>\n");
        if (includeParent)
        {
            html.Append("<tr><td><a href=\"../\">../</a></td><td>-</td><td></td></tr>\n");
        }
        IEnumerable<DirectoryListingEntry> sorted = entries
            .OrderBy(entry => entry.IsDirectory ? 0 : 1)
            .ThenBy(entry => entry.Name, StringComparer.Ordinal);
        foreach (DirectoryListingEntry entry in sorted)
        {
            AppendRow(html, entry);
        }
        html.Append("</table>\n</body></html>\n");
        return Encoding.UTF8.GetBytes(html.ToString());
    }

    private static void AppendRow(StringBuilder html, DirectoryListingEntry entry)
    {
        string suffix = entry.IsDirectory ? "/" : "";
        string href = WebUtility.HtmlEncode(Uri.EscapeDataString(entry.Name) + suffix);
        string text = WebUtility.HtmlEncode(entry.Name + suffix);
        string size = entry.IsDirectory ? "-" : entry.Length.ToString(CultureInfo.InvariantCulture);
        string modified = entry.LastModified.UtcDateTime.ToString(DateFormat, CultureInfo.InvariantCulture);
        html.Append("<tr><td><a href=\"").Append(href).Append("\">").Append(text).Append("</a></td><td>")
            .Append(size).Append("</td><td>").Append(modified).Append("</td></tr>\n");
    }
}
