// How this file works
// -------------------
// A multipart/form-data upload streamed to files as HttpBody pieces arrive: the MultipartReader
// turns pieces into part events; a file part (one with a filename) goes to a new file in the
// upload directory under a sanitized, unique name (created with CreateNew, so nothing is ever
// overwritten); any other part is a form field kept in memory. Limits are checked as bytes
// arrive, so a refused upload stops at the limit. Stages and their successors:
//   Receiving  -> Completed (Complete saw the close delimiter), Failed (a limit, a malformed body)
//   Completed  -> Disposed (the files are the application's now)
//   Failed     -> Disposed (its files are already deleted)
//   Receiving  -> Disposed (cut short: the connection closed, the transaction aborted; files deleted)
// Refusals answer the request: 413 for a limit, 400 for a malformed body, 415 for a body that is
// not multipart/form-data. File writes are synchronous, on the loop thread.
using System.Text;
using Meerkat.Http.Multipart;
using Microsoft.Win32.SafeHandles;

namespace Meerkat.Http.Forms;

/// <summary>Where uploads go and how big they may be. Every limit has a safe default.</summary>
public sealed class UploadOptions
{
    /// <summary>The directory files are written to (created if missing). Required.</summary>
    public required string Directory { get; init; }

    /// <summary>Largest single file (default 100 MiB).</summary>
    public long MaxFileSize { get; init; } = 100L * 1024 * 1024;

    /// <summary>Most files per request (default 20).</summary>
    public int MaxFiles { get; init; } = 20;

    /// <summary>Largest sum of all files (default 1 GiB).</summary>
    public long MaxTotalSize { get; init; } = 1024L * 1024 * 1024;

    /// <summary>Most non-file fields (default 100).</summary>
    public int MaxFields { get; init; } = 100;

    /// <summary>Longest non-file field value, held in memory (default 64 KiB).</summary>
    public int MaxFieldLength { get; init; } = 64 * 1024;
}

/// <summary>One file saved from an upload.</summary>
/// <param name="FieldName">The form field it came in (may be null when the part had no name).</param>
/// <param name="FileName">The file name the client sent, untrusted: display it, never use it as a path.</param>
/// <param name="SavedName">The sanitized name it was saved under.</param>
/// <param name="Path">The full path of the saved file.</param>
/// <param name="Length">Its size in bytes.</param>
/// <param name="ContentType">The part's Content-Type as sent.</param>
public sealed record UploadedFile(string? FieldName, string FileName, string SavedName, string Path, long Length, string ContentType);

/// <summary>Receives one multipart/form-data request body into files. Feed it the route's
/// <see cref="EventKind.HttpBody"/> pieces; or use <see cref="UploadExtensions.MapUpload"/>, which does.</summary>
public sealed class MultipartUpload : IDisposable
{
    private enum Stage { Receiving, Completed, Failed, Disposed }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly UploadOptions options;
    private readonly MultipartReader reader;
    private readonly List<UploadedFile> files = [];
    private readonly List<string> written = [];
    private readonly FormData fields = new();
    private Stage stage;
    private MultipartPart? part;
    private SafeFileHandle? file;
    private string? filePath;
    private long fileLength;
    private byte[]? fieldBuffer;
    private int fieldLength;

    private MultipartUpload(UploadOptions options, MultipartReader reader)
    {
        this.options = options;
        this.reader = reader;
    }

    /// <summary>The files saved, once <see cref="Complete"/> returned true.</summary>
    public IReadOnlyList<UploadedFile> Files => files;

    /// <summary>The non-file fields, decoded as UTF-8.</summary>
    public FormData Fields => fields;

    /// <summary>Bytes of file data received so far.</summary>
    public long TotalFileBytes { get; private set; }

    /// <summary>Starts receiving the pending request's body (call in <see cref="EventKind.HttpHeaders"/>).</summary>
    /// <returns>The upload; null after answering 415 (not multipart/form-data) or 400 (a bad boundary).</returns>
    public static MultipartUpload? Start(Connection connection, HttpRequest request, UploadOptions options)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(options);
        string? contentType = request.GetHeader("Content-Type");
        if (contentType is null || !HeaderParameters.MainValue(contentType).Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            HttpFormExtensions.Refuse(connection, FormError.WrongContentType, $"The Content-Type is {contentType ?? "missing"}; expected multipart/form-data.");
            return null;
        }
        var error = MultipartReader.TryCreate(contentType, out var reader, new MultipartReaderOptions { MaxParts = options.MaxFiles + options.MaxFields });
        if (error != MultipartError.None)
        {
            HttpFormExtensions.Refuse(connection, FormError.Malformed, $"The multipart Content-Type is unusable: {error}.");
            return null;
        }
        System.IO.Directory.CreateDirectory(options.Directory);
        return new MultipartUpload(options, reader!);
    }

    /// <summary>Takes the next piece of the body.</summary>
    /// <returns>False once the upload was refused (the request is answered; later pieces are ignored).</returns>
    public bool Write(Connection connection, ReadOnlySpan<byte> piece)
    {
        while (stage == Stage.Receiving && !piece.IsEmpty)
        {
            var e = reader.Read(piece, out int used);
            piece = piece[used..];
            switch (e.Kind)
            {
                case MultipartEventKind.PartBegin:
                    BeginPart(connection, e.Part!);
                    break;
                case MultipartEventKind.PartData:
                    PartData(connection, e.Data);
                    break;
                case MultipartEventKind.PartEnd:
                    EndPart(connection);
                    break;
                case MultipartEventKind.Error:
                    Fail(connection, FormError.Malformed, $"The multipart body is malformed: {e.Error}.");
                    break;
            }
        }
        return stage == Stage.Receiving;
    }

    /// <summary>The body ended (call in <see cref="EventKind.HttpMessage"/>).</summary>
    /// <returns>True when every part was received; false after answering 400 for a truncated body (or an earlier refusal).</returns>
    public bool Complete(Connection connection)
    {
        if (stage != Stage.Receiving) return false;
        var error = reader.Complete();
        if (error != MultipartError.None)
        {
            Fail(connection, FormError.Malformed, $"The multipart body is malformed: {error}.");
            return false;
        }
        stage = Stage.Completed;
        return true;
    }

    /// <summary>Closes any open file; an upload that did not complete deletes the files it wrote.</summary>
    public void Dispose()
    {
        if (stage == Stage.Disposed) return;
        CloseFile();
        if (stage != Stage.Completed) DeleteWritten();
        stage = Stage.Disposed;
    }

    private void BeginPart(Connection connection, MultipartPart next)
    {
        part = next;
        if (next.FileName is null)
        {
            if (fields.Count == options.MaxFields) Fail(connection, FormError.TooLarge, $"The form has more than {options.MaxFields} fields.");
            fieldLength = 0;
            return;
        }
        if (files.Count == options.MaxFiles)
        {
            Fail(connection, FormError.TooLarge, $"The upload has more than {options.MaxFiles} files.");
            return;
        }
        (file, filePath) = CreateUnique(UploadFileName.Sanitize(next.FileName));
        written.Add(filePath);
        fileLength = 0;
    }

    private void PartData(Connection connection, ReadOnlySpan<byte> data)
    {
        if (part is null) return;
        if (file is null)
        {
            if (fieldLength + data.Length > options.MaxFieldLength)
            {
                Fail(connection, FormError.TooLarge, $"Field '{part.Name}' is longer than {options.MaxFieldLength} bytes.");
                return;
            }
            if (fieldBuffer is null || fieldBuffer.Length < fieldLength + data.Length) Array.Resize(ref fieldBuffer, Math.Max(256, (fieldLength + data.Length) * 2));
            data.CopyTo(fieldBuffer.AsSpan(fieldLength));
            fieldLength += data.Length;
            return;
        }
        if (fileLength + data.Length > options.MaxFileSize)
        {
            Fail(connection, FormError.TooLarge, $"The file '{part.FileName}' is larger than {options.MaxFileSize} bytes.");
            return;
        }
        if (TotalFileBytes + data.Length > options.MaxTotalSize)
        {
            Fail(connection, FormError.TooLarge, $"The uploaded files are larger than {options.MaxTotalSize} bytes in total.");
            return;
        }
        RandomAccess.Write(file, data, fileLength);
        fileLength += data.Length;
        TotalFileBytes += data.Length;
    }

    private void EndPart(Connection connection)
    {
        if (part is null) return;
        if (file is null)
        {
            string value;
            try
            {
                value = StrictUtf8.GetString(fieldBuffer.AsSpan(0, fieldLength));
            }
            catch (DecoderFallbackException)
            {
                Fail(connection, FormError.Malformed, $"Field '{part.Name}' is not UTF-8.");
                return;
            }
            fields.Add(part.Name ?? "", value);
        }
        else
        {
            CloseFile();
            files.Add(new UploadedFile(part.Name, part.FileName!, Path.GetFileName(filePath!), filePath!, fileLength, part.ContentType));
        }
        part = null;
    }

    private (SafeFileHandle, string) CreateUnique(string name)
    {
        string stem = Path.GetFileNameWithoutExtension(name), extension = Path.GetExtension(name);
        for (int attempt = 0; ; attempt++)
        {
            string candidate = Path.Combine(options.Directory, attempt == 0 ? name : $"{stem} ({attempt}){extension}");
            try
            {
                return (File.OpenHandle(candidate, FileMode.CreateNew, FileAccess.Write), candidate);
            }
            catch (IOException) when (File.Exists(candidate) && attempt < 10_000)
            {
                // taken: try the next number
            }
        }
    }

    private void Fail(Connection connection, FormError error, string problem)
    {
        stage = Stage.Failed;
        CloseFile();
        DeleteWritten();
        if (connection.HasPendingRequest()) HttpFormExtensions.Refuse(connection, error, problem);
        else connection.Close();
    }

    private void CloseFile()
    {
        file?.Dispose();
        file = null;
    }

    private void DeleteWritten()
    {
        foreach (var path in written)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
                // already gone or busy: nothing more to do
            }
        }
        written.Clear();
        files.Clear();
    }
}
