namespace Meerkat.Sntp;

/// <summary>
/// One SNTP query (RFC 4330 §5, RFC 5905 client mode) as a sans-I/O state machine: it writes
/// requests and judges the datagrams that come back; it never touches a socket or reads a clock.
/// The caller passes the local time of each send and receipt, and a fresh random nonce per request.
/// </summary>
/// <remarks>
/// <para>Privacy and spoofing: a request carries a random nonce in its transmit timestamp instead
/// of the local time (as chrony's client does, and the NTP data-minimization draft recommends); the
/// time it left is kept here. A server copies that value into its reply's origin timestamp, so a
/// reply whose origin matches no request of this exchange is stale or forged and is ignored: an
/// off-path attacker would have to guess 64 random bits. A late answer to an earlier request of the
/// same exchange is accepted, with that request's send time.</para>
/// <para>A reply is also ignored when it is shorter than 48 bytes, not in server mode, of version 0
/// or above 4, has a zero transmit timestamp, comes from an unsynchronized server (leap indicator
/// 3 or stratum 16 and above), or its root distance exceeds <see cref="SntpOptions.MaxRootDistance"/>
/// (RFC 4330 §5). A stratum-0 reply is a Kiss-o'-Death: <c>RATE</c>, <c>DENY</c> and <c>RSTR</c>
/// end the exchange (no retry: the server asked us to stop or slow down); other codes are ignored.</para>
/// <para>States: <see cref="SntpState.Idle"/> → <see cref="SntpState.Waiting"/> (a request is out)
/// → <see cref="SntpState.Waiting"/> (a retry), <see cref="SntpState.Answered"/>,
/// <see cref="SntpState.KissOfDeath"/> or <see cref="SntpState.TimedOut"/>; the last three are final.</para>
/// </remarks>
internal sealed class SntpExchange
{
    private readonly SntpOptions options;
    private readonly (ulong Nonce, DateTimeOffset Sent)[] requests;

    /// <summary>Creates an exchange; nothing is sent until <see cref="WriteRequest"/>.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public SntpExchange(SntpOptions? options = null)
    {
        this.options = options ?? SntpOptions.Default;
        this.options.Validate();
        requests = new (ulong, DateTimeOffset)[this.options.MaxAttempts];
    }

    /// <summary>Where the exchange is.</summary>
    public SntpState State { get; private set; }

    /// <summary>Requests written so far.</summary>
    public int Attempts { get; private set; }

    /// <summary>The answer, once <see cref="SntpState.Answered"/>.</summary>
    public SntpResult? Result { get; private set; }

    /// <summary>The kiss code, once <see cref="SntpState.KissOfDeath"/>.</summary>
    public string? KissCode { get; private set; }

    /// <summary>Why the last ignored datagram was ignored, or null.</summary>
    public string? LastRejection { get; private set; }

    /// <summary>Writes the next request into <paramref name="destination"/> (48 bytes).</summary>
    /// <param name="now">The local time the request leaves (T1); send it right away.</param>
    /// <param name="nonce">A fresh random value, different for every request (it identifies the answer).</param>
    /// <param name="destination">At least <see cref="NtpPacket.Size"/> bytes.</param>
    /// <returns>How long to wait for the answer before calling <see cref="OnTimeout"/>.</returns>
    /// <exception cref="InvalidOperationException">The exchange is over, or every attempt was used.</exception>
    public TimeSpan WriteRequest(DateTimeOffset now, ulong nonce, Span<byte> destination)
    {
        if (State is not (SntpState.Idle or SntpState.Waiting) || Attempts >= requests.Length)
            throw new InvalidOperationException($"no request can be sent: the exchange is {State} after {Attempts} of {requests.Length} attempts");
        // RFC 4330 §5: a client request is all zeros except LI, VN, mode and the transmit timestamp.
        new NtpPacket { Version = options.Version, Mode = NtpMode.Client, Transmit = new NtpTimestamp(nonce) }.Write(destination);
        requests[Attempts++] = (nonce, now);
        State = SntpState.Waiting;
        return options.AttemptTimeout(Attempts);
    }

    /// <summary>Judges a datagram that came from the server.</summary>
    /// <param name="datagram">The datagram, whole.</param>
    /// <param name="now">The local time it arrived (T4).</param>
    public SntpReceiveStatus Receive(ReadOnlySpan<byte> datagram, DateTimeOffset now)
    {
        if (State != SntpState.Waiting) return Ignore($"no request is waiting (the exchange is {State})");
        if (!NtpPacket.TryRead(datagram, out var reply)) return Ignore($"{datagram.Length} bytes is shorter than an NTP packet ({NtpPacket.Size})");
        if (reply.Mode != NtpMode.Server) return Ignore($"mode {(int)reply.Mode} ({reply.Mode}) is not a server reply");
        if (reply.Version is 0 or > 4) return Ignore($"version {reply.Version} is not an NTP version this client speaks");
        int attempt = Array.FindIndex(requests, 0, Attempts, r => r.Nonce == reply.Origin.Value);
        if (attempt < 0) return Ignore($"origin timestamp {reply.Origin} matches no request of this exchange: a stale or spoofed reply");
        if (reply.Stratum == 0) return Kiss(reply);
        if (reply.LeapIndicator == NtpLeapIndicator.Unsynchronized || reply.Stratum >= 16)
            return Ignore($"the server's clock is not synchronized (leap indicator {(int)reply.LeapIndicator}, stratum {reply.Stratum})");
        if (reply.Transmit.IsZero) return Ignore("the transmit timestamp is zero");
        var rootDistance = reply.RootDelay / 2 + reply.RootDispersion;
        if (rootDistance > options.MaxRootDistance)
            return Ignore($"root distance {rootDistance.TotalSeconds:0.######} s exceeds {options.MaxRootDistance.TotalSeconds:0.######} s");
        Result = Measure(reply, requests[attempt].Sent, now, attempt + 1);
        State = SntpState.Answered;
        return SntpReceiveStatus.Answered;
    }

    /// <summary>The wait for the last request ended without an answer.</summary>
    /// <returns>True when another request should be written (<see cref="WriteRequest"/>); false when
    /// every attempt is used (now <see cref="SntpState.TimedOut"/>) or the exchange was over.</returns>
    public bool OnTimeout()
    {
        if (State != SntpState.Waiting) return false;
        if (Attempts < requests.Length) return true;
        State = SntpState.TimedOut;
        return false;
    }

    /// <summary>RFC 5905 §8: offset θ = ((T2 − T1) + (T3 − T4)) / 2, delay δ = (T4 − T1) − (T3 − T2).
    /// Differences of NTP timestamps are taken modulo an era, so 2036 is no boundary.</summary>
    private static SntpResult Measure(NtpPacket reply, DateTimeOffset sent, DateTimeOffset received, int attempt)
    {
        var t1 = NtpTimestamp.FromDateTimeOffset(sent);
        var t4 = NtpTimestamp.FromDateTimeOffset(received);
        var (t2, t3) = (reply.Receive, reply.Transmit);
        var offset = ((t2 - t1) + (t3 - t4)) / 2;
        var delay = (t4 - t1) - (t3 - t2);
        return new SntpResult
        {
            Offset = offset,
            // A negative delay is the clocks' rounding (or a server stamping receipt after reply): clamp it.
            RoundTripDelay = delay < TimeSpan.Zero ? TimeSpan.Zero : delay,
            Stratum = reply.Stratum,
            ServerTime = t3.ToDateTimeOffset(),
            LocalTime = received,
            LeapIndicator = reply.LeapIndicator,
            ReferenceId = reply.ReferenceIdText,
            RootDelay = reply.RootDelay,
            RootDispersion = reply.RootDispersion,
            Version = reply.Version,
            Attempt = attempt,
        };
    }

    private SntpReceiveStatus Kiss(NtpPacket reply)
    {
        string code = reply.ReferenceIdText;
        if (code is not (KissCodes.Rate or KissCodes.Deny or KissCodes.Restrict))
            return Ignore($"Kiss-o'-Death with code '{code}', which asks nothing of a client");
        KissCode = code;
        State = SntpState.KissOfDeath;
        return SntpReceiveStatus.KissOfDeath;
    }

    private SntpReceiveStatus Ignore(string reason)
    {
        LastRejection = reason;
        return SntpReceiveStatus.Ignored;
    }
}
