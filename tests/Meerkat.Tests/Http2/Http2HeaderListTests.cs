using System.Text;
using Meerkat.Http2;

namespace Meerkat.Tests.Http2;

public class Http2HeaderListTests
{
    [Fact]
    public void Names_are_lowercased_and_values_kept_as_given()
    {
        var list = new Http2HeaderList().AddStatus(204).Add("Content-Type", "Text/Plain").Add("X-Bytes"u8, [0xff]);
        Assert.Equal([":status=204", "content-type=Text/Plain", "x-bytes=ÿ"], Fields(list));
        Assert.True(list.TryGetPseudo(":status"u8, out ReadOnlySpan<byte> status));
        Assert.Equal("204", Encoding.ASCII.GetString(status));
    }

    [Fact]
    public void A_field_that_outgrows_the_buffer_keeps_its_name()
    {
        // Regression: the name was written to the array that growing for the value replaced.
        var list = new Http2HeaderList();
        list.Add("x-first", "1").Add("x-big", new string('v', 5000)).Add("x-big-too"u8, Enumerable.Repeat((byte)'w', 9000).ToArray());
        Assert.Equal(["x-first", "x-big", "x-big-too"], Enumerable.Range(0, list.Count).Select(i => Encoding.ASCII.GetString(list.GetName(i))));
        Assert.Equal(5000, list.GetValue(1).Length);
    }

    [Fact]
    public void Clear_makes_it_reusable_without_allocating()
    {
        var list = new Http2HeaderList();
        list.AddStatus(200).Add("content-type", "text/plain").Add("server", "meerkat");
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            list.Clear();
            list.AddStatus(200).Add("content-type", "text/plain").Add("server", "meerkat");
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(3, list.Count);
    }

    [Fact]
    public void Request_and_response_sections_are_checked_for_their_pseudo_header_fields()
    {
        new Http2HeaderList().Add(":method", "GET").Add(":scheme", "https").Add(":path", "/").CheckRequest();
        new Http2HeaderList().Add(":method", "CONNECT").Add(":authority", "a:443").CheckRequest();
        Assert.Throws<ArgumentException>(() => new Http2HeaderList().Add(":method", "GET").Add(":path", "/").CheckRequest());
        Assert.Throws<ArgumentException>(() => new Http2HeaderList().Add(":method", "CONNECT").Add(":authority", "a").Add(":path", "/").CheckRequest());
        Assert.Throws<ArgumentException>(() => new Http2HeaderList().Add(":method", "GET").CheckResponse());
        Assert.Equal(404, new Http2HeaderList().AddStatus(404).CheckResponse());
        Assert.Throws<ArgumentException>(() => new Http2HeaderList().AddStatus(200).CheckTrailers());
        Assert.Throws<ArgumentException>(() => new Http2HeaderList().AddStatus(200).AddStatus(200));
    }

    private static List<string> Fields(Http2HeaderList list) =>
        Enumerable.Range(0, list.Count).Select(i => Encoding.Latin1.GetString(list.GetName(i)) + "=" + Encoding.Latin1.GetString(list.GetValue(i))).ToList();
}
