// How this file works: W3C Trace Context (traceparent, tracestate) and baggage in and out of HTTP
// heads, through DistributedContextPropagator.Current: the propagator the process chose (W3C by
// default; the OpenTelemetry SDK and ASP.NET Core use the same one), so Meerkat's spans join the
// same traces as theirs. Only called when a listener wants spans.
using System.Buffers;
using System.Diagnostics;
using Meerkat.Http;

namespace Meerkat.Diagnostics;

/// <summary>Reads and writes trace context in HTTP header fields.</summary>
internal static class TraceContext
{
    /// <summary>The parent named by a request's <c>traceparent</c> and <c>tracestate</c> fields, if any
    /// is valid, and its baggage.</summary>
    public static bool TryExtract(HttpRequest request, out ActivityContext parent, out IEnumerable<KeyValuePair<string, string?>>? baggage)
    {
        var propagator = DistributedContextPropagator.Current;
        propagator.ExtractTraceIdAndState(request, static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
        {
            value = ((HttpRequest)carrier!).GetHeader(name);
            values = null;
        }, out string? traceParent, out string? traceState);
        baggage = null;
        if (traceParent is null || !ActivityContext.TryParse(traceParent, traceState, isRemote: true, out parent))
        {
            parent = default;
            return false;
        }
        baggage = propagator.ExtractBaggage(request, static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
        {
            value = ((HttpRequest)carrier!).GetHeader(name);
            values = null;
        });
        return true;
    }

    /// <summary>Writes the span's <c>traceparent</c> (and <c>tracestate</c>, baggage) as header fields.</summary>
    public static void Inject(Activity span, IBufferWriter<byte> head) =>
        DistributedContextPropagator.Current.Inject(span, head, static (object? carrier, string name, string value) =>
            HeadWriting.WriteField((IBufferWriter<byte>)carrier!, name, value));

    /// <summary>Adds the span's <c>traceparent</c> (and <c>tracestate</c>, baggage) to an HTTP/2 header section.</summary>
    public static void Inject(Activity span, Meerkat.Http2.Http2HeaderList head) =>
        DistributedContextPropagator.Current.Inject(span, head, static (object? carrier, string name, string value) =>
            ((Meerkat.Http2.Http2HeaderList)carrier!).Add(name, value));
}
