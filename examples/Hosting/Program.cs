// A Meerkat server under the .NET Generic Host, observed with OpenTelemetry: its spans and metrics go
// to the console exporter, its log records (listen, shutdown, handler errors...) to console logging.
// Like any Generic Host app it takes --urls and configuration (appsettings.json, Meerkat__* variables),
// prints where it listens, and on SIGTERM or Ctrl+C stops gracefully and exits 0.
// Usage: dotnet run --project examples/Hosting -- --urls http://127.0.0.1:8080
//        curl http://127.0.0.1:8080/hello/world
using Meerkat;
using Meerkat.Diagnostics;
using Meerkat.Extensions.Hosting;
using Meerkat.Http;
using Meerkat.Http.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

var builder = Host.CreateApplicationBuilder(args);

builder.Services.AddOpenTelemetry()
    .ConfigureResource(resource => resource.AddService("meerkat-hosting-example"))
    .WithTracing(tracing => tracing.AddSource(MeerkatTelemetry.ActivitySourceName).AddConsoleExporter())
    .WithMetrics(metrics => metrics.AddMeter(MeerkatTelemetry.MeterName)
        .AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 10_000));

var router = new Router();
router.MapGet("/", (c, e, route) => c.Reply(200, "Meerkat under the Generic Host. Try /hello/NAME\n"));
router.MapGet("/hello/{name}", (c, e, route) => c.Reply(200, $"Hello, {route["name"]}!\n"));
builder.Services.AddMeerkat().UseHttp(router.Handle);

var host = builder.Build();
var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
lifetime.ApplicationStarted.Register(() =>
{
    foreach (var address in host.Services.GetRequiredService<MeerkatServer>().Addresses) Console.WriteLine($"Listening on {address}");
});
host.Run();
return 0;
