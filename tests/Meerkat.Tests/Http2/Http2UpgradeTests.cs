using Meerkat.Http;
using Meerkat.Http2;
using static Meerkat.Tests.Http2.Raw;

namespace Meerkat.Tests.Http2;

/// <summary>h2c by Upgrade (RFC 7540 §3.2): the HTTP2-Settings field, and stream 1 carrying the upgraded request.</summary>
public class Http2UpgradeTests
{
    [Fact]
    public void The_settings_field_round_trips_and_carries_what_the_client_will_announce()
    {
        string value = Http2Upgrade.EncodeSettings(new Http2Options { InitialWindowSize = 100_000 });
        Assert.DoesNotContain('=', value);
        Assert.True(Http2Upgrade.TryDecodeSettings(value, out byte[] payload));
        Assert.Equal(0, payload.Length % 6);
        var settings = Enumerable.Range(0, payload.Length / 6).Select(i => Http2Upgrade.Read(payload, i * 6)).ToList();
        Assert.Contains(new Http2Setting(Http2SettingId.EnablePush, 0), settings);
        Assert.Contains(new Http2Setting(Http2SettingId.InitialWindowSize, 100_000), settings);
    }

    [Theory]
    [InlineData("AAMAAABk", true)]      // SETTINGS_MAX_CONCURRENT_STREAMS = 100, as curl sends it
    [InlineData("", true)]              // no parameters
    [InlineData("AAMAAABk=", false)]    // padding is not part of the token68 base64url form
    [InlineData("AAMAAA", false)]       // not a whole setting
    [InlineData("AASAAAAA", false)]     // SETTINGS_INITIAL_WINDOW_SIZE = 2^31
    [InlineData("AAIAAAAC", false)]     // SETTINGS_ENABLE_PUSH = 2
    [InlineData("!!!!", false)]         // not base64url
    public void Received_settings_fields_are_checked_before_switching(string value, bool isValid)
    {
        Assert.Equal(isValid, Http2Upgrade.TryDecodeSettings(value, out _));
    }

    [Fact]
    public void A_server_answers_the_upgraded_request_on_stream_1_within_the_windows_the_field_set()
    {
        var server = new Endpoint(isServer: true);
        Assert.True(Http2Upgrade.TryDecodeSettings("AAQAAABk", out byte[] payload)); // SETTINGS_INITIAL_WINDOW_SIZE = 100
        server.Connection.AcceptUpgrade(payload);
        server.Feed(Concat(ClientPreface, SettingsFrame(), SettingsAck));
        Assert.True(server.Connection.SendHeaders(1, new Http2HeaderList().AddStatus(200), endStream: false));
        Assert.True(server.Connection.TrySendData(1, new byte[1000], endStream: true, server.Now, out int written));
        Assert.Equal(100, written);
        server.Feed(WindowUpdateFrame(1, 900));
        Assert.True(server.Connection.TrySendData(1, new byte[900], endStream: true, server.Now, out written));
        Assert.Equal(900, written);
        Assert.Contains(server.Drain(), e => e is { Kind: Http2EventKind.StreamClosed, StreamId: 1, Outcome: HttpOutcome.Completed });
        // Stream 1 is taken: the client's next request is stream 3.
        Assert.Equal(Http2EventKind.Headers, server.Feed(HeadersFrame(3, EndHeaders | EndStream, Request())).Single().Kind);
        Assert.Throws<InvalidOperationException>(() => server.Connection.AcceptUpgrade([]));
    }

    [Fact]
    public void A_client_receives_the_upgraded_response_on_stream_1_and_opens_3_next()
    {
        var client = new Endpoint(isServer: false);
        Assert.Equal(1, client.Connection.CompleteUpgrade(isHeadRequest: false));
        List<Recorded> events = client.Feed(Concat(SettingsFrame(), SettingsAck, HeadersFrame(1, EndHeaders, Response(200)), DataFrame(1, EndStream, "upgraded")));
        Assert.Equal(["Headers 1", "Data 1 upgraded", "StreamClosed 1 Completed"], events.Where(e => e.StreamId == 1).Select(e => e.Kind switch
        {
            Http2EventKind.Data => $"Data 1 {e.Text}",
            Http2EventKind.StreamClosed => $"StreamClosed 1 {e.Outcome}",
            _ => $"{e.Kind} 1",
        }));
        Assert.Equal(3, client.Connection.OpenStream(new Http2HeaderList().Add(":method", "GET").Add(":scheme", "http").Add(":authority", "a").Add(":path", "/"), endStream: true));
    }

    [Fact]
    public void The_preface_is_told_from_http_1_1_at_every_length()
    {
        byte[] preface = ClientPreface;
        for (int length = 0; length < preface.Length; length++) Assert.Equal(Http2PrefaceMatch.Partial, Http2Preface.Match(preface[..length]));
        Assert.Equal(Http2PrefaceMatch.Complete, Http2Preface.Match([.. preface, 0, 0]));
        Assert.Equal(Http2PrefaceMatch.Mismatch, Http2Preface.Match("GET / HTTP/1.1\r\n"u8));
        Assert.Equal(Http2PrefaceMatch.Mismatch, Http2Preface.Match("PRI * HTTP/1.1\r\n"u8));
        Assert.Equal(Http2PrefaceMatch.Mismatch, Http2Preface.Match("P"u8.ToArray().Concat("OST"u8.ToArray()).ToArray()));
    }
}
