// How this file works
// -------------------
// application/x-www-form-urlencoded (WHATWG URL, "application/x-www-form-urlencoded parsing"):
// the body is name=value pairs separated by "&"; a pair without "=" has an empty value; empty
// pairs ("a=1&&b=2") are skipped; "+" is a space and "%XX" a byte; the bytes are UTF-8. Unlike a
// browser, which would keep a malformed escape as text, a server refuses it (400): a client that
// sends one has a bug worth hearing about. Limits (field count, name and value lengths) are
// checked as the body is walked, before anything is decoded, so a hostile body costs no more
// than the limits allow. The pair enumerator is a ref struct over the raw body: no allocation.
using System.Text;

namespace Meerkat.Http.Forms;

/// <summary>Limits for reading forms; every value has a safe default.</summary>
public sealed class FormLimits
{
    /// <summary>Largest form body read (default 1 MiB).</summary>
    public long MaxBodySize { get; init; } = 1024 * 1024;

    /// <summary>Most fields (default 1,000).</summary>
    public int MaxFields { get; init; } = 1000;

    /// <summary>Longest field name, encoded (default 1 KiB).</summary>
    public int MaxNameLength { get; init; } = 1024;

    /// <summary>Longest field value, encoded (default 1 MiB).</summary>
    public int MaxValueLength { get; init; } = 1024 * 1024;
}

/// <summary>One raw name=value pair of a urlencoded body, still encoded.</summary>
public readonly ref struct FormField
{
    internal FormField(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        RawName = name;
        RawValue = value;
    }

    /// <summary>The name as sent (encoded).</summary>
    public ReadOnlySpan<byte> RawName { get; }

    /// <summary>The value as sent (encoded).</summary>
    public ReadOnlySpan<byte> RawValue { get; }

    /// <summary>True when the decoded name equals <paramref name="name"/> (compared byte-wise after decoding, without allocating
    /// for names up to 256 bytes).</summary>
    public bool NameIs(ReadOnlySpan<byte> name)
    {
        if (!PercentDecoding.NeedsDecoding(RawName, plusIsSpace: true)) return RawName.SequenceEqual(name);
        Span<byte> decoded = RawName.Length <= 256 ? stackalloc byte[256] : new byte[RawName.Length];
        return PercentDecoding.TryDecode(RawName, decoded, out int written, plusIsSpace: true) && decoded[..written].SequenceEqual(name);
    }
}

/// <summary>Reads <c>application/x-www-form-urlencoded</c> bodies.</summary>
public static class FormUrlEncoded
{
    /// <summary>The media type of urlencoded forms.</summary>
    public const string MediaType = "application/x-www-form-urlencoded";

    private const byte Ampersand = (byte)'&';
    private const byte EqualSign = (byte)'=';

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Enumerates the raw pairs of <paramref name="body"/> (no decoding, no limits, no allocation).</summary>
    public static Enumerator Enumerate(ReadOnlySpan<byte> body) => new(body);

    /// <summary>Decodes a whole body into fields, within <paramref name="limits"/>.</summary>
    /// <param name="body">The body bytes.</param>
    /// <param name="limits">The limits; null for the defaults.</param>
    /// <param name="form">The fields, in order, when the result is <see cref="FormError.None"/>.</param>
    /// <param name="problem">What is wrong otherwise, naming the field.</param>
    /// <returns>None, or why the body was refused.</returns>
    public static FormError TryParse(ReadOnlySpan<byte> body, FormLimits? limits, out FormData form, out string problem)
    {
        limits ??= new FormLimits();
        form = new FormData();
        problem = "";
        if (body.Length > limits.MaxBodySize)
        {
            problem = $"The form body of {body.Length} bytes exceeds the limit of {limits.MaxBodySize} bytes.";
            return FormError.TooLarge;
        }
        var fields = new List<KeyValuePair<string, string>>();
        foreach (var field in Enumerate(body))
        {
            if (fields.Count == limits.MaxFields)
            {
                problem = $"The form has more than {limits.MaxFields} fields.";
                return FormError.TooLarge;
            }
            if (field.RawName.Length > limits.MaxNameLength || field.RawValue.Length > limits.MaxValueLength)
            {
                problem = $"Field {fields.Count + 1} of the form is longer than the limit ({limits.MaxNameLength}-byte names, {limits.MaxValueLength}-byte values).";
                return FormError.TooLarge;
            }
            string? name = Decode(field.RawName), value = name is null ? null : Decode(field.RawValue);
            if (name is null || value is null)
            {
                problem = $"Field {fields.Count + 1} of the form has a malformed percent escape or is not UTF-8.";
                return FormError.Malformed;
            }
            fields.Add(new(name, value));
        }
        form = new FormData(fields);
        return FormError.None;
    }

    /// <summary>Decodes one encoded name or value ("+" is a space), or null when malformed.</summary>
    public static string? Decode(ReadOnlySpan<byte> raw)
    {
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(raw.Length, 1));
        try
        {
            if (!PercentDecoding.TryDecode(raw, buffer, out int written, plusIsSpace: true)) return null;
            return StrictUtf8.GetString(buffer, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Walks the pairs of a body.</summary>
    public ref struct Enumerator
    {
        private ReadOnlySpan<byte> rest;

        internal Enumerator(ReadOnlySpan<byte> body)
        {
            rest = body;
            Current = default;
        }

        /// <summary>The current pair.</summary>
        public FormField Current { get; private set; }

        /// <summary>This enumerator, for <c>foreach</c>.</summary>
        public readonly Enumerator GetEnumerator() => this;

        /// <summary>Moves to the next non-empty pair.</summary>
        public bool MoveNext()
        {
            while (!rest.IsEmpty)
            {
                int amp = rest.IndexOf(Ampersand);
                var pair = amp < 0 ? rest : rest[..amp];
                rest = amp < 0 ? default : rest[(amp + 1)..];
                if (pair.IsEmpty) continue;
                int eq = pair.IndexOf(EqualSign);
                Current = eq < 0 ? new FormField(pair, default) : new FormField(pair[..eq], pair[(eq + 1)..]);
                return true;
            }
            return false;
        }
    }
}

/// <summary>Why a form body was refused.</summary>
public enum FormError
{
    /// <summary>No error.</summary>
    None,

    /// <summary>The Content-Type is not the form's (415).</summary>
    WrongContentType,

    /// <summary>A limit was passed (413).</summary>
    TooLarge,

    /// <summary>A malformed escape or invalid UTF-8, or a malformed multipart body (400).</summary>
    Malformed,
}
