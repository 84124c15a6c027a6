namespace Meerkat;

/// <summary>
/// The connections each phase of the loop owes something (docs/design.md, "The loop"): an
/// <see cref="EventKind.Open"/> to raise, a read to repeat, protocol work to continue, bytes to write,
/// a <see cref="EventKind.Close"/> to raise. A connection is in each queue at most once
/// (<see cref="Connection.Queued"/> says which); the phase that drains a queue takes it out.
/// </summary>
/// <remarks>Loop thread only. Scheduling never raises an event: API calls made inside a handler
/// (<c>Send</c>, <c>Close</c>, <c>Consume</c>) only queue, and the loop acts in the phase named.</remarks>
internal sealed class PhaseQueues
{
    /// <summary>Opens phase: connections made by API calls whose <see cref="EventKind.Open"/> is due.</summary>
    public readonly List<Connection> Open = [];

    /// <summary>Wait phase: connections with unread data (a full read, a resumed reader), ready
    /// without asking the backend.</summary>
    public readonly List<Connection> Read = [];

    /// <summary>Work phase: protocols to continue (<see cref="Protocol.OnWork"/>).</summary>
    public readonly List<Connection> Work = [];

    /// <summary>Writes phase: connections with bytes to write or a drain to finish.</summary>
    public readonly List<Connection> Write = [];

    /// <summary>Closes phase: connections whose <see cref="EventKind.Close"/> is due.</summary>
    public readonly List<Connection> Close = [];

    /// <summary>Some phase has work: the next wait must not sleep.</summary>
    public bool HasWork => Read.Count > 0 || Write.Count > 0 || Close.Count > 0 || Open.Count > 0 || Work.Count > 0;

    /// <summary>A connection made by an API call owes its <see cref="EventKind.Open"/> to the next opens phase.</summary>
    public void QueueOpen(Connection connection)
    {
        connection.Queued |= Queued.Open;
        Open.Add(connection);
    }

    public void ScheduleRead(Connection connection)
    {
        if ((connection.Queued & Queued.Read) != 0) return;
        connection.Queued |= Queued.Read;
        Read.Add(connection);
    }

    public void ScheduleWork(Connection connection)
    {
        if ((connection.Queued & Queued.Work) != 0) return;
        connection.Queued |= Queued.Work;
        Work.Add(connection);
    }

    public void ScheduleWrite(Connection connection)
    {
        if ((connection.Queued & Queued.Write) != 0) return;
        connection.Queued |= Queued.Write;
        Write.Add(connection);
    }

    public void ScheduleClose(Connection connection)
    {
        if ((connection.Queued & Queued.Close) != 0) return;
        connection.Queued |= Queued.Close;
        Close.Add(connection);
    }
}
