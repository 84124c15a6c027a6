// The hot path of a keep-alive server: parsing a small GET allocates nothing once warmed up
// (DESIGN.md §6), measured with GC.GetAllocatedBytesForCurrentThread.
using Meerkat.Http;
using Xunit;

namespace Meerkat.Tests.Http;

[Collection(Serial.Name)]
public sealed class ZeroAllocationTests
{
    private static readonly byte[] Request =
        "GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\nAccept: text/plain,text/html;q=0.9\r\nConnection: keep-alive\r\nUser-Agent: bench\r\n\r\n"u8.ToArray();

    [Fact]
    public void Parsing_1000_requests_allocates_nothing_after_warm_up()
    {
        var reader = new HttpMessageReader(isRequest: true);
        int checksum = 0;
        // Warm up past tiered compilation's call counting, so the runtime's one-time work is done.
        for (int i = 0; i < 2000; i++) checksum += ParseOne(reader);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) checksum += ParseOne(reader);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(3000 * 4, checksum); // four header fields per request
    }

    /// <summary>Reads one request the way the connection does; returns the header count.</summary>
    private static int ParseOne(HttpMessageReader reader)
    {
        ReadOnlyMemory<byte> input = Request;
        int headers = 0;
        while (true)
        {
            HttpReadResult result = reader.Read(input, endOfStream: false, out int consumed);
            if (result == HttpReadResult.Head)
            {
                headers = reader.Head.Headers.Count;
                if (!reader.Head.TryGetHeader("host"u8, out _) || !reader.Head.KeepAlive || reader.Head.Path.Length != 10) return -1;
            }
            input = input[consumed..];
            if (result == HttpReadResult.MessageEnd) return headers;
            if (result is HttpReadResult.Error or HttpReadResult.NeedMoreData) return -1;
        }
    }
}
