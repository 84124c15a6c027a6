using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Meerkat.Tests.Http.Client;

/// <summary>DESIGN.md §4.1: a 1 GiB body streams in bounded memory. Measures the whole process, so it runs alone.</summary>
[Collection(Serial.Name)]
public sealed class LargeDownloadTests
{
    [Fact]
    public async Task GibibyteStreamsInUnder64MiBOfProcessGrowth()
    {
        await using var server = await Kestrel.StartAsync(app =>
        {
            app.MapGet("/warm-up", () => "ok");
            app.MapGet("/gib", async (HttpContext c) =>
            {
                long n = 1L << 30;
                c.Response.ContentLength = n;
                var block = new byte[256 * 1024];
                for (long sent = 0; sent < n; sent += block.Length) await c.Response.Body.WriteAsync(block);
            });
        });
        await using var client = MeerkatHttpClientTests.NewClient();
        Assert.Equal("ok", await client.GetStringAsync(server.Url + "/warm-up")); // JIT, pools and Kestrel warmed before measuring
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = Process.GetCurrentProcess().WorkingSet64;
        long peak = before, total = 0;
        using (var response = await client.GetAsync(server.Url + "/gib"))
        {
            var buffer = new byte[64 * 1024];
            for (int n; (n = await response.Content.ReadAsync(buffer)) > 0;)
            {
                total += n;
                if ((total & ((32 << 20) - 1)) < n) peak = Math.Max(peak, Process.GetCurrentProcess().WorkingSet64);
            }
        }
        Assert.Equal(1L << 30, total);
        Assert.True(peak - before < 64L << 20, $"the process grew {(peak - before) >> 20} MiB");
    }
}
