namespace Meerkat.Mqtt;

/// <summary>
/// An application message: what a PUBLISH carries, or a will. Immutable once handed to a client or
/// broker (they may keep it until it is delivered).
/// </summary>
public sealed class MqttApplicationMessage
{
    /// <summary>Creates a message.</summary>
    public MqttApplicationMessage(string topic, ReadOnlyMemory<byte> payload, MqttQualityOfService qos = MqttQualityOfService.AtMostOnce, bool retain = false,
        MqttProperties? properties = null)
    {
        ArgumentNullException.ThrowIfNull(topic);
        Topic = topic;
        Payload = payload;
        QualityOfService = qos;
        Retain = retain;
        Properties = properties;
    }

    /// <summary>The topic name.</summary>
    public string Topic { get; }

    /// <summary>The payload.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The QoS it was published (or is to be published) with.</summary>
    public MqttQualityOfService QualityOfService { get; }

    /// <summary>The RETAIN flag.</summary>
    public bool Retain { get; }

    /// <summary>5.0 properties: expiry, content type, response topic, correlation data, user properties...</summary>
    public MqttProperties? Properties { get; }

    /// <summary>The payload as UTF-8 text (allocates).</summary>
    public string PayloadText => System.Text.Encoding.UTF8.GetString(Payload.Span);

    /// <summary>A copy with other delivery fields.</summary>
    public MqttApplicationMessage With(MqttQualityOfService qos, bool retain, MqttProperties? properties) => new(Topic, Payload, qos, retain, properties);

    /// <inheritdoc/>
    public override string ToString() => $"{Topic} ({Payload.Length} bytes, QoS {(int)QualityOfService}{(Retain ? ", retained" : "")})";
}
