// How this file works: one endpoint's SETTINGS values (RFC 9113 §6.5.2), starting at the
// protocol defaults. Apply validates one received parameter and records it; the connection
// reacts to the changes it cares about (windows, table size) itself.
namespace Meerkat.Http2;

/// <summary>The SETTINGS parameters one endpoint has announced.</summary>
internal sealed class Http2Settings
{
    /// <summary>The initial window size every endpoint starts with (§6.9.2), also the connection's initial window.</summary>
    public const int DefaultWindowSize = 65_535;

    /// <summary>The smallest SETTINGS_MAX_FRAME_SIZE, also its default (§6.5.2).</summary>
    public const int DefaultMaxFrameSize = 16_384;

    /// <summary>The largest window (§6.9.1) and SETTINGS_INITIAL_WINDOW_SIZE (§6.5.2): 2^31-1.</summary>
    public const int MaxWindowSize = int.MaxValue;

    /// <summary>SETTINGS_HEADER_TABLE_SIZE (default 4,096).</summary>
    public int HeaderTableSize { get; set; } = 4096;

    /// <summary>SETTINGS_ENABLE_PUSH (default 1, allowed).</summary>
    public bool IsPushEnabled { get; set; } = true;

    /// <summary>SETTINGS_MAX_CONCURRENT_STREAMS (default unlimited).</summary>
    public uint MaxConcurrentStreams { get; set; } = uint.MaxValue;

    /// <summary>SETTINGS_INITIAL_WINDOW_SIZE (default 65,535).</summary>
    public int InitialWindowSize { get; set; } = DefaultWindowSize;

    /// <summary>SETTINGS_MAX_FRAME_SIZE (default 16,384).</summary>
    public int MaxFrameSize { get; set; } = DefaultMaxFrameSize;

    /// <summary>SETTINGS_MAX_HEADER_LIST_SIZE (default unlimited).</summary>
    public uint MaxHeaderListSize { get; set; } = uint.MaxValue;

    /// <summary>SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441, default 0).</summary>
    public bool IsExtendedConnectEnabled { get; set; }

    /// <summary>
    /// Validates and records one received parameter; unknown identifiers are ignored (§6.5.2).
    /// Returns the connection error to raise, or <see cref="Http2ErrorCode.NoError"/>.
    /// </summary>
    public Http2ErrorCode Apply(Http2Setting setting, out string? reason)
    {
        reason = null;
        uint value = setting.Value;
        switch (setting.Id)
        {
            case Http2SettingId.HeaderTableSize:
                HeaderTableSize = (int)Math.Min(value, int.MaxValue);
                break;
            case Http2SettingId.EnablePush when value > 1:
                reason = "SETTINGS_ENABLE_PUSH other than 0 or 1";
                return Http2ErrorCode.ProtocolError;
            case Http2SettingId.EnablePush:
                IsPushEnabled = value == 1;
                break;
            case Http2SettingId.MaxConcurrentStreams:
                MaxConcurrentStreams = value;
                break;
            case Http2SettingId.InitialWindowSize when value > MaxWindowSize:
                reason = "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1";
                return Http2ErrorCode.FlowControlError;
            case Http2SettingId.InitialWindowSize:
                InitialWindowSize = (int)value;
                break;
            case Http2SettingId.MaxFrameSize when value is < DefaultMaxFrameSize or > Http2FrameWriter.MaxPayloadLength:
                reason = "SETTINGS_MAX_FRAME_SIZE outside 16,384 to 16,777,215";
                return Http2ErrorCode.ProtocolError;
            case Http2SettingId.MaxFrameSize:
                MaxFrameSize = (int)value;
                break;
            case Http2SettingId.MaxHeaderListSize:
                MaxHeaderListSize = value;
                break;
            case Http2SettingId.EnableConnectProtocol when value > 1 || IsExtendedConnectEnabled && value == 0:
                reason = "SETTINGS_ENABLE_CONNECT_PROTOCOL other than 0 or 1, or turned off again (RFC 8441 §3)";
                return Http2ErrorCode.ProtocolError;
            case Http2SettingId.EnableConnectProtocol:
                IsExtendedConnectEnabled = value == 1;
                break;
            case Http2SettingId.NoRfc7540Priorities when value > 1:
                reason = "SETTINGS_NO_RFC7540_PRIORITIES other than 0 or 1 (RFC 9218 §2.1)";
                return Http2ErrorCode.ProtocolError;
        }

        return Http2ErrorCode.NoError;
    }

    /// <summary>A copy (the value before a SETTINGS frame is acknowledged).</summary>
    public Http2Settings Clone() => (Http2Settings)MemberwiseClone();
}
