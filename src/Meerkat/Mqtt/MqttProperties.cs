// How this file works: the 5.0 property block (MQTT 5.0 §2.2.2): a variable byte integer length,
// then identifier/value pairs. One class holds every property, null when absent. Reading checks
// each identifier is allowed in the packet it came in (else malformed), that only User Property
// and (in PUBLISH) Subscription Identifier repeat (else protocol error), and the value ranges the
// spec fixes (e.g. Receive Maximum 0 is a protocol error).
namespace Meerkat.Mqtt;

/// <summary>The 5.0 properties of a packet or a will (MQTT 5.0 §2.2.2). Every property is null when absent.</summary>
public sealed class MqttProperties
{
    private const byte PayloadFormatIndicatorId = 0x01, MessageExpiryIntervalId = 0x02, ContentTypeId = 0x03, ResponseTopicId = 0x08,
        CorrelationDataId = 0x09, SubscriptionIdentifierId = 0x0B, SessionExpiryIntervalId = 0x11, AssignedClientIdentifierId = 0x12,
        ServerKeepAliveId = 0x13, AuthenticationMethodId = 0x15, AuthenticationDataId = 0x16, RequestProblemInformationId = 0x17,
        WillDelayIntervalId = 0x18, RequestResponseInformationId = 0x19, ResponseInformationId = 0x1A, ServerReferenceId = 0x1C,
        ReasonStringId = 0x1F, ReceiveMaximumId = 0x21, TopicAliasMaximumId = 0x22, TopicAliasId = 0x23, MaximumQoSId = 0x24,
        RetainAvailableId = 0x25, UserPropertyId = 0x26, MaximumPacketSizeId = 0x27, WildcardSubscriptionAvailableId = 0x28,
        SubscriptionIdentifierAvailableId = 0x29, SharedSubscriptionAvailableId = 0x2A;

    /// <summary>Payload Format Indicator: 1 when the payload is UTF-8 text.</summary>
    public byte? PayloadFormatIndicator { get; set; }
    /// <summary>Message Expiry Interval, seconds.</summary>
    public uint? MessageExpiryInterval { get; set; }
    /// <summary>Content Type (a MIME type, by convention).</summary>
    public string? ContentType { get; set; }
    /// <summary>Response Topic (request/response).</summary>
    public string? ResponseTopic { get; set; }
    /// <summary>Correlation Data (request/response).</summary>
    public ReadOnlyMemory<byte>? CorrelationData { get; set; }
    /// <summary>Subscription Identifiers: one in SUBSCRIBE; in PUBLISH, those of every matching subscription.</summary>
    public List<int>? SubscriptionIdentifiers { get; set; }
    /// <summary>Session Expiry Interval, seconds (0xFFFFFFFF: never).</summary>
    public uint? SessionExpiryInterval { get; set; }
    /// <summary>Assigned Client Identifier (CONNACK).</summary>
    public string? AssignedClientIdentifier { get; set; }
    /// <summary>Server Keep Alive, seconds (CONNACK).</summary>
    public ushort? ServerKeepAlive { get; set; }
    /// <summary>Authentication Method.</summary>
    public string? AuthenticationMethod { get; set; }
    /// <summary>Authentication Data.</summary>
    public ReadOnlyMemory<byte>? AuthenticationData { get; set; }
    /// <summary>Request Problem Information (0 or 1).</summary>
    public byte? RequestProblemInformation { get; set; }
    /// <summary>Will Delay Interval, seconds.</summary>
    public uint? WillDelayInterval { get; set; }
    /// <summary>Request Response Information (0 or 1).</summary>
    public byte? RequestResponseInformation { get; set; }
    /// <summary>Response Information (CONNACK).</summary>
    public string? ResponseInformation { get; set; }
    /// <summary>Server Reference (CONNACK, DISCONNECT).</summary>
    public string? ServerReference { get; set; }
    /// <summary>Reason String: a human-readable diagnostic.</summary>
    public string? ReasonString { get; set; }
    /// <summary>Receive Maximum: QoS 1/2 messages the sender will process at once (1-65535).</summary>
    public ushort? ReceiveMaximum { get; set; }
    /// <summary>Topic Alias Maximum.</summary>
    public ushort? TopicAliasMaximum { get; set; }
    /// <summary>Topic Alias (PUBLISH, 1 or more).</summary>
    public ushort? TopicAlias { get; set; }
    /// <summary>Maximum QoS (0 or 1; absent means 2).</summary>
    public byte? MaximumQoS { get; set; }
    /// <summary>Retain Available (0 or 1).</summary>
    public byte? RetainAvailable { get; set; }
    /// <summary>User Properties, in order.</summary>
    public List<MqttUserProperty>? UserProperties { get; set; }
    /// <summary>Maximum Packet Size the sender accepts (1 or more).</summary>
    public uint? MaximumPacketSize { get; set; }
    /// <summary>Wildcard Subscription Available (0 or 1).</summary>
    public byte? WildcardSubscriptionAvailable { get; set; }
    /// <summary>Subscription Identifier Available (0 or 1).</summary>
    public byte? SubscriptionIdentifierAvailable { get; set; }
    /// <summary>Shared Subscription Available (0 or 1).</summary>
    public byte? SharedSubscriptionAvailable { get; set; }

    /// <summary>Adds a user property.</summary>
    public MqttProperties AddUserProperty(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        (UserProperties ??= []).Add(new MqttUserProperty(name, value));
        return this;
    }

    /// <summary>A shallow copy (lists are copied, values shared).</summary>
    public MqttProperties Clone()
    {
        var copy = (MqttProperties)MemberwiseClone();
        if (UserProperties is not null) copy.UserProperties = [.. UserProperties];
        if (SubscriptionIdentifiers is not null) copy.SubscriptionIdentifiers = [.. SubscriptionIdentifiers];
        return copy;
    }

    // ------------------------------------------------------------------ reading

    /// <summary>Where a property may appear: the packet type, or 0 for the will properties of CONNECT.</summary>
    internal const MqttPacketType WillProperties = 0;

    internal static MqttProperties? Read(ref MqttReader reader, MqttPacketType packet)
    {
        int length = reader.ReadVariableByteInteger();
        if (length == 0) return null;
        if (length > reader.Remaining) throw MqttProtocolException.Malformed("the property length runs past the end of the packet");
        var block = new MqttReader(reader.ReadBytes(length));
        var properties = new MqttProperties();
        ulong seen = 0;
        while (!block.IsAtEnd)
        {
            int id = block.ReadVariableByteInteger();
            if (!IsAllowed(id, packet)) throw MqttProtocolException.Malformed($"property 0x{id:X2} is not allowed in {Name(packet)}");
            if (id is not (UserPropertyId or SubscriptionIdentifierId) || id == SubscriptionIdentifierId && packet != MqttPacketType.Publish)
            {
                if ((seen & (1UL << id)) != 0) throw MqttProtocolException.Protocol($"property 0x{id:X2} appears twice in {Name(packet)}");
                seen |= 1UL << id;
            }
            properties.ReadValue(ref block, id);
        }
        return properties;
    }

    private void ReadValue(ref MqttReader r, int id)
    {
        switch (id)
        {
            case PayloadFormatIndicatorId: PayloadFormatIndicator = Flag(r.ReadByte(), "Payload Format Indicator"); break;
            case MessageExpiryIntervalId: MessageExpiryInterval = r.ReadUInt32(); break;
            case ContentTypeId: ContentType = r.ReadString("Content Type"); break;
            case ResponseTopicId:
                ResponseTopic = r.ReadString("Response Topic");
                if (!MqttTopic.IsValidName(ResponseTopic)) throw MqttProtocolException.Protocol("the Response Topic is not a valid topic name");
                break;
            case CorrelationDataId: CorrelationData = r.ReadBinary("Correlation Data").ToArray(); break;
            case SubscriptionIdentifierId:
                int sid = r.ReadVariableByteInteger();
                if (sid == 0) throw MqttProtocolException.Protocol("a Subscription Identifier of 0");
                (SubscriptionIdentifiers ??= []).Add(sid);
                break;
            case SessionExpiryIntervalId: SessionExpiryInterval = r.ReadUInt32(); break;
            case AssignedClientIdentifierId: AssignedClientIdentifier = r.ReadString("Assigned Client Identifier"); break;
            case ServerKeepAliveId: ServerKeepAlive = r.ReadUInt16(); break;
            case AuthenticationMethodId: AuthenticationMethod = r.ReadString("Authentication Method"); break;
            case AuthenticationDataId: AuthenticationData = r.ReadBinary("Authentication Data").ToArray(); break;
            case RequestProblemInformationId: RequestProblemInformation = Flag(r.ReadByte(), "Request Problem Information"); break;
            case WillDelayIntervalId: WillDelayInterval = r.ReadUInt32(); break;
            case RequestResponseInformationId: RequestResponseInformation = Flag(r.ReadByte(), "Request Response Information"); break;
            case ResponseInformationId: ResponseInformation = r.ReadString("Response Information"); break;
            case ServerReferenceId: ServerReference = r.ReadString("Server Reference"); break;
            case ReasonStringId: ReasonString = r.ReadString("Reason String"); break;
            case ReceiveMaximumId:
                ReceiveMaximum = r.ReadUInt16();
                if (ReceiveMaximum == 0) throw MqttProtocolException.Protocol("a Receive Maximum of 0");
                break;
            case TopicAliasMaximumId: TopicAliasMaximum = r.ReadUInt16(); break;
            case TopicAliasId:
                TopicAlias = r.ReadUInt16();
                if (TopicAlias == 0) throw new MqttProtocolException(MqttReasonCode.TopicAliasInvalid, "a Topic Alias of 0");
                break;
            case MaximumQoSId: MaximumQoS = Flag(r.ReadByte(), "Maximum QoS"); break;
            case RetainAvailableId: RetainAvailable = Flag(r.ReadByte(), "Retain Available"); break;
            case UserPropertyId:
                string name = r.ReadString("a User Property name");
                (UserProperties ??= []).Add(new MqttUserProperty(name, r.ReadString("a User Property value")));
                break;
            case MaximumPacketSizeId:
                MaximumPacketSize = r.ReadUInt32();
                if (MaximumPacketSize == 0) throw MqttProtocolException.Protocol("a Maximum Packet Size of 0");
                break;
            case WildcardSubscriptionAvailableId: WildcardSubscriptionAvailable = Flag(r.ReadByte(), "Wildcard Subscription Available"); break;
            case SubscriptionIdentifierAvailableId: SubscriptionIdentifierAvailable = Flag(r.ReadByte(), "Subscription Identifier Available"); break;
            case SharedSubscriptionAvailableId: SharedSubscriptionAvailable = Flag(r.ReadByte(), "Shared Subscription Available"); break;
        }
    }

    private static byte Flag(byte value, string what) =>
        value <= 1 ? value : throw MqttProtocolException.Protocol($"{what} must be 0 or 1, not {value}");

    private static bool IsAllowed(int id, MqttPacketType packet) => id switch
    {
        PayloadFormatIndicatorId or MessageExpiryIntervalId or ContentTypeId or ResponseTopicId or CorrelationDataId =>
            packet is MqttPacketType.Publish or WillProperties,
        SubscriptionIdentifierId => packet is MqttPacketType.Publish or MqttPacketType.Subscribe,
        SessionExpiryIntervalId => packet is MqttPacketType.Connect or MqttPacketType.ConnAck or MqttPacketType.Disconnect,
        AssignedClientIdentifierId or ServerKeepAliveId or ResponseInformationId or MaximumQoSId or RetainAvailableId
            or WildcardSubscriptionAvailableId or SubscriptionIdentifierAvailableId or SharedSubscriptionAvailableId => packet == MqttPacketType.ConnAck,
        AuthenticationMethodId or AuthenticationDataId => packet is MqttPacketType.Connect or MqttPacketType.ConnAck or MqttPacketType.Auth,
        RequestProblemInformationId or RequestResponseInformationId => packet == MqttPacketType.Connect,
        WillDelayIntervalId => packet == WillProperties,
        ServerReferenceId => packet is MqttPacketType.ConnAck or MqttPacketType.Disconnect,
        ReasonStringId => packet is not (MqttPacketType.Connect or MqttPacketType.Publish or MqttPacketType.Subscribe or MqttPacketType.Unsubscribe or WillProperties),
        ReceiveMaximumId or TopicAliasMaximumId or MaximumPacketSizeId => packet is MqttPacketType.Connect or MqttPacketType.ConnAck,
        TopicAliasId => packet == MqttPacketType.Publish,
        UserPropertyId => true,
        _ => false,
    };

    private static string Name(MqttPacketType packet) => packet == WillProperties ? "the will properties" : packet.ToString().ToUpperInvariant();

    // ------------------------------------------------------------------ writing

    /// <summary>Bytes of the property values (without the length prefix).</summary>
    internal int Measure()
    {
        int size = 0;
        if (PayloadFormatIndicator is not null) size += 2;
        if (MessageExpiryInterval is not null) size += 5;
        if (ContentType is not null) size += 1 + MqttWriter.StringSize(ContentType);
        if (ResponseTopic is not null) size += 1 + MqttWriter.StringSize(ResponseTopic);
        if (CorrelationData is { } correlation) size += 3 + correlation.Length;
        foreach (int sid in SubscriptionIdentifiers ?? []) size += 1 + VariableByteInteger.Size(sid);
        if (SessionExpiryInterval is not null) size += 5;
        if (AssignedClientIdentifier is not null) size += 1 + MqttWriter.StringSize(AssignedClientIdentifier);
        if (ServerKeepAlive is not null) size += 3;
        if (AuthenticationMethod is not null) size += 1 + MqttWriter.StringSize(AuthenticationMethod);
        if (AuthenticationData is { } data) size += 3 + data.Length;
        if (RequestProblemInformation is not null) size += 2;
        if (WillDelayInterval is not null) size += 5;
        if (RequestResponseInformation is not null) size += 2;
        if (ResponseInformation is not null) size += 1 + MqttWriter.StringSize(ResponseInformation);
        if (ServerReference is not null) size += 1 + MqttWriter.StringSize(ServerReference);
        if (ReasonString is not null) size += 1 + MqttWriter.StringSize(ReasonString);
        if (ReceiveMaximum is not null) size += 3;
        if (TopicAliasMaximum is not null) size += 3;
        if (TopicAlias is not null) size += 3;
        if (MaximumQoS is not null) size += 2;
        if (RetainAvailable is not null) size += 2;
        foreach (var p in UserProperties ?? []) size += 1 + MqttWriter.StringSize(p.Name) + MqttWriter.StringSize(p.Value);
        if (MaximumPacketSize is not null) size += 5;
        if (WildcardSubscriptionAvailable is not null) size += 2;
        if (SubscriptionIdentifierAvailable is not null) size += 2;
        if (SharedSubscriptionAvailable is not null) size += 2;
        return size;
    }

    /// <summary>Size of a block with its length prefix; <paramref name="properties"/> may be null (an empty block).</summary>
    internal static int BlockSize(MqttProperties? properties, out int valuesSize)
    {
        valuesSize = properties?.Measure() ?? 0;
        return VariableByteInteger.Size(valuesSize) + valuesSize;
    }

    internal static void WriteBlock(ref MqttWriter w, MqttProperties? properties, int valuesSize)
    {
        w.WriteVariableByteInteger(valuesSize);
        properties?.WriteValues(ref w);
    }

    private void WriteValues(ref MqttWriter w)
    {
        if (PayloadFormatIndicator is { } pfi) { w.WriteByte(PayloadFormatIndicatorId); w.WriteByte(pfi); }
        if (MessageExpiryInterval is { } mei) { w.WriteByte(MessageExpiryIntervalId); w.WriteUInt32(mei); }
        if (ContentType is { } ct) { w.WriteByte(ContentTypeId); w.WriteString(ct); }
        if (ResponseTopic is { } rt) { w.WriteByte(ResponseTopicId); w.WriteString(rt); }
        if (CorrelationData is { } cd) { w.WriteByte(CorrelationDataId); w.WriteBinary(cd.Span); }
        foreach (int sid in SubscriptionIdentifiers ?? []) { w.WriteByte(SubscriptionIdentifierId); w.WriteVariableByteInteger(sid); }
        if (SessionExpiryInterval is { } sei) { w.WriteByte(SessionExpiryIntervalId); w.WriteUInt32(sei); }
        if (AssignedClientIdentifier is { } aci) { w.WriteByte(AssignedClientIdentifierId); w.WriteString(aci); }
        if (ServerKeepAlive is { } ska) { w.WriteByte(ServerKeepAliveId); w.WriteUInt16(ska); }
        if (AuthenticationMethod is { } am) { w.WriteByte(AuthenticationMethodId); w.WriteString(am); }
        if (AuthenticationData is { } ad) { w.WriteByte(AuthenticationDataId); w.WriteBinary(ad.Span); }
        if (RequestProblemInformation is { } rpi) { w.WriteByte(RequestProblemInformationId); w.WriteByte(rpi); }
        if (WillDelayInterval is { } wdi) { w.WriteByte(WillDelayIntervalId); w.WriteUInt32(wdi); }
        if (RequestResponseInformation is { } rri) { w.WriteByte(RequestResponseInformationId); w.WriteByte(rri); }
        if (ResponseInformation is { } ri) { w.WriteByte(ResponseInformationId); w.WriteString(ri); }
        if (ServerReference is { } sr) { w.WriteByte(ServerReferenceId); w.WriteString(sr); }
        if (ReasonString is { } rs) { w.WriteByte(ReasonStringId); w.WriteString(rs); }
        if (ReceiveMaximum is { } rm) { w.WriteByte(ReceiveMaximumId); w.WriteUInt16(rm); }
        if (TopicAliasMaximum is { } tam) { w.WriteByte(TopicAliasMaximumId); w.WriteUInt16(tam); }
        if (TopicAlias is { } ta) { w.WriteByte(TopicAliasId); w.WriteUInt16(ta); }
        if (MaximumQoS is { } mq) { w.WriteByte(MaximumQoSId); w.WriteByte(mq); }
        if (RetainAvailable is { } ra) { w.WriteByte(RetainAvailableId); w.WriteByte(ra); }
        foreach (var p in UserProperties ?? []) { w.WriteByte(UserPropertyId); w.WriteString(p.Name); w.WriteString(p.Value); }
        if (MaximumPacketSize is { } mps) { w.WriteByte(MaximumPacketSizeId); w.WriteUInt32(mps); }
        if (WildcardSubscriptionAvailable is { } wsa) { w.WriteByte(WildcardSubscriptionAvailableId); w.WriteByte(wsa); }
        if (SubscriptionIdentifierAvailable is { } sia) { w.WriteByte(SubscriptionIdentifierAvailableId); w.WriteByte(sia); }
        if (SharedSubscriptionAvailable is { } ssa) { w.WriteByte(SharedSubscriptionAvailableId); w.WriteByte(ssa); }
    }
}
