using System.Net;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.Forms;
using Meerkat.Http.Routing;
using Meerkat.Tests.Http.Routing;

namespace Meerkat.Tests.Http.Forms;

public class FormUrlEncodedTests
{
    private static FormData Parse(string body, FormLimits? limits = null)
    {
        var error = FormUrlEncoded.TryParse(Encoding.ASCII.GetBytes(body), limits, out var form, out string problem);
        Assert.True(error == FormError.None, problem);
        return form;
    }

    [Fact]
    public void Pairs_are_decoded_with_plus_as_space_percent_escapes_as_utf8_and_empty_pairs_skipped()
    {
        var form = Parse("a=1&b=two+words&c=%E2%82%AC+%2B&d&&e=&f=x=y&a=2&");
        Assert.Equal(["a=1", "b=two words", "c=€ +", "d=", "e=", "f=x=y", "a=2"], form.Select(f => $"{f.Key}={f.Value}"));
        Assert.Equal("1", form["a"]);
        Assert.Equal(["1", "2"], form.GetValues("a"));
        Assert.Null(form["missing"]);
        Assert.True(form.Contains("d"));
        Assert.Empty(Parse(""));
        Assert.Equal("sp ace", Parse("sp%20ace=1").Single().Key);
    }

    [Theory]
    [InlineData("a=%zz", "Field 1")]
    [InlineData("a=1&b=%E2%82", "Field 2")]
    [InlineData("a=1&b=2&%FF=3", "Field 3")]
    [InlineData("a=%4", "Field 1")]
    public void A_malformed_escape_or_invalid_utf8_is_refused_naming_the_field(string body, string field)
    {
        var error = FormUrlEncoded.TryParse(Encoding.ASCII.GetBytes(body), null, out _, out string problem);
        Assert.Equal(FormError.Malformed, error);
        Assert.Contains(field, problem);
    }

    [Fact]
    public void Limits_on_fields_names_values_and_size_are_refused_as_too_large()
    {
        var limits = new FormLimits { MaxFields = 2, MaxNameLength = 4, MaxValueLength = 5, MaxBodySize = 30 };
        Assert.Equal(2, Parse("a=1&b=2", limits).Count);
        Assert.Equal(FormError.TooLarge, FormUrlEncoded.TryParse("a=1&b=2&c=3"u8, limits, out _, out string fields));
        Assert.Contains("more than 2 fields", fields);
        Assert.Equal(FormError.TooLarge, FormUrlEncoded.TryParse("named=1"u8, limits, out _, out _));
        Assert.Equal(FormError.TooLarge, FormUrlEncoded.TryParse("a=123456"u8, limits, out _, out _));
        Assert.Equal(FormError.TooLarge, FormUrlEncoded.TryParse(Encoding.ASCII.GetBytes(new string('&', 31)), limits, out _, out string size));
        Assert.Contains("31 bytes", size);
    }

    [Fact]
    public void Enumerating_raw_pairs_allocates_nothing()
    {
        byte[] body = "user=ann&password=s%33cret&remember=on"u8.ToArray();
        int Count()
        {
            int found = 0;
            foreach (var field in FormUrlEncoded.Enumerate(body))
                if (field.NameIs("password"u8) && field.RawValue.Length == 8) found++;
            return found;
        }
        for (int i = 0; i < 100; i++) Count();
        long before = GC.GetAllocatedBytesForCurrentThread();
        int total = 0;
        for (int i = 0; i < 1000; i++) total += Count();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1000, total);
    }

    private static RoutedServer Start()
    {
        var router = new Router();
        router.MapPost("/login", (c, e, route) =>
        {
            if (c.TryReadForm(e.Request!, out var form, new FormLimits { MaxFields = 3 }))
                c.Reply(200, string.Join(";", form.Select(f => $"{f.Key}={f.Value}")));
        });
        return new RoutedServer(router);
    }

    [Fact]
    public void HttpClient_form_content_is_read_and_wrong_types_or_bad_forms_get_their_status()
    {
        using var server = Start();
        var ok = server.Send(HttpMethod.Post, "/login", new FormUrlEncodedContent([new("user", "ann ö"), new("pass", "a&b=c")]));
        Assert.Equal("user=ann ö;pass=a&b=c", server.Text(ok));

        var json = server.Send(HttpMethod.Post, "/login", new StringContent("{}", null, "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);
        Assert.Contains("expected application/x-www-form-urlencoded", server.Text(json));

        var bad = server.Send(HttpMethod.Post, "/login", new StringContent("a=%G0", null, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        var many = server.Send(HttpMethod.Post, "/login", new FormUrlEncodedContent([new("a", "1"), new("b", "2"), new("c", "3"), new("d", "4")]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, many.StatusCode);
    }
}
