// How this file works: the awaitable facade over MqttClientSession, usable from any thread. Each
// call posts its work to the loop and completes a task from the session's callbacks; messages
// arrive through MessageReceived (on the loop thread) or as IAsyncEnumerable streams fed through
// channels. Nothing here touches a connection off the loop thread.
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Meerkat.Mqtt;

/// <summary>A message received by <see cref="MqttClient"/>: a copy, safe to keep.</summary>
/// <param name="Topic">The topic name.</param>
/// <param name="Payload">The payload (copied).</param>
/// <param name="QualityOfService">The QoS it arrived with.</param>
/// <param name="Retain">True when it is a retained message sent on subscribe.</param>
/// <param name="Properties">5.0 properties, or null.</param>
public sealed record MqttReceivedMessage(string Topic, byte[] Payload, MqttQualityOfService QualityOfService, bool Retain, MqttProperties? Properties)
{
    /// <summary>The payload as UTF-8 text.</summary>
    public string PayloadText => System.Text.Encoding.UTF8.GetString(Payload);
}

/// <summary>
/// An MQTT client for use from any thread, over a <see cref="Manager"/> that runs its loop elsewhere
/// (<see cref="Manager.RunAsync"/>). <c>await MqttClient.ConnectAsync(manager, options)</c>, then publish
/// (completing when acknowledged), subscribe with a callback or as an <see cref="IAsyncEnumerable{T}"/>,
/// and dispose. Reconnects as <see cref="MqttClientOptions.AutoReconnect"/> says, after the first connection succeeded.
/// </summary>
public sealed class MqttClient : IAsyncDisposable
{
    private readonly Manager manager;
    private readonly List<(string Filter, ChannelWriter<MqttReceivedMessage> Writer)> streams = [];
    private MqttClientSession? session;

    private MqttClient(Manager manager) => this.manager = manager;

    /// <summary>Called for every message received, on the loop thread: keep it short, never block.</summary>
    public event Action<MqttReceivedMessage>? MessageReceived;

    /// <summary>True while a connection is accepted by the broker.</summary>
    public bool IsConnected { get; private set; }

    /// <summary>The client identifier (the broker's assigned one when none was configured).</summary>
    public string ClientId { get; private set; } = string.Empty;

    /// <summary>True when the first CONNACK said the broker resumed a stored session.</summary>
    public bool SessionPresent { get; private set; }

    /// <summary>Connects: completes when the broker accepted the first connection.</summary>
    /// <exception cref="MqttProtocolException">The broker refused (the reason code says why) or broke the protocol.</exception>
    /// <exception cref="IOException">The transport failed (resolve, connect, TLS, WebSocket handshake).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled (the session is then ended).</exception>
    public static async Task<MqttClient> ConnectAsync(Manager manager, MqttClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var client = new MqttClient(manager);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        manager.Post(() =>
        {
            try
            {
                client.session = manager.ConnectMqtt(options, (c, e) =>
                {
                    if (e.Kind == EventKind.Error && !connected.Task.IsCompleted) connected.TrySetException(e.Error ?? new MeerkatException("the connection failed"));
                    if (e.Kind == EventKind.Close && !connected.Task.IsCompleted)
                    {
                        connected.TrySetException(client.session?.LastError ?? new MeerkatException($"the connection to {options.Url} closed before CONNACK"));
                        client.session?.Abort();
                    }
                });
                client.session.ConnectionChanged = (ack, error) =>
                {
                    client.IsConnected = ack?.ReasonCode.IsSuccess() == true;
                    client.ClientId = client.session.ClientId;
                    if (ack is null || connected.Task.IsCompleted) return;
                    if (!ack.ReasonCode.IsSuccess()) return; // the Error event that follows fails the task
                    client.SessionPresent = ack.SessionPresent;
                    connected.TrySetResult();
                };
                client.session.MessageReceived = client.OnMessage;
                client.session.Ended = _ =>
                {
                    client.IsConnected = false;
                    client.CompleteStreams();
                };
            }
            catch (Exception ex)
            {
                connected.TrySetException(ex);
            }
        });
        using (cancellationToken.Register(() => { if (connected.TrySetCanceled(cancellationToken)) client.Post(s => s.Abort()); }))
            await connected.Task.ConfigureAwait(false);
        return client;
    }

    /// <summary>Publishes; completes when the message ended (QoS 0: written; 1: PUBACK; 2: PUBCOMP; or rejected, or not delivered).
    /// A token cancelled before the call sends nothing; cancelled later, it stops the wait, not the delivery.</summary>
    /// <exception cref="ArgumentException">The topic is invalid.</exception>
    /// <exception cref="InvalidOperationException">The session ended or too many messages are waiting.</exception>
    public Task<MqttDelivery> PublishAsync(MqttApplicationMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        var done = new TaskCompletionSource<MqttDelivery>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(s =>
        {
            try
            {
                var delivery = s.Publish(message);
                if (delivery.Outcome != MqttDeliveryOutcome.Pending) done.TrySetResult(delivery);
                else delivery.Completed = d => done.TrySetResult(d);
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        }, () => done.TrySetException(Gone()));
        return WithCancellation(done.Task, cancellationToken);
    }

    /// <summary>Publishes a UTF-8 text or binary payload.</summary>
    public Task<MqttDelivery> PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQualityOfService qos = MqttQualityOfService.AtMostOnce, bool retain = false,
        CancellationToken cancellationToken = default) => PublishAsync(new MqttApplicationMessage(topic, payload, qos, retain), cancellationToken);

    /// <summary>Subscribes; completes with the broker's reason codes (one per filter: the granted QoS or a failure).</summary>
    /// <exception cref="ArgumentException">A filter is invalid.</exception>
    /// <exception cref="MeerkatException">The session ended before the broker answered.</exception>
    public Task<IReadOnlyList<MqttReasonCode>> SubscribeAsync(IEnumerable<MqttSubscription> subscriptions, MqttProperties? properties = null, CancellationToken cancellationToken = default)
    {
        var list = subscriptions.ToList();
        return Request(s => s.Subscribe(list, properties), cancellationToken);
    }

    /// <summary>Subscribes to one filter.</summary>
    public Task<IReadOnlyList<MqttReasonCode>> SubscribeAsync(string filter, MqttQualityOfService qos = MqttQualityOfService.AtMostOnce, CancellationToken cancellationToken = default) =>
        SubscribeAsync([new MqttSubscription(filter, qos)], null, cancellationToken);

    /// <summary>Unsubscribes; completes with the broker's reason codes (empty from a 3.1.1 broker).</summary>
    public Task<IReadOnlyList<MqttReasonCode>> UnsubscribeAsync(IEnumerable<string> filters, CancellationToken cancellationToken = default)
    {
        var list = filters.ToList();
        return Request(s => s.Unsubscribe(list), cancellationToken);
    }

    /// <summary>Subscribes to <paramref name="filter"/> and yields the messages matching it until the token is cancelled
    /// or the session ends; then unsubscribes.</summary>
    public async IAsyncEnumerable<MqttReceivedMessage> SubscribeStream(string filter, MqttQualityOfService qos = MqttQualityOfService.AtMostOnce,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateUnbounded<MqttReceivedMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        string topicFilter = MqttTopic.TrySplitShared(filter, out _, out var inner) ? inner.ToString() : filter;
        Post(_ => streams.Add((topicFilter, channel.Writer)));
        try
        {
            var codes = await SubscribeAsync(filter, qos, cancellationToken).ConfigureAwait(false);
            if (codes.Count == 0 || !codes[0].IsSuccess()) throw new MqttProtocolException(codes.Count > 0 ? codes[0] : MqttReasonCode.UnspecifiedError, $"the broker refused the subscription to '{filter}'");
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                while (channel.Reader.TryRead(out var message)) yield return message;
        }
        finally
        {
            Post(s =>
            {
                streams.RemoveAll(x => x.Writer == channel.Writer);
                if (!s.IsEnded) s.Unsubscribe(filter);
            });
        }
    }

    /// <summary>Sends DISCONNECT and ends the session (no reconnect); completes when it ended.</summary>
    public Task DisconnectAsync(MqttReasonCode reason = MqttReasonCode.Success, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(s =>
        {
            if (s.IsEnded) { done.TrySetResult(); return; }
            var previous = s.Ended;
            s.Ended = x => { previous?.Invoke(x); done.TrySetResult(); };
            s.Disconnect(reason);
        }, () => done.TrySetResult());
        return WithCancellation(done.Task, cancellationToken);
    }

    /// <summary>Disconnects (if still connected) and waits for the session to end.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await DisconnectAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or ObjectDisposedException or InvalidOperationException)
        {
            // The loop is gone or stuck: nothing more can be sent.
        }
    }

    private Task<IReadOnlyList<MqttReasonCode>> Request(Func<MqttClientSession, MqttSubscribeRequest> send, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var done = new TaskCompletionSource<IReadOnlyList<MqttReasonCode>>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(s =>
        {
            try
            {
                var request = send(s);
                request.Completed = r =>
                {
                    if (r.ReasonCodes is { } codes) done.TrySetResult(codes);
                    else done.TrySetException(new MeerkatException("the MQTT session ended before the broker answered"));
                };
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        }, () => done.TrySetException(Gone()));
        return WithCancellation(done.Task, cancellationToken);
    }

    private void OnMessage(MqttPublishPacket packet)
    {
        var handlers = MessageReceived;
        if (handlers is null && streams.Count == 0) return;
        var message = new MqttReceivedMessage(packet.Topic, packet.Payload.ToArray(), packet.QualityOfService, packet.Retain, packet.Properties);
        handlers?.Invoke(message);
        foreach (var (filter, writer) in streams)
            if (MqttTopic.Matches(filter, packet.Topic)) writer.TryWrite(message);
    }

    private void CompleteStreams()
    {
        foreach (var (_, writer) in streams) writer.TryComplete();
    }

    /// <summary>Runs <paramref name="action"/> on the loop with the session; calls <paramref name="onGone"/> instead when there is none.</summary>
    private void Post(Action<MqttClientSession> action, Action? onGone = null)
    {
        try
        {
            manager.Post(() =>
            {
                if (session is null) { onGone?.Invoke(); return; }
                action(session);
            });
        }
        catch (ObjectDisposedException)
        {
            onGone?.Invoke();
        }
    }

    private static InvalidOperationException Gone() => new("the MQTT session has ended or its manager is disposed");

    private static Task<T> WithCancellation<T>(Task<T> task, CancellationToken token) => token.CanBeCanceled ? task.WaitAsync(token) : task;

    private static Task WithCancellation(Task task, CancellationToken token) => token.CanBeCanceled ? task.WaitAsync(token) : task;
}
