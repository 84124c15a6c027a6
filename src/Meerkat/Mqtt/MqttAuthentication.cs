// How this file works: the two types of MQTT 5.0 enhanced authentication (§4.12) that the broker's
// hook and the client's share. An exchange starts with the Authentication Method and Data of a
// CONNECT (or of an AUTH 0x19, re-authentication) and goes on with AUTH 0x18 packets, each side's
// authentication data handed to the other's hook; a hook answers each step with a result:
// continue (with data for the peer), success (with optional final data) or a failure code.
using System.Net;

namespace Meerkat.Mqtt;

/// <summary>
/// One enhanced authentication exchange (MQTT 5.0 §4.12) as a hook sees it, step by step: the broker's
/// <see cref="MqttBrokerOptions.EnhancedAuthentication"/> or the client's <see cref="MqttClientOptions.EnhancedAuthentication"/>.
/// The same object is passed to every step of one exchange; keep the method's own state in <see cref="State"/>.
/// </summary>
public sealed class MqttAuthenticationExchange
{
    internal MqttAuthenticationExchange(string method, bool isReauthentication, string clientId, string? userName, IPEndPoint? remoteEndPoint)
    {
        Method = method;
        IsReauthentication = isReauthentication;
        ClientId = clientId;
        UserName = userName;
        RemoteEndPoint = remoteEndPoint;
    }

    /// <summary>The Authentication Method (for example <c>SCRAM-SHA-256</c>), the same for every step.</summary>
    public string Method { get; }

    /// <summary>True for a re-authentication of a connected client (AUTH 0x19), false for the one in CONNECT.</summary>
    public bool IsReauthentication { get; }

    /// <summary>The client identifier as sent in CONNECT (empty when the broker will assign one).</summary>
    public string ClientId { get; }

    /// <summary>The user name of the CONNECT, or null.</summary>
    public string? UserName { get; }

    /// <summary>The peer's address (the broker's hook: the client's), when known.</summary>
    public IPEndPoint? RemoteEndPoint { get; }

    /// <summary>0 for the first step (CONNECT or AUTH 0x19 on the broker, the broker's first AUTH on the client), then 1, 2...</summary>
    public int Step { get; internal set; }

    /// <summary>The Authentication Data the peer sent with this step (empty when it sent none).</summary>
    public ReadOnlyMemory<byte> Data { get; internal set; }

    /// <summary>Client side: true when the broker ended the exchange with success (CONNACK 0x00 or AUTH 0x00) and
    /// <see cref="Data"/> is its final data; the hook then returns <see cref="MqttAuthenticationResult.Success"/> to accept
    /// the broker or a failure to disconnect. Always false on the broker.</summary>
    public bool IsComplete { get; internal set; }

    /// <summary>The hook's own state between steps (a nonce, a SCRAM transcript...); null at first.</summary>
    public object? State { get; set; }
}

/// <summary>A hook's answer to one step of an <see cref="MqttAuthenticationExchange"/>.</summary>
public readonly struct MqttAuthenticationResult
{
    private MqttAuthenticationResult(MqttReasonCode reasonCode, ReadOnlyMemory<byte>? data)
    {
        ReasonCode = reasonCode;
        Data = data;
    }

    /// <summary><see cref="MqttReasonCode.ContinueAuthentication"/>, <see cref="MqttReasonCode.Success"/>, or the failure.</summary>
    public MqttReasonCode ReasonCode { get; }

    /// <summary>Authentication Data to send to the peer, or null.</summary>
    public ReadOnlyMemory<byte>? Data { get; }

    /// <summary>Another round: <paramref name="data"/> goes to the peer in AUTH 0x18.</summary>
    public static MqttAuthenticationResult Continue(ReadOnlyMemory<byte> data) => new(MqttReasonCode.ContinueAuthentication, data);

    /// <summary>Authenticated. Broker: CONNACK 0x00 (or AUTH 0x00 after a re-authentication) carries <paramref name="data"/>.</summary>
    public static MqttAuthenticationResult Success(ReadOnlyMemory<byte>? data = null) => new(MqttReasonCode.Success, data);

    /// <summary>Refused with <paramref name="reasonCode"/> (a failure code, 0x80 or above; default 0x87 Not authorized):
    /// the broker answers CONNACK (or DISCONNECT after a re-authentication) with it; the client disconnects with it.</summary>
    /// <exception cref="ArgumentException"><paramref name="reasonCode"/> is not a failure code.</exception>
    public static MqttAuthenticationResult Fail(MqttReasonCode reasonCode = MqttReasonCode.NotAuthorized) =>
        reasonCode.IsSuccess() ? throw new ArgumentException($"0x{(byte)reasonCode:X2} is not a failure code", nameof(reasonCode)) : new(reasonCode, null);
}
