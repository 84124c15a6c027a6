using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Meerkat.Mqtt;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Mqtt;

/// <summary>MQTT 5.0 enhanced authentication (§4.12) between Meerkat's client and broker over sockets: a challenge
/// and response method, refusals (0x87, 0x8C), re-authentication, and the broker's rules on AUTH.</summary>
public sealed class MqttEnhancedAuthTests : IDisposable
{
    private readonly Manager manager = Loop.Create(PollerBackend.Auto);

    public void Dispose() => manager.Dispose();

    /// <summary>A toy challenge and response, "TEST-CR": the client opens with "hello", the broker asks "challenge-N",
    /// the client answers "response:challenge-N", the broker ends with "welcome". Steps seen are recorded.</summary>
    private sealed class ChallengeResponse
    {
        private int challenges;

        public List<(int Step, bool Reauth, string Data)> Seen { get; } = [];

        public MqttAuthenticationResult Broker(MqttAuthenticationExchange e)
        {
            string data = Encoding.UTF8.GetString(e.Data.Span);
            Seen.Add((e.Step, e.IsReauthentication, data));
            if (e.Method != "TEST-CR") return MqttAuthenticationResult.Fail(MqttReasonCode.BadAuthenticationMethod);
            if (e.Step == 0)
            {
                if (data != "hello") return MqttAuthenticationResult.Fail();
                e.State = $"challenge-{++challenges}";
                return MqttAuthenticationResult.Continue(Encoding.UTF8.GetBytes((string)e.State));
            }
            return data == $"response:{e.State}" ? MqttAuthenticationResult.Success("welcome"u8.ToArray()) : MqttAuthenticationResult.Fail();
        }
    }

    private static MqttAuthenticationResult Client(MqttAuthenticationExchange e, List<(int Step, bool Complete, string Data)> seen, string prefix = "response:")
    {
        string data = Encoding.UTF8.GetString(e.Data.Span);
        seen.Add((e.Step, e.IsComplete, data));
        if (e.IsComplete) return data == "welcome" ? MqttAuthenticationResult.Success() : MqttAuthenticationResult.Fail(MqttReasonCode.NotAuthorized);
        return MqttAuthenticationResult.Continue(Encoding.UTF8.GetBytes(prefix + data));
    }

    private MqttClientOptions Options(int port, List<(int, bool, string)> seen, string method = "TEST-CR", string prefix = "response:") => new()
    {
        Url = $"mqtt://127.0.0.1:{port}",
        ClientId = "auth",
        AuthenticationMethod = method,
        AuthenticationData = "hello"u8.ToArray(),
        EnhancedAuthentication = e => Client(e, seen, prefix),
        ReconnectDelay = TimeSpan.FromMilliseconds(20),
    };

    [Fact]
    public void A_challenge_and_response_connects_and_both_hooks_see_every_step()
    {
        var method = new ChallengeResponse();
        var (broker, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions { EnhancedAuthentication = method.Broker });
        var clientSeen = new List<(int, bool, string)>();
        var client = new RecordingClient(manager, Options(port, clientSeen));
        manager.Until(() => client.IsConnected, what: "CONNACK after the exchange");
        Assert.Equal([(0, false, "hello"), (1, false, "response:challenge-1")], method.Seen);
        Assert.Equal([(0, false, "challenge-1"), (1, true, "welcome")], clientSeen);
        Assert.Equal("TEST-CR", client.ConnAcks[0].Properties!.AuthenticationMethod);
        Assert.Equal(1, broker.ConnectedCount);

        // Traffic flows as usual afterwards.
        client.Session.Subscribe("a/#", MqttQualityOfService.AtLeastOnce);
        manager.Until(() => client.Acks.Count == 1, what: "SUBACK");
        client.Session.Publish("a/b", MqttTestKit.Bytes("x"), MqttQualityOfService.AtLeastOnce);
        manager.Until(() => client.Messages.Count == 1, what: "the message back");
    }

    [Fact]
    public void A_wrong_response_is_refused_with_0x87_and_not_retried()
    {
        var method = new ChallengeResponse();
        var (_, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions { EnhancedAuthentication = method.Broker });
        var client = new RecordingClient(manager, Options(port, [], prefix: "wrong:"));
        manager.Until(() => client.Session.IsEnded, what: "the refused session to end");
        Assert.Equal(MqttReasonCode.NotAuthorized, Assert.Single(client.ConnAcks).ReasonCode);
        Assert.Equal(2, method.Seen.Count);
    }

    [Fact]
    public void An_unknown_method_or_a_broker_without_the_hook_answers_0x8C()
    {
        var method = new ChallengeResponse();
        var (_, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions { EnhancedAuthentication = method.Broker });
        var unknown = new RecordingClient(manager, Options(port, [], method: "KERBEROS"));
        manager.Until(() => unknown.Session.IsEnded, what: "the refusal");
        Assert.Equal(MqttReasonCode.BadAuthenticationMethod, Assert.Single(unknown.ConnAcks).ReasonCode);

        var (_, _, plainPort) = MqttTestKit.StartBroker(manager);
        var client = new RecordingClient(manager, Options(plainPort, []));
        manager.Until(() => client.Session.IsEnded, what: "the refusal");
        Assert.Equal(MqttReasonCode.BadAuthenticationMethod, Assert.Single(client.ConnAcks).ReasonCode);
    }

    [Fact]
    public void A_client_that_rejects_the_brokers_final_data_disconnects()
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions
        {
            EnhancedAuthentication = e => MqttAuthenticationResult.Success("not the right proof"u8.ToArray()),
        });
        var clientSeen = new List<(int, bool, string)>();
        var options = Options(port, clientSeen);
        options.AutoReconnect = false;
        var client = new RecordingClient(manager, options);
        manager.Until(() => client.Closes >= 1, what: "the client to drop the connection");
        Assert.Equal([(0, true, "not the right proof")], clientSeen);
        Assert.Equal(MqttReasonCode.NotAuthorized, Assert.IsType<MqttProtocolException>(client.Session.LastError).ReasonCode);
    }

    [Fact]
    public void Re_authentication_runs_while_messages_flow_and_a_failed_one_disconnects_with_its_code()
    {
        var method = new ChallengeResponse();
        var (_, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions { EnhancedAuthentication = method.Broker });
        var clientSeen = new List<(int, bool, string)>();
        string prefix = "response:";
        var options = Options(port, clientSeen);
        options.EnhancedAuthentication = e => Client(e, clientSeen, prefix);
        options.AutoReconnect = false;
        var client = new RecordingClient(manager, options);
        MqttReasonCode? disconnectCode = null;
        client.Next = (c, e) => { if (e.Kind == EventKind.MqttDisconnect) disconnectCode = e.Mqtt!.Disconnect!.ReasonCode; };
        manager.Until(() => client.IsConnected, what: "connected");
        client.Session.Subscribe("r", MqttQualityOfService.AtLeastOnce);
        manager.Until(() => client.Acks.Count == 1, what: "SUBACK");

        clientSeen.Clear();
        client.Session.Reauthenticate("hello"u8.ToArray());
        Assert.Throws<InvalidOperationException>(() => client.Session.Reauthenticate("hello"u8.ToArray())); // one exchange at a time
        client.Session.Publish("r", MqttTestKit.Bytes("during"), MqttQualityOfService.AtLeastOnce);
        manager.Until(() => clientSeen.Count == 2 && client.Messages.Count == 1, what: "the re-authentication and the message");
        Assert.Equal([(0, false, "challenge-2"), (1, true, "welcome")], clientSeen);
        Assert.Equal([(0, true, "hello"), (1, true, "response:challenge-2")], method.Seen.Skip(2));
        Assert.True(client.IsConnected);

        prefix = "wrong:";
        client.Session.Reauthenticate("hello"u8.ToArray());
        manager.Until(() => client.Closes == 1, what: "the broker to end the connection");
        Assert.Equal(MqttReasonCode.NotAuthorized, disconnectCode);
    }

    [Fact]
    public void AUTH_from_a_client_that_connected_without_a_method_is_a_protocol_error()
    {
        var (_, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions { EnhancedAuthentication = _ => MqttAuthenticationResult.Success() });
        var auth = Encode(new MqttDisconnectPacket(MqttReasonCode.ReAuthenticate, new MqttProperties { AuthenticationMethod = "TEST-CR" }, isAuth: true));
        var packets = Exchange(port, Encode(new MqttConnectPacket { ProtocolVersion = MqttProtocolVersion.V500, ClientId = "raw" }), auth);
        Assert.IsType<MqttConnAckPacket>(packets[0]);
        Assert.Equal(MqttReasonCode.ProtocolError, Assert.IsType<MqttDisconnectPacket>(packets[1]).ReasonCode);
    }

    [Fact]
    public void A_publish_before_the_authentication_ends_is_refused_in_connack()
    {
        var (broker, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions { EnhancedAuthentication = _ => MqttAuthenticationResult.Continue("more"u8.ToArray()) });
        var connect = Encode(new MqttConnectPacket { ProtocolVersion = MqttProtocolVersion.V500, ClientId = "raw", Properties = new MqttProperties { AuthenticationMethod = "TEST-CR" } });
        var publish = Encode(new MqttPublishPacket { Topic = "t", Payload = "x"u8.ToArray() });
        var packets = Exchange(port, connect, publish);
        var auth = Assert.IsType<MqttDisconnectPacket>(packets[0]);
        Assert.Equal((MqttPacketType.Auth, MqttReasonCode.ContinueAuthentication), (auth.Type, auth.ReasonCode));
        Assert.Equal(MqttReasonCode.ProtocolError, Assert.IsType<MqttConnAckPacket>(packets[1]).ReasonCode);
        Assert.Equal(0, broker.SessionCount);
    }

    [Fact]
    public void An_exchange_that_never_ends_is_closed_after_the_connect_timeout()
    {
        var (broker, _, port) = MqttTestKit.StartBroker(manager, new MqttBrokerOptions
        {
            EnhancedAuthentication = _ => MqttAuthenticationResult.Continue("more"u8.ToArray()),
            ConnectTimeout = TimeSpan.FromMilliseconds(300),
        });
        var connect = Encode(new MqttConnectPacket { ProtocolVersion = MqttProtocolVersion.V500, ClientId = "raw", Properties = new MqttProperties { AuthenticationMethod = "TEST-CR" } });
        var packets = Exchange(port, connect);
        Assert.Equal(MqttPacketType.Auth, Assert.Single(packets).Type);
        Assert.Equal(0, broker.SessionCount);
    }

    private static byte[] Encode(MqttPacket packet)
    {
        var output = new ArrayBufferWriter<byte>();
        MqttPacketEncoder.Write(packet, MqttProtocolVersion.V500, output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Sends the pieces, then reads until the broker closes (at most 10 s); the packets received.</summary>
    private List<MqttPacket> Exchange(int port, params byte[][] pieces)
    {
        var task = Task.Run(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port);
            foreach (var piece in pieces) await socket.SendAsync(piece);
            var packets = new List<MqttPacket>();
            using var reader = new MqttFrameReader();
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (true)
            {
                int n;
                try { n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token); }
                catch (SocketException) { return packets; }
                if (n == 0) return packets;
                var memory = buffer.AsMemory(0, n);
                while (reader.TryRead(memory, out int consumed, out var frame))
                {
                    memory = memory[consumed..];
                    packets.Add(MqttPacketDecoder.Decode(frame, MqttProtocolVersion.V500));
                }
            }
        });
        return manager.Until(task);
    }
}
