// How this file works: whole WebSocket messages counted as they are received (the last fragment of
// a streamed one) and sent (meerkat.websocket.messages), with cached attribute values.
using Meerkat.WebSockets;

namespace Meerkat.Diagnostics;

/// <summary>WebSocket message counts.</summary>
internal static class WebSocketTelemetry
{
    public static void Message(Connection connection, WebSocketMessageKind kind, bool received)
    {
        var counter = connection.Manager.Metrics.WebSocketMessages;
        if (!counter.Enabled) return;
        counter.Add(1, new(TelemetryTags.Direction, received ? "receive" : "transmit"),
            new(TelemetryTags.MessageType, kind == WebSocketMessageKind.Text ? "text" : "binary"));
    }
}
