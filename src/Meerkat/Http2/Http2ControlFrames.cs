// How this file works: the SETTINGS exchange and PING (RFC 9113 §6.5, §6.7), for Http2Connection.
// Three sets of settings are kept:
//   Local              what we announced at start (from Http2Options)
//   LocalAcknowledged  what the peer has acknowledged, and so counts with: the defaults until its
//                      ACK, then Local. Receive windows of new streams and the HPACK decoder's
//                      table limit follow this one, not Local (§6.5.3, §6.9.2)
//   Remote             the peer's, applied in order as they arrive, then acknowledged
// Each SETTINGS and each PING makes us write an answer, so both are rate-limited (floods,
// CVE-2019-9512 and -9515); an unanswered SETTINGS times out (SETTINGS_TIMEOUT).
using System.Buffers.Binary;
using System.Diagnostics;
using Meerkat.Http2.Hpack;

namespace Meerkat.Http2;

/// <summary>SETTINGS and PING for one connection.</summary>
internal sealed class Http2ControlFrames
{
    private readonly Http2Connection _connection;
    private readonly long _settingsTimeoutTicks;
    private Http2RateLimiter _pings;
    private Http2RateLimiter _settingsFrames;
    private long _settingsSentAt = -1;

    public Http2ControlFrames(Http2Connection connection, Http2Options options, long now)
    {
        _connection = connection;
        _settingsTimeoutTicks = (long)(options.SettingsTimeout.TotalSeconds * Stopwatch.Frequency);
        _pings = new Http2RateLimiter(options.Pings, now);
        _settingsFrames = new Http2RateLimiter(options.Settings, now);
        Local = new Http2Settings
        {
            HeaderTableSize = options.HeaderTableSize,
            IsPushEnabled = false,
            MaxConcurrentStreams = connection.IsServer ? (uint)options.MaxConcurrentStreams : uint.MaxValue,
            InitialWindowSize = options.InitialWindowSize,
            MaxFrameSize = options.MaxFrameSize,
            MaxHeaderListSize = (uint)options.MaxHeaderListSize,
        };
    }

    /// <summary>The settings we announced.</summary>
    public Http2Settings Local { get; }

    /// <summary>The settings the peer has acknowledged (the defaults before its ACK).</summary>
    public Http2Settings LocalAcknowledged { get; private set; } = new();

    /// <summary>The peer's settings as applied so far.</summary>
    public Http2Settings Remote { get; } = new();

    /// <summary>When our SETTINGS time out unacknowledged, or <see cref="long.MaxValue"/>.</summary>
    public long SettingsDeadline => _settingsSentAt >= 0 ? _settingsSentAt + _settingsTimeoutTicks : long.MaxValue;

    /// <summary>Writes our SETTINGS (the defaults left out), once, at start.</summary>
    public void SendSettings(long now)
    {
        Span<Http2Setting> settings = stackalloc Http2Setting[8];
        int count = 0;
        if (Local.HeaderTableSize != HpackEncoder.DefaultTableSize) settings[count++] = new(Http2SettingId.HeaderTableSize, (uint)Local.HeaderTableSize);
        if (!_connection.IsServer) settings[count++] = new(Http2SettingId.EnablePush, 0);
        if (_connection.IsServer) settings[count++] = new(Http2SettingId.MaxConcurrentStreams, Local.MaxConcurrentStreams);
        if (Local.InitialWindowSize != Http2Settings.DefaultWindowSize) settings[count++] = new(Http2SettingId.InitialWindowSize, (uint)Local.InitialWindowSize);
        if (Local.MaxFrameSize != Http2Settings.DefaultMaxFrameSize) settings[count++] = new(Http2SettingId.MaxFrameSize, (uint)Local.MaxFrameSize);
        settings[count++] = new(Http2SettingId.MaxHeaderListSize, Local.MaxHeaderListSize);
        settings[count++] = new(Http2SettingId.NoRfc7540Priorities, 1);
        Http2FrameWriter.WriteSettings(_connection.Output, settings[..count]);
        _settingsSentAt = now;
    }

    public Http2Event OnSettings(Http2Frame frame)
    {
        if (frame.StreamId != 0) return _connection.Fail(Http2ErrorCode.ProtocolError, "SETTINGS on a stream");
        if (frame.HasFlag(Http2FrameFlags.Ack)) return OnAcknowledgement(frame);
        if (frame.Payload.Length % Http2Setting.Size != 0) return _connection.Fail(Http2ErrorCode.FrameSizeError, "SETTINGS length not a multiple of 6");
        if (!_settingsFrames.TryTake(_connection.Now)) return _connection.Fail(Http2ErrorCode.EnhanceYourCalm, "SETTINGS flood");
        for (int at = 0; at < frame.Payload.Length; at += Http2Setting.Size)
        {
            if (!ApplyRemote(Http2Upgrade.Read(frame.Payload, at))) return default;
        }

        Http2FrameWriter.WriteSettingsAck(_connection.Output);
        _connection.Flow.WakeBlockedStreams(_connection.Streams, _connection.Events);
        return new Http2Event { Kind = Http2EventKind.Settings };
    }

    /// <summary>Applies one of the peer's settings and its effects, in order (§6.5.3); false after failing the connection.</summary>
    public bool ApplyRemote(Http2Setting setting)
    {
        int previousWindow = Remote.InitialWindowSize;
        Http2ErrorCode code = Remote.Apply(setting, out string? reason);
        if (code == Http2ErrorCode.NoError && !_connection.IsServer && Remote.IsPushEnabled && setting.Id == Http2SettingId.EnablePush)
            (code, reason) = (Http2ErrorCode.ProtocolError, "a server sent SETTINGS_ENABLE_PUSH=1 (§6.5.2)");
        if (code != Http2ErrorCode.NoError)
        {
            _connection.Fail(code, reason!);
            return false;
        }

        if (setting.Id == Http2SettingId.HeaderTableSize) _connection.Encoder.SetPeerMaxTableSize(Remote.HeaderTableSize);
        if (setting.Id != Http2SettingId.InitialWindowSize) return true;
        long delta = (long)Remote.InitialWindowSize - previousWindow; // §6.9.2: applies to every stream
        foreach (Http2Stream stream in _connection.Streams.Streams)
        {
            if (!Http2FlowControl.TryGrowStreamSendWindow(stream, delta))
            {
                _connection.Fail(Http2ErrorCode.FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE took a stream window above 2^31-1");
                return false;
            }
        }

        return true;
    }

    public Http2Event OnPing(Http2Frame frame)
    {
        if (frame.StreamId != 0) return _connection.Fail(Http2ErrorCode.ProtocolError, "PING on a stream");
        if (frame.Payload.Length != 8) return _connection.Fail(Http2ErrorCode.FrameSizeError, "PING length other than 8");
        ulong data = BinaryPrimitives.ReadUInt64BigEndian(frame.Payload);
        if (frame.HasFlag(Http2FrameFlags.Ack)) return new Http2Event { Kind = Http2EventKind.PingAcknowledged, PingData = data };
        if (!_pings.TryTake(_connection.Now)) return _connection.Fail(Http2ErrorCode.EnhanceYourCalm, "PING flood");
        Http2FrameWriter.WritePing(_connection.Output, data, isAck: true);
        return new Http2Event { Kind = Http2EventKind.Ping, PingData = data };
    }

    /// <summary>The peer counts with our settings from now on: receive windows and the decoder's table limit follow (§6.9.2, RFC 7541 §4.2).</summary>
    private Http2Event OnAcknowledgement(Http2Frame frame)
    {
        if (frame.Payload.Length != 0) return _connection.Fail(Http2ErrorCode.FrameSizeError, "SETTINGS acknowledgement with a payload");
        if (_settingsSentAt < 0) return _connection.Fail(Http2ErrorCode.ProtocolError, "SETTINGS acknowledgement with none outstanding");
        long delta = (long)Local.InitialWindowSize - LocalAcknowledged.InitialWindowSize;
        foreach (Http2Stream stream in _connection.Streams.Streams) stream.ReceiveWindow += delta;
        LocalAcknowledged = Local.Clone();
        _connection.Flow.StreamWindowTarget = Local.InitialWindowSize;
        foreach (Http2Stream stream in _connection.Streams.Streams) _connection.Flow.CreditStream(stream, 0); // what is owed under the new target
        _connection.Decoder.SetMaxTableSizeLimit(Local.HeaderTableSize);
        _settingsSentAt = -1;
        return new Http2Event { Kind = Http2EventKind.SettingsAcknowledged };
    }
}
