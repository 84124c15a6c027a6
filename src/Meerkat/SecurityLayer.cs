namespace Meerkat;

/// <summary>
/// A layer between the socket and the protocol that transforms the byte stream (TLS, in
/// <c>Tls/</c>). Runs on the loop thread.
/// </summary>
/// <remarks>
/// <para>How the loop uses it: socket reads go into <see cref="Inbound"/> (ciphertext) and the layer
/// turns them into plaintext in the connection's receive buffer, raising <see cref="EventKind.Read"/>
/// itself; the connection's send buffer holds plaintext, which the layer turns into
/// <see cref="Outbound"/> (ciphertext) in the write phase, and the loop writes <see cref="Outbound"/>
/// to the socket. <c>Received</c>, <c>Send</c>, <c>SendWriter</c> and protocols see plaintext only.</para>
/// <para>End of stream: the loop hands the transport's end to <see cref="OnTransportEnd"/>; the layer
/// delivers every byte of plaintext it can still make first, then calls
/// <see cref="Manager.PeerClosed"/>, which tells the protocol.</para>
/// </remarks>
internal abstract class SecurityLayer
{
    /// <summary>Bytes read from the socket, not yet taken by the layer.</summary>
    public abstract IoBuffer Inbound { get; }

    /// <summary>Bytes for the socket, made by the layer.</summary>
    public abstract IoBuffer Outbound { get; }

    /// <summary>True once the layer can carry application data (the handshake is done).</summary>
    public abstract bool IsEstablished { get; }

    /// <summary>The transport is up (accepted, or connected after <see cref="EventKind.Connect"/>): start the handshake.</summary>
    public abstract void Start(Connection connection);

    /// <summary>Bytes were appended to <see cref="Inbound"/>: make plaintext and raise its events.</summary>
    public abstract void OnReceived(Connection connection);

    /// <summary>The socket reached end of stream.</summary>
    public abstract void OnTransportEnd(Connection connection);

    /// <summary>Write phase: encrypt the plaintext send buffer into <see cref="Outbound"/> (one batch);
    /// when <paramref name="isDraining"/> and nothing is left, add the close notification once.</summary>
    public abstract void PrepareWrite(Connection connection, bool isDraining);

    /// <summary>The application consumed received plaintext: a layer that stopped for room asks for
    /// <see cref="OnWork"/> (never making plaintext inside the application's callback).</summary>
    public abstract void OnConsumed(Connection connection);

    /// <summary>Called in the loop's work phase after <see cref="Manager.ScheduleWork"/>.</summary>
    public abstract void OnWork(Connection connection);

    /// <summary>The connection is closed: release buffers and state.</summary>
    public abstract void Release();
}
