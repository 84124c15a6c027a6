namespace Meerkat.Http.Multipart;

/// <summary>Limits of a <see cref="MultipartReader"/>. Memory use is bounded by <see cref="MaxPartHeaderBytes"/> plus a few dozen bytes, whatever the part sizes.</summary>
public sealed class MultipartReaderOptions
{
    /// <summary>The largest header block of one part, in bytes, including its final empty line. Default 16 KiB.</summary>
    public int MaxPartHeaderBytes { get; set; } = 16 * 1024;

    /// <summary>The most parts accepted in one body. Default 1000.</summary>
    public int MaxParts { get; set; } = 1000;
}
