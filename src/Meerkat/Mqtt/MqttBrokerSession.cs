// How this file works: what the broker keeps for one client identifier (MQTT 5.0 §4.1): its
// subscriptions, the QoS 1/2 messages sent to it and not yet acknowledged (in flight, by packet
// identifier), the messages waiting to be sent (bounded), and the identifiers of QoS 2 messages
// it sent that await PUBREL. A session outlives its connection when its expiry interval is above
// zero, and is then what a persistent store saves.
namespace Meerkat.Mqtt;

/// <summary>An application message as the broker holds it: payload copied, shared by every session it goes to.</summary>
internal sealed class MqttBrokerMessage(string topic, byte[] payload, MqttQualityOfService qos, bool retain, MqttProperties? properties, string? publisherId, long expiresAt)
{
    public string Topic { get; } = topic;
    public byte[] Payload { get; } = payload;
    public MqttQualityOfService QualityOfService { get; } = qos;
    public bool Retain { get; } = retain;
    /// <summary>Properties to forward (topic alias and subscription identifiers removed).</summary>
    public MqttProperties? Properties { get; } = properties;
    public string? PublisherId { get; } = publisherId;
    /// <summary>Monotonic milliseconds after which it is discarded; long.MaxValue: never.</summary>
    public long ExpiresAt { get; } = expiresAt;
    /// <summary>Identity in the persistent store; 0 until stored.</summary>
    public long StoreId { get; set; }
}

/// <summary>One message on its way to one session.</summary>
internal sealed class MqttOutgoing(MqttBrokerMessage message, MqttQualityOfService qos, bool retain, List<int>? subscriptionIds)
{
    public enum Stage { Queued, AwaitingPubAck, AwaitingPubRec, AwaitingPubComp }

    public MqttBrokerMessage Message { get; } = message;
    public MqttQualityOfService QualityOfService { get; } = qos;
    public bool Retain { get; } = retain;
    public List<int>? SubscriptionIds { get; } = subscriptionIds;
    public ushort PacketId { get; set; }
    public Stage Step { get; set; }
}

internal sealed class MqttBrokerSession(string clientId)
{
    public string ClientId { get; } = clientId;

    // The collections are made on first use: an idle client that never subscribes, receives or sends
    // QoS 2 costs none of them (a broker with 10,000 idle clients keeps 10,000 sessions).
    private Dictionary<string, MqttBrokerSubscription>? subscriptions;
    private Dictionary<ushort, MqttOutgoing>? inflight;
    private Queue<MqttOutgoing>? queued;
    private HashSet<ushort>? receivedQos2;

    /// <summary>Subscriptions by filter as subscribed.</summary>
    public Dictionary<string, MqttBrokerSubscription> Subscriptions => subscriptions ??= new(StringComparer.Ordinal);

    /// <summary>QoS 1/2 messages sent and not yet acknowledged, by packet identifier.</summary>
    public Dictionary<ushort, MqttOutgoing> Inflight => inflight ??= [];

    /// <summary>Messages waiting for a connection or for room in the window.</summary>
    public Queue<MqttOutgoing> Queued => queued ??= new();

    /// <summary>QoS 2 messages received from the client, acknowledged with PUBREC, awaiting PUBREL.</summary>
    public HashSet<ushort> ReceivedQos2 => receivedQos2 ??= [];

    public int SubscriptionCount => subscriptions?.Count ?? 0;

    public int InflightCount => inflight?.Count ?? 0;

    public int QueuedCount => queued?.Count ?? 0;

    public int ReceivedQos2Count => receivedQos2?.Count ?? 0;

    /// <summary>Forgets everything (the session ends); the subscriptions are returned so the caller can unroute them.</summary>
    public IEnumerable<MqttBrokerSubscription> Clear()
    {
        var ended = subscriptions?.Values.ToList() ?? [];
        subscriptions = null;
        inflight = null;
        queued = null;
        receivedQos2 = null;
        return ended;
    }

    /// <summary>Seconds the session lives after its connection ends; uint.MaxValue: for ever.</summary>
    public uint ExpiryInterval { get; set; }

    /// <summary>Monotonic milliseconds when an offline session expires; long.MaxValue while connected or never.</summary>
    public long ExpiresAt { get; set; } = long.MaxValue;

    /// <summary>The connection serving it, or null while offline.</summary>
    public MqttBrokerConnection? Connection { get; set; }

    public bool IsPersistent => ExpiryInterval > 0;

    /// <summary>Messages dropped because the queue was full.</summary>
    public long Dropped { get; set; }

    private ushort nextPacketId;

    public ushort NextPacketId()
    {
        for (int i = 0; i < ushort.MaxValue; i++)
        {
            nextPacketId = nextPacketId == ushort.MaxValue ? (ushort)1 : (ushort)(nextPacketId + 1);
            if (!Inflight.ContainsKey(nextPacketId)) return nextPacketId;
        }
        throw new InvalidOperationException("all packet identifiers are in use");
    }
}
