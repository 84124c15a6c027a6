using Meerkat.Http.Client;
using static Meerkat.Tests.Http.Client.ClientCorePair;

namespace Meerkat.Tests.Http.Client;

/// <summary>What the client core writes, against the sender rules of RFC 9110 and RFC 9112 (the rows of
/// docs/http-client-rfc.md that concern requests).</summary>
public sealed class ClientRequestRulesTests
{
    private static string Head(HttpClientRequest request)
    {
        var pair = new ClientCorePair();
        Assert.True(pair.Send(request));
        return pair.Sent;
    }

    [Theory]
    [InlineData("http://example.test", "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n")]                      // RFC 9112 §3.2.1: empty path -> "/"
    [InlineData("http://example.test?q=1", "GET /?q=1 HTTP/1.1\r\nHost: example.test\r\n\r\n")]
    [InlineData("http://example.test:8080/a/b?c=d", "GET /a/b?c=d HTTP/1.1\r\nHost: example.test:8080\r\n\r\n")] // RFC 9110 §7.2: the authority, port included
    [InlineData("http://example.test:80/", "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n")]                 // the default port is the same authority
    [InlineData("http://user:secret@example.test/x", "GET /x HTTP/1.1\r\nHost: example.test\r\n\r\n")]      // RFC 9110 §4.2.4, §7.2: never the userinfo
    [InlineData("http://[::1]:8080/", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")]
    [InlineData("http://example.test/a#fragment", "GET /a HTTP/1.1\r\nHost: example.test\r\n\r\n")]         // a fragment is not sent
    public void The_request_line_is_origin_form_and_Host_comes_first(string url, string expected) =>
        Assert.Equal(expected, Head(new HttpClientRequest("GET", url)));

    [Fact]
    public void Content_length_is_sent_when_the_method_expects_content_and_not_otherwise()
    {
        // RFC 9112 §6.2 / RFC 9110 §8.6: a POST without content says Content-Length: 0; a GET without content says nothing.
        Assert.Equal("POST /x HTTP/1.1\r\nHost: example.test\r\nContent-Length: 0\r\n\r\n", Head(Get("/x", "POST")));
        Assert.Equal("DELETE /x HTTP/1.1\r\nHost: example.test\r\n\r\n", Head(Get("/x", "DELETE")));
        Assert.Equal("PUT /x HTTP/1.1\r\nHost: example.test\r\nContent-Length: 3\r\n\r\nabc", Head(new HttpClientRequest("PUT", "http://example.test/x") { Content = "abc"u8.ToArray() }));
    }

    [Theory]
    [InlineData("Host", "other.test")]
    [InlineData("Content-Length", "5")]
    [InlineData("transfer-encoding", "chunked")]
    public void Framing_and_routing_fields_are_the_clients_own(string name, string value)
    {
        // RFC 9112 §6.2, §6.1: the client frames the body itself, so both fields can never disagree with it.
        var pair = new ClientCorePair();
        var error = Assert.Throws<ArgumentException>(() => pair.Send(Get("/").AddHeader(name, value)));
        Assert.Contains(name, error.Message);
        Assert.Equal("", pair.Sent);
        Assert.True(pair.Send(Get("/"))); // nothing half-written stays behind
        Assert.Equal("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n", pair.Sent);
    }

    [Theory]
    [InlineData("X-Bad", "a\r\nInjected: yes")]
    [InlineData("X-Bad", "a\nb")]
    [InlineData("X-Bad", "a\0b")]
    [InlineData("Bad Name", "v")]
    [InlineData("", "v")]
    public void A_field_that_would_break_the_message_is_refused(string name, string value)
    {
        // RFC 9110 §5.1, §5.5: names are tokens; values carry no CR, LF or NUL.
        var pair = new ClientCorePair();
        Assert.Throws<ArgumentException>(() => pair.Send(Get("/").AddHeader(name, value)));
        Assert.Equal("", pair.Sent);
        Assert.Equal(0, pair.Core.OutstandingCount);
    }

    [Fact]
    public void Requests_the_rfc_forbids_are_refused_with_the_rule_named()
    {
        var pair = new ClientCorePair();
        // RFC 9110 §9.3.6: CONNECT needs the authority-form and opens a tunnel, which this client does not do.
        Assert.Contains("CONNECT", Assert.Throws<ArgumentException>(() => pair.Send(Get("/", "CONNECT"))).Message);
        // RFC 9110 §9.3.8: no content in TRACE.
        Assert.Contains("TRACE", Assert.Throws<ArgumentException>(() => pair.Send(new HttpClientRequest("TRACE", "http://example.test/") { Content = "x"u8.ToArray() })).Message);
        // RFC 9110 §10.1.1: no 100-continue expectation without content.
        Assert.Contains("100-continue", Assert.Throws<ArgumentException>(() => pair.Send(Get("/").AddHeader("Expect", "100-continue"))).Message);
        Assert.Equal("", pair.Sent);
        Assert.True(pair.Send(Get("/", "TRACE")));
    }

    [Fact]
    public void The_method_is_sent_as_given_and_only_an_exact_HEAD_has_a_bodiless_answer()
    {
        // RFC 9110 §9.1: methods are case-sensitive; "head" is not HEAD, so its answer's Content-Length frames a body.
        var pair = new ClientCorePair();
        pair.Send(Get("/", "head"));
        Assert.StartsWith("head / HTTP/1.1\r\n", pair.Sent);
        pair.Deliver("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        Assert.Equal(["head 200 HTTP/1.1 ContentLength", "body ok", "message 2", "done Completed"], pair.Events);
    }
}
