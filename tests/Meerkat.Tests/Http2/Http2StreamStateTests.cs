using Meerkat.Http2;
using S = Meerkat.Http2.Http2StreamState;
using I = Meerkat.Http2.Http2StreamInput;

namespace Meerkat.Tests.Http2;

/// <summary>The stream states of RFC 9113 §5.1: every (state, input) pair against the diagram.</summary>
public class Http2StreamStateTests
{
    /// <summary>The edges of the §5.1 diagram (HEADERS continuing in a state where headers may be sent or received are self-loops).</summary>
    private static readonly Dictionary<(S, I), S> Edges = new()
    {
        [(S.Idle, I.SendHeaders)] = S.Open,
        [(S.Idle, I.ReceiveHeaders)] = S.Open,
        [(S.Idle, I.SendPushPromise)] = S.ReservedLocal,
        [(S.Idle, I.ReceivePushPromise)] = S.ReservedRemote,
        [(S.ReservedLocal, I.SendHeaders)] = S.HalfClosedRemote,
        [(S.ReservedLocal, I.Reset)] = S.Closed,
        [(S.ReservedRemote, I.ReceiveHeaders)] = S.HalfClosedLocal,
        [(S.ReservedRemote, I.Reset)] = S.Closed,
        [(S.Open, I.SendHeaders)] = S.Open,
        [(S.Open, I.ReceiveHeaders)] = S.Open,
        [(S.Open, I.SendEndStream)] = S.HalfClosedLocal,
        [(S.Open, I.ReceiveEndStream)] = S.HalfClosedRemote,
        [(S.Open, I.Reset)] = S.Closed,
        [(S.HalfClosedLocal, I.ReceiveHeaders)] = S.HalfClosedLocal,
        [(S.HalfClosedLocal, I.ReceiveEndStream)] = S.Closed,
        [(S.HalfClosedLocal, I.Reset)] = S.Closed,
        [(S.HalfClosedRemote, I.SendHeaders)] = S.HalfClosedRemote,
        [(S.HalfClosedRemote, I.SendEndStream)] = S.Closed,
        [(S.HalfClosedRemote, I.Reset)] = S.Closed,
    };

    [Fact]
    public void Every_state_and_input_follows_the_diagram_and_nothing_else_is_allowed()
    {
        foreach (S state in Enum.GetValues<S>())
        {
            foreach (I input in Enum.GetValues<I>())
            {
                S? expected = Edges.TryGetValue((state, input), out S next) ? next : null;
                Assert.True(expected == Http2StreamStates.Next(state, input), $"{state} + {input}: expected {expected?.ToString() ?? "refused"}, got {Http2StreamStates.Next(state, input)?.ToString() ?? "refused"}");
            }
        }
    }

    [Fact]
    public void Closed_is_terminal_and_idle_cannot_be_reset()
    {
        Assert.All(Enum.GetValues<I>(), input => Assert.Null(Http2StreamStates.Next(S.Closed, input)));
        Assert.Null(Http2StreamStates.Next(S.Idle, I.Reset)); // RST_STREAM is never sent for an idle stream (§6.4)
    }

    [Theory]
    [InlineData("Open", true, true)]
    [InlineData("HalfClosedLocal", true, false)]
    [InlineData("HalfClosedRemote", false, true)]
    [InlineData("Closed", false, false)]
    [InlineData("Idle", false, false)]
    public void Who_may_still_send(string name, bool canReceive, bool canSend)
    {
        S state = Enum.Parse<S>(name);
        Assert.Equal((canReceive, canSend), (Http2StreamStates.CanReceive(state), Http2StreamStates.CanSend(state)));
    }

    [Fact]
    public void A_stream_object_refuses_an_illegal_transition_naming_it()
    {
        var stream = new Http2Stream();
        stream.Reset(1, 100, 100);
        stream.Apply(I.ReceiveHeaders);
        stream.Apply(I.ReceiveEndStream);
        Assert.Equal(S.HalfClosedRemote, stream.State);
        var error = Assert.Throws<InvalidOperationException>(() => stream.Apply(I.ReceiveEndStream));
        Assert.Contains("ReceiveEndStream is not allowed in HalfClosedRemote", error.Message);
    }
}
