using System.Buffers;
using Meerkat.Mqtt;

namespace Meerkat.Tests.Mqtt;

/// <summary>The sans-I/O codec: every packet type in both versions, through the frame reader fed
/// whole, byte by byte, at every split point and with trailing bytes; and malformed packets.</summary>
public sealed class MqttCodecTests
{
    private static byte[] Encode(MqttPacket packet, MqttProtocolVersion version)
    {
        var output = new ArrayBufferWriter<byte>();
        int size = MqttPacketEncoder.Write(packet, version, output);
        Assert.Equal(size, output.WrittenCount);
        Assert.Equal(size, MqttPacketEncoder.Measure(packet, version));
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Feeds <paramref name="bytes"/> in the given pieces and decodes every packet that comes out.</summary>
    private static List<MqttPacket> Feed(byte[] bytes, IEnumerable<int> cuts, MqttProtocolVersion version)
    {
        var reader = new MqttFrameReader();
        var packets = new List<MqttPacket>();
        int start = 0;
        foreach (int end in cuts.Append(bytes.Length))
        {
            var piece = bytes.AsMemory(start, end - start);
            while (true)
            {
                bool got = reader.TryRead(piece, out int consumed, out var frame);
                piece = piece[consumed..];
                if (!got) break;
                var packet = MqttPacketDecoder.Decode(frame, version);
                // Decoded payloads point into the reader's buffer: copy before the next read.
                if (packet is MqttPublishPacket p) p.Payload = p.Payload.ToArray();
                packets.Add(packet);
            }
            Assert.True(piece.IsEmpty);
            start = end;
        }
        Assert.False(reader.HasPartialPacket);
        return packets;
    }

    public static IEnumerable<(MqttPacket, MqttProtocolVersion)> Samples()
    {
        foreach (var version in new[] { MqttProtocolVersion.V311, MqttProtocolVersion.V500 })
        {
            bool v5 = version == MqttProtocolVersion.V500;
            var props = v5 ? new MqttProperties { ReasonString = "why", UserProperties = [new("k", "v"), new("k", "v2")] } : null;
            yield return (new MqttConnectPacket
            {
                ProtocolVersion = version,
                ClientId = "client-ü",
                KeepAlive = 30,
                CleanStart = false,
                UserName = "user",
                Password = "secret"u8.ToArray(),
                Will = new MqttApplicationMessage("will/topic", "bye"u8.ToArray(), MqttQualityOfService.AtLeastOnce, true,
                    v5 ? new MqttProperties { WillDelayInterval = 5, ContentType = "text/plain" } : null),
                Properties = v5 ? new MqttProperties { SessionExpiryInterval = 3600, ReceiveMaximum = 10, MaximumPacketSize = 1 << 20, TopicAliasMaximum = 5 } : null,
            }, version);
            yield return (new MqttConnectPacket { ProtocolVersion = version, ClientId = "" }, version);
            yield return (new MqttConnAckPacket { SessionPresent = true, Properties = v5 ? new MqttProperties { AssignedClientIdentifier = "x", ReceiveMaximum = 20, MaximumQoS = 1 } : null }, version);
            yield return (new MqttConnAckPacket { ReasonCode = MqttReasonCode.BadUserNameOrPassword }, version);
            yield return (new MqttPublishPacket { Topic = "a/b", Payload = "hello"u8.ToArray() }, version);
            yield return (new MqttPublishPacket
            {
                Topic = "a/b/c", Payload = new byte[300], QualityOfService = MqttQualityOfService.ExactlyOnce, PacketId = 65535, Duplicate = true, Retain = true,
                Properties = v5 ? new MqttProperties { MessageExpiryInterval = 60, ResponseTopic = "r/t", CorrelationData = new byte[] { 1, 2 }, SubscriptionIdentifiers = [1, 300000], PayloadFormatIndicator = 1 } : null,
            }, version);
            yield return (new MqttPublishPacket { Topic = "", Payload = default, QualityOfService = MqttQualityOfService.AtLeastOnce, PacketId = 7, Properties = new MqttProperties { TopicAlias = 3 } }, MqttProtocolVersion.V500);
            foreach (var type in new[] { MqttPacketType.PubAck, MqttPacketType.PubRec, MqttPacketType.PubRel, MqttPacketType.PubComp })
            {
                yield return (new MqttPublishResponsePacket(type, 42), version);
                if (v5) yield return (new MqttPublishResponsePacket(type, 43, type is MqttPacketType.PubAck or MqttPacketType.PubRec ? MqttReasonCode.NoMatchingSubscribers : MqttReasonCode.PacketIdentifierNotFound, props), version);
            }
            yield return (new MqttSubscribePacket
            {
                PacketId = 1,
                Subscriptions = [new("a/+/c", MqttQualityOfService.ExactlyOnce), new("#", MqttQualityOfService.AtLeastOnce, v5, v5, v5 ? MqttRetainHandling.DoNotSend : 0)],
                Properties = v5 ? new MqttProperties { SubscriptionIdentifiers = [9] } : null,
            }, version);
            yield return (new MqttSubscribeAckPacket(false, 1, [MqttReasonCode.GrantedQoS2, MqttReasonCode.UnspecifiedError], props), version);
            yield return (new MqttUnsubscribePacket { PacketId = 2, Filters = ["a/b", "$share/g/x"] }, version);
            yield return (new MqttSubscribeAckPacket(true, 2, v5 ? [MqttReasonCode.Success, MqttReasonCode.NoSubscriptionExisted] : [], props), version);
            yield return (MqttPingPacket.Request, version);
            yield return (MqttPingPacket.Response, version);
            yield return (new MqttDisconnectPacket(), version);
            if (v5)
            {
                yield return (new MqttDisconnectPacket(MqttReasonCode.DisconnectWithWillMessage, new MqttProperties { SessionExpiryInterval = 0 }), version);
                yield return (new MqttDisconnectPacket(MqttReasonCode.ContinueAuthentication, new MqttProperties { AuthenticationMethod = "SCRAM" }, isAuth: true), version);
            }
        }
    }

    [Fact]
    public void Every_packet_round_trips_whole_byte_by_byte_and_at_every_split_point_with_trailing_bytes()
    {
        foreach (var (packet, version) in Samples())
        {
            byte[] one = Encode(packet, version);
            // Three copies back to back: a packet followed by trailing bytes of the next.
            byte[] stream = [.. one, .. one, .. one];
            var expected = Describe(packet, version);
            Check(Feed(stream, [], version));
            Check(Feed(stream, Enumerable.Range(1, stream.Length - 1), version));
            for (int cut = 1; cut < one.Length + 1; cut++) Check(Feed(stream, [cut], version));
            for (int cut = 1; cut < one.Length; cut++) Check(Feed(stream, [cut, one.Length + cut], version));

            void Check(List<MqttPacket> packets)
            {
                Assert.Equal(3, packets.Count);
                foreach (var p in packets) Assert.Equal(expected, Describe(p, version));
            }
        }
    }

    /// <summary>A canonical text of a packet: re-encoding the decoded packet must give the same bytes.</summary>
    private static string Describe(MqttPacket packet, MqttProtocolVersion version) => $"{packet.Type}:{Convert.ToHexString(Encode(packet, version))}";

    [Fact]
    public void Decoded_fields_are_the_ones_encoded()
    {
        var connect = (MqttConnectPacket)Feed(Encode(Samples().First(s => s.Item1 is MqttConnectPacket && s.Item2 == MqttProtocolVersion.V500).Item1, MqttProtocolVersion.V500), [], MqttProtocolVersion.V500)[0];
        Assert.Equal("client-ü", connect.ClientId);
        Assert.Equal(MqttProtocolVersion.V500, connect.ProtocolVersion);
        Assert.False(connect.CleanStart);
        Assert.Equal("bye", connect.Will!.PayloadText);
        Assert.Equal(5u, connect.Will.Properties!.WillDelayInterval);
        Assert.Equal(10, connect.Properties!.ReceiveMaximum!.Value);
        Assert.Equal("secret"u8.ToArray(), connect.Password!.Value.ToArray());

        var publish = new MqttPublishPacket { Topic = "t", Payload = "p"u8.ToArray(), QualityOfService = MqttQualityOfService.AtLeastOnce, PacketId = 9,
            Properties = new MqttProperties().AddUserProperty("a", "1").AddUserProperty("a", "2") };
        var decoded = (MqttPublishPacket)Feed(Encode(publish, MqttProtocolVersion.V500), [], MqttProtocolVersion.V500)[0];
        Assert.Equal(9, decoded.PacketId);
        Assert.Equal(["1", "2"], decoded.Properties!.UserProperties!.Select(p => p.Value));
    }

    [Fact]
    public void The_311_encoding_of_a_publish_matches_the_spec_bytes()
    {
        var bytes = Encode(new MqttPublishPacket { Topic = "a/b", Payload = "hi"u8.ToArray(), QualityOfService = MqttQualityOfService.AtLeastOnce, PacketId = 10, Retain = true }, MqttProtocolVersion.V311);
        Assert.Equal(Convert.FromHexString("33090003612F62000A6869"), bytes);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(127, 1)]
    [InlineData(128, 2)]
    [InlineData(16383, 2)]
    [InlineData(16384, 3)]
    [InlineData(2097151, 3)]
    [InlineData(2097152, 4)]
    [InlineData(268435455, 4)]
    public void Variable_byte_integers_use_the_spec_sizes(int value, int size)
    {
        var buffer = new byte[4];
        Assert.Equal(size, VariableByteInteger.Write(buffer, value));
        Assert.True(VariableByteInteger.TryRead(buffer.AsSpan(0, size), out int back, out int length));
        Assert.Equal((value, size), (back, length));
        Assert.False(VariableByteInteger.TryRead(buffer.AsSpan(0, size - 1), out _, out _));
    }

    [Theory]
    // fixed header and framing
    [InlineData("00 00", 5, MqttReasonCode.MalformedPacket)]                      // type 0 reserved
    [InlineData("30 FF FF FF FF 01", 5, MqttReasonCode.MalformedPacket)]          // 5-byte remaining length
    [InlineData("C1 00", 5, MqttReasonCode.MalformedPacket)]                      // PINGREQ with flags
    [InlineData("C0 01 00", 5, MqttReasonCode.MalformedPacket)]                   // PINGREQ with a body
    [InlineData("62 02 00 01", 4, MqttReasonCode.MalformedPacket)]                // 3.1.1 PUBREL is fine...
    [InlineData("60 02 00 01", 4, MqttReasonCode.MalformedPacket)]                // ...but PUBREL flags must be 0010
    [InlineData("82 04 00 01 00 00", 5, MqttReasonCode.MalformedPacket)]          // SUBSCRIBE ends inside its filter
    // PUBLISH
    [InlineData("36 05 00 01 61 00 01", 5, MqttReasonCode.MalformedPacket)]       // QoS 3
    [InlineData("38 03 00 01 61", 5, MqttReasonCode.MalformedPacket)]             // DUP at QoS 0
    [InlineData("32 05 00 01 61 00 00", 4, MqttReasonCode.ProtocolError)]         // packet id 0
    [InlineData("30 03 00 01 2B", 5, MqttReasonCode.TopicNameInvalid)]            // wildcard in a topic name
    [InlineData("30 03 00 01 00", 5, MqttReasonCode.MalformedPacket)]             // U+0000 in a topic
    [InlineData("30 04 00 02 C3 28", 5, MqttReasonCode.MalformedPacket)]          // invalid UTF-8
    [InlineData("30 04 00 02 ED A0", 4, MqttReasonCode.MalformedPacket)]          // a truncated surrogate encoding
    [InlineData("30 02 00 00", 4, MqttReasonCode.TopicNameInvalid)]               // 3.1.1 empty topic
    [InlineData("30 03 00 00 00", 5, MqttReasonCode.ProtocolError)]               // 5.0 empty topic, no alias
    [InlineData("30 06 00 01 61 02 01 02", 5, MqttReasonCode.ProtocolError)]      // Payload Format Indicator 2
    [InlineData("30 08 00 01 61 04 01 00 01 00", 5, MqttReasonCode.ProtocolError)] // property twice
    [InlineData("30 06 00 01 61 02 11 00", 5, MqttReasonCode.MalformedPacket)]    // Session Expiry in PUBLISH
    [InlineData("30 06 00 01 61 05 01 00", 5, MqttReasonCode.MalformedPacket)]    // property length past the end
    [InlineData("30 07 00 01 61 03 23 00 00", 5, MqttReasonCode.TopicAliasInvalid)] // topic alias 0
    // SUBSCRIBE, UNSUBSCRIBE
    [InlineData("82 02 00 01", 4, MqttReasonCode.MalformedPacket)]                // no filters
    [InlineData("82 06 00 01 00 01 61 03", 4, MqttReasonCode.MalformedPacket)]    // QoS 3
    [InlineData("82 06 00 01 00 01 61 04", 4, MqttReasonCode.MalformedPacket)]    // 3.1.1 reserved option bits
    [InlineData("82 07 00 01 00 00 01 61 30", 5, MqttReasonCode.ProtocolError)]   // retain handling 3
    [InlineData("82 10 00 01 00 00 0A 24 73 68 61 72 65 2F 67 2F 61 04", 5, MqttReasonCode.ProtocolError)] // No Local on $share
    [InlineData("A2 02 00 01", 5, MqttReasonCode.MalformedPacket)]                // UNSUBSCRIBE without filters (no property length)
    // CONNECT
    [InlineData("10 0C 00 04 4D 51 54 54 04 01 00 00 00 00", 4, MqttReasonCode.MalformedPacket)] // reserved flag
    [InlineData("10 0C 00 04 4D 51 54 54 04 18 00 00 00 00", 4, MqttReasonCode.MalformedPacket)] // will QoS 3
    [InlineData("10 0C 00 04 4D 51 54 54 04 20 00 00 00 00", 4, MqttReasonCode.MalformedPacket)] // will retain without will
    [InlineData("10 0C 00 04 4D 51 54 54 04 40 00 00 00 00", 4, MqttReasonCode.MalformedPacket)] // 3.1.1 password without user
    [InlineData("10 0C 00 04 4D 51 54 54 06 02 00 00 00 00", 4, MqttReasonCode.UnsupportedProtocolVersion)]
    [InlineData("10 0C 00 04 4D 51 54 58 04 02 00 00 00 00", 4, MqttReasonCode.ProtocolError)]  // protocol name
    [InlineData("10 0E 00 06 4D 51 49 73 64 70 03 02 00 00 00 00", 4, MqttReasonCode.UnsupportedProtocolVersion)]
    [InlineData("10 0D 00 04 4D 51 54 54 04 02 00 00 00 00 FF", 4, MqttReasonCode.MalformedPacket)] // trailing byte
    [InlineData("10 0D 00 04 4D 51 54 54 05 02 00 00 03 21 00 00 00 00", 5, MqttReasonCode.MalformedPacket)] // length mismatch
    [InlineData("10 10 00 04 4D 51 54 54 05 02 00 00 03 21 00 00 00 00", 5, MqttReasonCode.ProtocolError)] // receive maximum 0
    // acks, disconnect, auth
    [InlineData("40 03 00 01 05", 5, MqttReasonCode.ProtocolError)]               // PUBACK reason 5 undefined
    [InlineData("40 03 00 01 00", 4, MqttReasonCode.MalformedPacket)]             // 3.1.1 PUBACK with a reason
    [InlineData("E0 01 00", 4, MqttReasonCode.MalformedPacket)]                   // 3.1.1 DISCONNECT with a body
    [InlineData("F0 00", 4, MqttReasonCode.MalformedPacket)]                      // AUTH in 3.1.1
    [InlineData("F0 02 87 00", 5, MqttReasonCode.ProtocolError)]                  // AUTH reason 0x87
    [InlineData("20 03 01 87 00", 5, MqttReasonCode.ProtocolError)]                  // session present on a refusal
    [InlineData("20 02 00 06", 4, MqttReasonCode.MalformedPacket)]                // 3.1.1 return code 6
    [InlineData("20 03 02 00 00", 5, MqttReasonCode.MalformedPacket)]             // reserved CONNACK flag
    [InlineData("90 03 00 01 03", 4, MqttReasonCode.MalformedPacket)]             // 3.1.1 SUBACK code 3
    [InlineData("40 02 00 00", 5, MqttReasonCode.ProtocolError)]                  // PUBACK id 0
    public void Malformed_packets_are_rejected_with_the_right_reason_code(string hex, int version, MqttReasonCode expected)
    {
        byte[] bytes = Convert.FromHexString(hex.Replace(" ", ""));
        if (expected == MqttReasonCode.MalformedPacket && hex == "62 02 00 01")
        {
            // The control case of the pair: a correct PUBREL decodes.
            Assert.IsType<MqttPublishResponsePacket>(Feed(bytes, [], (MqttProtocolVersion)version)[0]);
            return;
        }
        var error = Assert.Throws<MqttProtocolException>(() => Feed(bytes, [], (MqttProtocolVersion)version));
        Assert.Equal(expected, error.ReasonCode);
        // Byte by byte gives the same verdict, never a different exception.
        error = Assert.Throws<MqttProtocolException>(() => Feed(bytes, Enumerable.Range(1, bytes.Length - 1), (MqttProtocolVersion)version));
        Assert.Equal(expected, error.ReasonCode);
    }

    [Fact]
    public void A_packet_over_the_maximum_size_is_refused_from_its_header_before_it_is_buffered()
    {
        var reader = new MqttFrameReader { MaximumPacketSize = 100 };
        var header = new byte[] { 0x30, 0xE8, 0x07 }; // PUBLISH of 1000 bytes, nothing more sent yet
        var error = Assert.Throws<MqttProtocolException>(() => reader.TryRead(header, out _, out _));
        Assert.Equal(MqttReasonCode.PacketTooLarge, error.ReasonCode);
        // Exactly at the limit is accepted.
        var exact = new MqttFrameReader { MaximumPacketSize = 1 + 1 + 98 };
        var packet = new byte[100];
        packet[0] = 0x30;
        packet[1] = 98;
        packet[3] = 1;
        packet[4] = (byte)'a';
        Assert.True(exact.TryRead(packet, out int consumed, out _));
        Assert.Equal(100, consumed);
    }

    [Fact]
    public void Random_bytes_never_throw_anything_but_a_protocol_exception()
    {
        var random = new Random(1234);
        for (int round = 0; round < 5000; round++)
        {
            var bytes = new byte[random.Next(2, 40)];
            random.NextBytes(bytes);
            if (random.Next(2) == 0) bytes[1] = (byte)(bytes.Length - 2);
            foreach (var version in new[] { MqttProtocolVersion.V311, MqttProtocolVersion.V500 })
            {
                try
                {
                    Feed(bytes, [], version);
                }
                catch (MqttProtocolException)
                {
                }
                catch (Exception ex) when (ex.GetType().FullName!.StartsWith("Xunit", StringComparison.Ordinal))
                {
                    // A leftover partial packet: the stream just ended early, which is fine.
                }
            }
        }
    }

    [Theory]
    [InlineData("a/b/c", "a/b/c", true)]
    [InlineData("a/+/c", "a/b/c", true)]
    [InlineData("a/+", "a/b/c", false)]
    [InlineData("a/#", "a/b/c", true)]
    [InlineData("a/#", "a", true)]
    [InlineData("#", "a/b", true)]
    [InlineData("+/+", "/x", true)]
    [InlineData("+", "/x", false)]
    [InlineData("#", "$SYS/x", false)]
    [InlineData("+/x", "$SYS/x", false)]
    [InlineData("$SYS/#", "$SYS/x", true)]
    [InlineData("a/b", "a/b/", false)]
    [InlineData("a/b/", "a/b/", true)]
    [InlineData("a/+/", "a/b/", true)]
    public void Filters_match_as_the_spec_says(string filter, string topic, bool matches) => Assert.Equal(matches, MqttTopic.Matches(filter, topic));

    [Theory]
    [InlineData("a/b", true)]
    [InlineData("#", true)]
    [InlineData("a/#", true)]
    [InlineData("a/#/b", false)]
    [InlineData("a#", false)]
    [InlineData("a/b+", false)]
    [InlineData("+/+/", true)]
    [InlineData("", false)]
    [InlineData("$share/g/a/+", true)]
    [InlineData("$share/g", false)]
    [InlineData("$share//a", false)]
    [InlineData("$share/g+/a", false)]
    public void Filters_are_validated(string filter, bool valid) => Assert.Equal(valid, MqttTopic.IsValidFilter(filter));
}
