// The examples of RFC 7541 Appendix C, extracted from the RFC's source (httpwg/http2-spec,
// draft-ietf-httpbis-header-compression.xml): each header list, its encoding, and the dynamic
// table after decoding it (newest entry first). C.3-C.6 are sequences on one connection; C.5 and
// C.6 use a 256-octet table. Fields are "name: value" (split at the first ": " after the name).
namespace Meerkat.Tests.Http2;

internal sealed record HpackExample(string Name, string[] Fields, string Hex, int TableSize, string[] Table);

internal static class HpackAppendixC
{
    public static readonly HpackExample[] Examples =
    [
        new("C.2.1 Literal Header Field with Indexing", ["custom-key: custom-header"], "400a637573746f6d2d6b65790d637573746f6d2d686561646572", 55, ["custom-key: custom-header"]),
        new("C.2.2 Literal Header Field without Indexing", [":path: /sample/path"], "040c2f73616d706c652f70617468", 0, []),
        new("C.2.3 Literal Header Field Never Indexed", ["password: secret"], "100870617373776f726406736563726574", 0, []),
        new("C.2.4 Indexed Header Field", [":method: GET"], "82", 0, []),
        new("C.3.1 First Request", [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"], "828684410f7777772e6578616d706c652e636f6d", 57, [":authority: www.example.com"]),
        new("C.3.2 Second Request", [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com", "cache-control: no-cache"], "828684be58086e6f2d6361636865", 110, ["cache-control: no-cache", ":authority: www.example.com"]),
        new("C.3.3 Third Request", [":method: GET", ":scheme: https", ":path: /index.html", ":authority: www.example.com", "custom-key: custom-value"], "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565", 164, ["custom-key: custom-value", "cache-control: no-cache", ":authority: www.example.com"]),
        new("C.4.1 First Request", [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"], "828684418cf1e3c2e5f23a6ba0ab90f4ff", 57, [":authority: www.example.com"]),
        new("C.4.2 Second Request", [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com", "cache-control: no-cache"], "828684be5886a8eb10649cbf", 110, ["cache-control: no-cache", ":authority: www.example.com"]),
        new("C.4.3 Third Request", [":method: GET", ":scheme: https", ":path: /index.html", ":authority: www.example.com", "custom-key: custom-value"], "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf", 164, ["custom-key: custom-value", "cache-control: no-cache", ":authority: www.example.com"]),
        new("C.5.1 First Response", [":status: 302", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:21 GMT", "location: https://www.example.com"], "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d", 222, ["location: https://www.example.com", "date: Mon, 21 Oct 2013 20:13:21 GMT", "cache-control: private", ":status: 302"]),
        new("C.5.2 Second Response", [":status: 307", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:21 GMT", "location: https://www.example.com"], "4803333037c1c0bf", 222, [":status: 307", "location: https://www.example.com", "date: Mon, 21 Oct 2013 20:13:21 GMT", "cache-control: private"]),
        new("C.5.3 Third Response", [":status: 200", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:22 GMT", "location: https://www.example.com", "content-encoding: gzip", "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"], "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31", 215, ["set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1", "content-encoding: gzip", "date: Mon, 21 Oct 2013 20:13:22 GMT"]),
        new("C.6.1 First Response", [":status: 302", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:21 GMT", "location: https://www.example.com"], "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3", 222, ["location: https://www.example.com", "date: Mon, 21 Oct 2013 20:13:21 GMT", "cache-control: private", ":status: 302"]),
        new("C.6.2 Second Response", [":status: 307", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:21 GMT", "location: https://www.example.com"], "4883640effc1c0bf", 222, [":status: 307", "location: https://www.example.com", "date: Mon, 21 Oct 2013 20:13:21 GMT", "cache-control: private"]),
        new("C.6.3 Third Response", [":status: 200", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:22 GMT", "location: https://www.example.com", "content-encoding: gzip", "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"], "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007", 215, ["set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1", "content-encoding: gzip", "date: Mon, 21 Oct 2013 20:13:22 GMT"]),
    ];

    /// <summary>The examples of one section ("C.3"), in order.</summary>
    public static HpackExample[] Section(string section) => Examples.Where(e => e.Name.StartsWith(section + ".", StringComparison.Ordinal)).ToArray();
}
