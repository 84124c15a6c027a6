using Xunit;
using Meerkat.WebSockets;

namespace Meerkat.Tests.WebSockets;

public class WebSocketHandshakeTests
{
    private const string RfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
    private const string RfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    private static WebSocketUpgradeRequest Valid(string? protocol = null, string? extensions = null) => new()
    {
        Method = "GET",
        HttpVersion = "HTTP/1.1",
        Upgrade = "websocket",
        Connection = "keep-alive, Upgrade",
        SecWebSocketKey = RfcKey,
        SecWebSocketVersion = "13",
        SecWebSocketProtocol = protocol,
        SecWebSocketExtensions = extensions,
    };

    private static string? Header(WebSocketServerHandshake h, string name) =>
        h.ResponseHeaders.Where(p => p.Key == name).Select(p => p.Value).FirstOrDefault();

    [Fact]
    public void Accept_value_matches_the_rfc_6455_example() => Assert.Equal(RfcAccept, WebSocketHandshake.ComputeAccept(RfcKey));

    [Fact]
    public void Valid_request_gets_101_with_the_accept_header()
    {
        WebSocketServerHandshake h = WebSocketHandshake.AcceptRequest(Valid());
        Assert.True(h.IsAccepted);
        Assert.Equal(101, h.StatusCode);
        Assert.Equal(RfcAccept, Header(h, "Sec-WebSocket-Accept"));
        Assert.Equal("websocket", Header(h, "Upgrade"));
        Assert.Equal("Upgrade", Header(h, "Connection"));
        Assert.Null(Header(h, "Sec-WebSocket-Protocol"));
        Assert.Null(Header(h, "Sec-WebSocket-Extensions"));
    }

    [Theory]
    [InlineData("POST", 405)]
    [InlineData("get", 405)]
    public void Method_other_than_GET_is_refused(string method, int status)
    {
        WebSocketServerHandshake h = WebSocketHandshake.AcceptRequest(new WebSocketUpgradeRequest
        {
            Method = method, HttpVersion = "HTTP/1.1", Upgrade = "websocket", Connection = "upgrade", SecWebSocketKey = RfcKey, SecWebSocketVersion = "13",
        });
        Assert.Equal(status, h.StatusCode);
        Assert.Contains("GET", h.Error, StringComparison.Ordinal);
        Assert.Equal("GET", Header(h, "Allow"));
    }

    [Theory]
    [InlineData("HTTP/1.0")]
    [InlineData("HTTP/2")]
    [InlineData(null)]
    public void Http_version_other_than_1_1_is_refused(string? version)
    {
        WebSocketServerHandshake h = WebSocketHandshake.AcceptRequest(new WebSocketUpgradeRequest
        {
            Method = "GET", HttpVersion = version, Upgrade = "websocket", Connection = "upgrade", SecWebSocketKey = RfcKey, SecWebSocketVersion = "13",
        });
        Assert.Equal(400, h.StatusCode);
        Assert.Contains("HTTP/1.1", h.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "upgrade")]
    [InlineData("h2c", "upgrade")]
    [InlineData("websocketx", "upgrade")]
    [InlineData("websocket", null)]
    [InlineData("websocket", "keep-alive")]
    [InlineData("websocket", "upgraded")]
    public void Missing_upgrade_or_connection_token_is_400(string? upgrade, string? connection)
    {
        WebSocketServerHandshake h = WebSocketHandshake.AcceptRequest(new WebSocketUpgradeRequest
        {
            Method = "GET", HttpVersion = "HTTP/1.1", Upgrade = upgrade, Connection = connection, SecWebSocketKey = RfcKey, SecWebSocketVersion = "13",
        });
        Assert.Equal(400, h.StatusCode);
        Assert.Contains("Upgrade: websocket", h.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("WebSocket", "Upgrade")]
    [InlineData("foo, WEBSOCKET", "close, UPGRADE")]
    public void Tokens_are_case_insensitive_list_members(string upgrade, string connection)
    {
        WebSocketServerHandshake h = WebSocketHandshake.AcceptRequest(new WebSocketUpgradeRequest
        {
            Method = "GET", HttpVersion = "1.1", Upgrade = upgrade, Connection = connection, SecWebSocketKey = RfcKey, SecWebSocketVersion = " 13 ",
        });
        Assert.True(h.IsAccepted, h.Error);
    }

    [Theory]
    [InlineData("8")]
    [InlineData("12")]
    [InlineData("14")]
    [InlineData(null)]
    public void Other_version_gets_426_naming_version_13(string? version)
    {
        WebSocketServerHandshake h = WebSocketHandshake.AcceptRequest(new WebSocketUpgradeRequest
        {
            Method = "GET", HttpVersion = "HTTP/1.1", Upgrade = "websocket", Connection = "upgrade", SecWebSocketKey = RfcKey, SecWebSocketVersion = version,
        });
        Assert.Equal(426, h.StatusCode);
        Assert.Equal("13", Header(h, "Sec-WebSocket-Version"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("AAAAAAAAAAAAAAAAAAAA")] // 15 octets
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAA==")] // 19 octets
    public void Key_that_is_not_16_base64_octets_is_400(string? key)
    {
        WebSocketServerHandshake h = WebSocketHandshake.AcceptRequest(new WebSocketUpgradeRequest
        {
            Method = "GET", HttpVersion = "HTTP/1.1", Upgrade = "websocket", Connection = "upgrade", SecWebSocketKey = key, SecWebSocketVersion = "13",
        });
        Assert.Equal(400, h.StatusCode);
        Assert.Contains("Sec-WebSocket-Key", h.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("chat, superchat", "superchat", "chat")]
    [InlineData("mqtt, chat", "chat", "chat")]
    [InlineData("v2.json, v1.json", "v1.json", "v1.json")]
    [InlineData("other", null, null)]
    [InlineData(null, null, null)]
    public void Subprotocol_is_the_clients_first_supported(string? offered, string? secondSupported, string? expected)
    {
        string[] supported = secondSupported is null ? ["chat"] : ["chat", secondSupported];
        WebSocketServerHandshake h = WebSocketHandshake.AcceptRequest(Valid(offered), supported);
        Assert.Equal(expected, h.Subprotocol);
        Assert.Equal(expected, Header(h, "Sec-WebSocket-Protocol"));
    }

    [Fact]
    public void Client_key_is_random_and_16_octets()
    {
        string a = WebSocketHandshake.CreateKey();
        string b = WebSocketHandshake.CreateKey();
        Assert.NotEqual(a, b);
        Assert.True(WebSocketHandshake.IsValidKey(a));
    }

    [Fact]
    public void Client_request_headers_carry_key_version_protocols_and_offer()
    {
        var client = new WebSocketClientHandshake(["chat", "superchat"], new PerMessageDeflateOptions());
        var headers = client.RequestHeaders.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("websocket", headers["Upgrade"]);
        Assert.Equal("Upgrade", headers["Connection"]);
        Assert.Equal(client.Key, headers["Sec-WebSocket-Key"]);
        Assert.Equal("13", headers["Sec-WebSocket-Version"]);
        Assert.Equal("chat, superchat", headers["Sec-WebSocket-Protocol"]);
        Assert.Equal("permessage-deflate", headers["Sec-WebSocket-Extensions"]);
    }

    [Fact]
    public void Client_and_server_handshakes_agree()
    {
        var client = new WebSocketClientHandshake(["chat"], new PerMessageDeflateOptions { ClientNoContextTakeover = true });
        var headers = client.RequestHeaders.ToDictionary(p => p.Key, p => p.Value);
        WebSocketServerHandshake server = WebSocketHandshake.AcceptRequest(
            new WebSocketUpgradeRequest
            {
                Method = "GET", HttpVersion = "HTTP/1.1", Upgrade = headers["Upgrade"], Connection = headers["Connection"],
                SecWebSocketKey = headers["Sec-WebSocket-Key"], SecWebSocketVersion = headers["Sec-WebSocket-Version"],
                SecWebSocketProtocol = headers["Sec-WebSocket-Protocol"], SecWebSocketExtensions = headers["Sec-WebSocket-Extensions"],
            },
            ["chat"],
            new PerMessageDeflateOptions());
        WebSocketClientHandshakeResult result = client.ValidateResponse(
            server.StatusCode, Header(server, "Upgrade"), Header(server, "Connection"), Header(server, "Sec-WebSocket-Accept"),
            Header(server, "Sec-WebSocket-Protocol"), Header(server, "Sec-WebSocket-Extensions"));
        Assert.True(result.IsSuccess, result.Error);
        Assert.Equal("chat", result.Subprotocol);
        Assert.Equal(server.Deflate, result.Deflate);
        Assert.True(result.Deflate!.ClientNoContextTakeover);
    }

    [Theory]
    [InlineData(200, "websocket", "Upgrade", true, null, null, "200")]
    [InlineData(101, null, "Upgrade", true, null, null, "Upgrade: websocket")]
    [InlineData(101, "websocket", "close", true, null, null, "Connection: upgrade")]
    [InlineData(101, "websocket", "Upgrade", false, null, null, "Sec-WebSocket-Accept")]
    [InlineData(101, "websocket", "Upgrade", true, "superchat", null, "subprotocol")]
    [InlineData(101, "websocket", "Upgrade", true, null, "x-webkit-deflate-frame", "not offered")]
    public void Client_rejects_bad_responses(int status, string? upgrade, string? connection, bool isAcceptRight, string? protocol, string? extensions, string expectedError)
    {
        var client = new WebSocketClientHandshake(["chat"]);
        string accept = isAcceptRight ? WebSocketHandshake.ComputeAccept(client.Key) : RfcAccept;
        WebSocketClientHandshakeResult result = client.ValidateResponse(status, upgrade, connection, accept, protocol, extensions);
        Assert.False(result.IsSuccess);
        Assert.Contains(expectedError, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Client_rejects_deflate_it_did_not_offer()
    {
        var client = new WebSocketClientHandshake();
        WebSocketClientHandshakeResult result = client.ValidateResponse(101, "websocket", "Upgrade", WebSocketHandshake.ComputeAccept(client.Key), null, "permessage-deflate");
        Assert.False(result.IsSuccess);
    }
}
