using System.Net;
using System.Net.Sockets;

namespace Meerkat;

/// <summary>
/// Takes an outbound connection from its <see cref="EventKind.Open"/> to <see cref="EventKind.Connect"/>
/// (or to <see cref="EventKind.Error"/>): resolves the host within
/// <see cref="ManagerOptions.ResolveTimeout"/>, then races the resolved addresses as
/// <see cref="HappyEyeballs"/> plans, on the loop thread.
/// </summary>
/// <remarks>
/// <para>Each connection attempt is a socket of its own, wrapped in an internal
/// <see cref="Connection"/> (role <see cref="ConnectionRole.Internal"/>) so the poller can watch
/// it; attempts raise no events and are in no list a user sees. The winner's socket moves into the
/// user's connection, which then raises <see cref="EventKind.Connect"/>; every other attempt is
/// closed at once, silently. The user's connection raises <see cref="EventKind.Resolve"/> once,
/// when the addresses are known, whatever the number of attempts.</para>
/// <para>Stages: <see cref="Stage.Resolving"/> → <see cref="Stage.Racing"/> or <see cref="Stage.Done"/>;
/// <see cref="Stage.Racing"/> → <see cref="Stage.Done"/>. A connection closed in any stage
/// (<see cref="Abort"/>) ends the work: a late resolver answer is ignored, attempts are closed.</para>
/// </remarks>
internal sealed class OutboundConnector
{
    private enum Stage
    {
        /// <summary>Waiting for the resolver. Next: Racing (addresses), Done (failed, timed out, closed).</summary>
        Resolving,
        /// <summary>Connection attempts in flight. Next: Done (one connected, all failed, closed).</summary>
        Racing,
        /// <summary>Connected, failed or aborted; nothing more happens. Final.</summary>
        Done,
    }

    private readonly Manager manager;
    private readonly Connection connection;
    private Stage stage;
    private HappyEyeballs? plan;
    private Connection?[] attempts = [];
    private ManagerTimer? timer;
    private ManagerTimer? resolveTimer;
    private ManagerTimer? resolutionDelay;
    private CancellationTokenSource? resolving;
    private int answersPending;                 // queries not answered yet (2 per family, 1 with a custom resolver)
    private IPAddress[] ipv4Answer = [];         // an A answer held back for the resolution delay
    private Exception? lastFailure;

    public OutboundConnector(Manager manager, Connection connection)
    {
        this.manager = manager;
        this.connection = connection;
    }

    private string Host => connection.Host!;

    /// <summary>Starts resolving (loop thread, in the opens phase, after the connection's
    /// <see cref="EventKind.Open"/>). IP literals and <c>localhost</c> skip the resolver: the race
    /// starts at once.</summary>
    public void Start()
    {
        if (new NetworkAddress("tcp", Host, connection.Port).Literal is { } literal)
        {
            StartRace([literal], more: false);
            return;
        }
        resolving = new CancellationTokenSource();
        var timeout = manager.Options.ResolveTimeout;
        resolveTimer = manager.AddTimer(timeout, TimeSpan.Zero, _ => OnResolveTimeout(timeout), null);
        if (manager.Options.Resolver is { } resolver)
        {
            answersPending = 1;
            Ask(() => resolver(Host, resolving.Token), AddressFamily.Unspecified);
            return;
        }
        // RFC 8305 §3: AAAA and A asked separately, so that one slow family does not hold up the other.
        var byFamily = manager.Options.FamilyResolver ?? Dns.GetHostAddressesAsync;
        var token = resolving.Token;
        answersPending = 2;
        Ask(() => byFamily(Host, AddressFamily.InterNetworkV6, token), AddressFamily.InterNetworkV6);
        Ask(() => byFamily(Host, AddressFamily.InterNetwork, token), AddressFamily.InterNetwork);
    }

    private void Ask(Func<Task<IPAddress[]>> query, AddressFamily family)
    {
        Task<IPAddress[]> answer;
        try
        {
            answer = query();
        }
        catch (Exception ex)
        {
            answer = Task.FromException<IPAddress[]>(ex);
        }
        answer.ContinueWith((task, state) => ((OutboundConnector)state!).PostAnswer(task, family),
            this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>An attempt's socket became ready (loop thread): it connected or it failed.</summary>
    public void OnAttemptReady(Connection attempt)
    {
        int index = Array.IndexOf(attempts, attempt);
        if (stage != Stage.Racing || index < 0) return;
        var result = Transport.ConnectResult(attempt.Socket!);
        if (result == SocketError.Success)
        {
            Win(index);
            return;
        }
        CloseAttempt(index);
        lastFailure = Transport.Error($"connect to {plan!.Order[index]} failed", result);
        plan.OnFailed(index, Transport.Describe(result), manager.Ticks);
        Advance();
    }

    /// <summary>The connection is being released: stop resolving, close every attempt. Idempotent.</summary>
    public void Abort()
    {
        stage = Stage.Done;
        timer?.Cancel();
        resolveTimer?.Cancel();
        resolutionDelay?.Cancel();
        StopResolving(cancel: true);
        for (int i = 0; i < attempts.Length; i++) CloseAttempt(i);
    }

    // ------------------------------------------------------------------ resolving

    /// <summary>Any thread: hands the resolver's answer to the loop.</summary>
    private void PostAnswer(Task<IPAddress[]> task, AddressFamily family)
    {
        var addresses = task.IsCompletedSuccessfully ? task.Result : null;
        var error = task.IsCanceled ? new OperationCanceledException("the resolver cancelled the lookup") : task.Exception?.InnerException;
        try
        {
            manager.Post(() => OnAnswer(family, addresses, error));
        }
        catch (ObjectDisposedException)
        {
            // The manager is gone, and the connection with it: nobody is waiting for the answer.
        }
    }

    /// <summary>One query's answer (loop thread). RFC 8305 §3: an AAAA answer starts the race at
    /// once; an A answer first waits the resolution delay (50 ms) for the AAAA one; an answer that
    /// comes during the race joins it; the lookup fails only when every query failed or was empty.</summary>
    private void OnAnswer(AddressFamily family, IPAddress[]? addresses, Exception? error)
    {
        if (stage == Stage.Done || connection.State >= ConnectionState.Closing) return;
        answersPending--;
        if (error is not null && stage == Stage.Resolving) lastFailure = error;
        var usable = addresses is null ? [] : Array.FindAll(addresses, HappyEyeballs.IsUsable);
        if (answersPending == 0) FinishResolving();
        if (stage == Stage.Racing)
        {
            plan!.Add(usable, last: answersPending == 0);
            if (attempts.Length < plan.Order.Count) Array.Resize(ref attempts, plan.Order.Count);
            Advance();
            return;
        }
        if (family == AddressFamily.InterNetwork && answersPending > 0)
        {
            ipv4Answer = usable;
            if (usable.Length > 0)
                resolutionDelay = manager.AddTimer(ResolutionDelay, TimeSpan.Zero, _ => StartRace([], more: true), null);
            return;
        }
        if (usable.Length == 0 && answersPending > 0) return; // the other family may still answer
        StartRace(usable, more: answersPending > 0);
    }

    /// <summary>RFC 8305 §3's resolution delay: how long an A answer waits for the AAAA one.</summary>
    private static readonly TimeSpan ResolutionDelay = TimeSpan.FromMilliseconds(50);

    private void GiveUpResolving()
    {
        resolveTimer?.Cancel();
        resolutionDelay?.Cancel();
        StopResolving(cancel: true);
    }

    private void FinishResolving()
    {
        resolveTimer?.Cancel();
        StopResolving(cancel: false);
    }

    private void StartRace(IPAddress[] usable, bool more)
    {
        if (stage != Stage.Resolving || connection.State >= ConnectionState.Closing) return;
        resolutionDelay?.Cancel();
        IPAddress[] addresses = [.. usable, .. ipv4Answer];
        if (addresses.Length == 0)
        {
            stage = Stage.Done;
            FinishResolving();
            string reason = lastFailure?.Message ?? "no IPv4 or IPv6 address";
            manager.Fail(connection, new MeerkatException($"cannot resolve host '{Host}': {reason}", lastFailure));
            return;
        }
        lastFailure = null;
        plan = new HappyEyeballs(addresses, connection.Port, LoopClock.ToTicks(manager.Options.ConnectionAttemptDelay), more);
        attempts = new Connection?[plan.Order.Count];
        stage = Stage.Racing;
        connection.RemoteEndPoint = plan.Order[0];
        manager.Raise(connection, new Event(EventKind.Resolve));
        if (connection.State >= ConnectionState.Closing) return;
        Advance();
    }

    private void OnResolveTimeout(TimeSpan timeout)
    {
        if (stage == Stage.Racing)
        {
            // The race began with one family's answer; the other's is given up on.
            answersPending = 0;
            StopResolving(cancel: true);
            plan!.Add([], last: true);
            Advance();
            return;
        }
        if (stage != Stage.Resolving) return;
        resolutionDelay?.Cancel();
        stage = Stage.Done;
        StopResolving(cancel: true);
        manager.Fail(connection, new TimeoutException(
            $"cannot resolve host '{Host}': no answer within {timeout.TotalSeconds:0.###} s (ManagerOptions.ResolveTimeout)"));
    }

    /// <summary>Releases the resolver's token, cancelling it when the answer is no longer wanted.
    /// Its callbacks run here, on the loop thread; one that throws is the resolver's bug and must
    /// not stop the connection's release.</summary>
    private void StopResolving(bool cancel)
    {
        if (resolving is null) return;
        var source = resolving;
        resolving = null;
        try
        {
            if (cancel) source.Cancel();
        }
        catch (AggregateException ex)
        {
            manager.Log(LogSeverity.Warning, "resolver-error", $"a callback on the resolver's token for '{Host}' threw: {ex.InnerException?.Message}", ex, connection.Id);
        }
        finally
        {
            source.Dispose();
        }
    }

    // ------------------------------------------------------------------ racing

    /// <summary>Starts every attempt the plan says is due, then sleeps until the next one is.</summary>
    private void Advance()
    {
        long now = manager.Ticks;
        while (stage == Stage.Racing && plan!.TryStartNext(now, out int index, out var endPoint)) StartAttempt(index, endPoint, now);
        if (stage != Stage.Racing) return;
        if (plan!.Current == HappyEyeballs.Stage.Failed)
        {
            FailAll();
            return;
        }
        timer?.Cancel();
        timer = plan.NextAttemptDue is { } due
            ? manager.AddTimer(LoopClock.ToTimeSpan(Math.Max(0, due - now)), TimeSpan.Zero, _ => Advance(), null)
            : null;
    }

    private void StartAttempt(int index, IPEndPoint endPoint, long now)
    {
        var socket = Transport.BeginConnect(endPoint, connection.IsDatagram, out bool completed, out var failure);
        if (socket is null)
        {
            lastFailure = failure;
            plan!.OnFailed(index, Reason(failure!), now);
            return;
        }
        attempts[index] = new Connection(manager, 0, ConnectionRole.Internal, connection.IsDatagram, null)
        {
            Socket = socket,
            RemoteEndPoint = endPoint,
            Stage = completed ? ConnectionStage.Open : ConnectionStage.Connecting,
            Connector = this,
        };
        if (completed) Win(index);
        else manager.Watch(attempts[index]!);
    }

    /// <summary>The attempt <paramref name="index"/> connected: its socket becomes the connection's,
    /// every other attempt is closed, and the connection raises <see cref="EventKind.Connect"/>.</summary>
    private void Win(int index)
    {
        var attempt = attempts[index]!;
        plan!.OnConnected(index);
        stage = Stage.Done;
        timer?.Cancel();
        GiveUpResolving(); // a family's answer still out is no longer wanted
        if (attempt.IsRegistered) manager.Unwatch(attempt);
        attempts[index] = null;
        for (int i = 0; i < attempts.Length; i++) CloseAttempt(i);
        connection.Socket = attempt.Socket;
        attempt.Socket = null;
        attempt.Stage = ConnectionStage.Closed;
        connection.RemoteEndPoint = plan.Order[index];
        connection.Connector = null;
        manager.Watch(connection);
        manager.OnConnected(connection);
    }

    private void FailAll()
    {
        stage = Stage.Done;
        timer?.Cancel();
        GiveUpResolving();
        var error = plan!.Order.Count == 1 && lastFailure is not null
            ? lastFailure
            : new MeerkatException($"connect to {Host}:{connection.Port} failed: {plan.FailureSummary}", lastFailure);
        manager.Fail(connection, error);
    }

    private void CloseAttempt(int index)
    {
        if (attempts[index] is not { } attempt) return;
        attempts[index] = null;
        attempt.Stage = ConnectionStage.Closed;
        if (attempt.IsRegistered) manager.Unwatch(attempt);
        attempt.Socket?.Dispose();
        attempt.Socket = null;
    }

    /// <summary>The reason part of a transport error ("connect to X failed: reason").</summary>
    private static string Reason(Exception failure)
    {
        string message = failure.Message;
        int colon = message.LastIndexOf(": ", StringComparison.Ordinal);
        return colon >= 0 ? message[(colon + 2)..] : message;
    }
}
