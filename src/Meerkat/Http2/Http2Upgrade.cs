// How this file works: the HTTP2-Settings header field of the HTTP/1.1 Upgrade to h2c (RFC 7540
// §3.2.1; RFC 9113 §3.1 deprecates the mechanism, but peers still offer it). Its value is the
// payload of a SETTINGS frame in base64url without padding. The server validates it before it
// answers 101, so that a bad value gets a 400 from HTTP/1.1 rather than a broken HTTP/2
// connection; the connection then applies it with Http2Connection.AcceptUpgrade.
using System.Buffers.Binary;
using System.Buffers.Text;

namespace Meerkat.Http2;

/// <summary>The HTTP2-Settings field of an h2c upgrade.</summary>
internal static class Http2Upgrade
{
    /// <summary>The value a client sends: the SETTINGS it will announce, base64url-encoded.</summary>
    public static string EncodeSettings(Http2Options options)
    {
        options.Validate();
        Span<byte> payload = stackalloc byte[5 * Http2Setting.Size];
        int at = 0;
        Write(payload, ref at, Http2SettingId.EnablePush, 0);
        if (options.HeaderTableSize != 4096) Write(payload, ref at, Http2SettingId.HeaderTableSize, (uint)options.HeaderTableSize);
        if (options.InitialWindowSize != Http2Settings.DefaultWindowSize) Write(payload, ref at, Http2SettingId.InitialWindowSize, (uint)options.InitialWindowSize);
        if (options.MaxFrameSize != Http2Settings.DefaultMaxFrameSize) Write(payload, ref at, Http2SettingId.MaxFrameSize, (uint)options.MaxFrameSize);
        Write(payload, ref at, Http2SettingId.MaxHeaderListSize, (uint)options.MaxHeaderListSize);
        return Base64Url.EncodeToString(payload[..at]);
    }

    /// <summary>
    /// Decodes a received HTTP2-Settings value and checks each parameter as a SETTINGS frame's
    /// (§6.5.2); false when the value is not base64url, not a whole number of settings, or has
    /// a parameter out of range: answer the request with 400 and do not switch.
    /// </summary>
    public static bool TryDecodeSettings(ReadOnlySpan<char> value, out byte[] payload)
    {
        payload = [];
        value = value.Trim(" \t");
        if (value.IsEmpty) return true; // no parameters: the defaults
        if (!Base64Url.IsValid(value, out int length) || length % Http2Setting.Size != 0) return false;
        payload = new byte[length];
        if (Base64Url.DecodeFromChars(value, payload) != length) return false;
        var scratch = new Http2Settings();
        for (int at = 0; at < payload.Length; at += Http2Setting.Size)
        {
            if (scratch.Apply(Read(payload, at), out _) != Http2ErrorCode.NoError) return false;
        }

        return true;
    }

    /// <summary>The setting at <paramref name="offset"/> of a SETTINGS payload.</summary>
    public static Http2Setting Read(ReadOnlySpan<byte> payload, int offset) =>
        new((Http2SettingId)BinaryPrimitives.ReadUInt16BigEndian(payload[offset..]), BinaryPrimitives.ReadUInt32BigEndian(payload[(offset + 2)..]));

    private static void Write(Span<byte> payload, ref int at, Http2SettingId id, uint value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(payload[at..], (ushort)id);
        BinaryPrimitives.WriteUInt32BigEndian(payload[(at + 2)..], value);
        at += Http2Setting.Size;
    }
}
