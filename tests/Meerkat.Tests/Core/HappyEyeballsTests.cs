using System.Net;

namespace Meerkat.Tests.Core;

/// <summary>The Happy Eyeballs plan (RFC 8305 §4–5) without sockets: time is a number we choose.</summary>
public class HappyEyeballsTests
{
    private const long Delay = 250;
    private static readonly IPAddress V6a = IPAddress.Parse("2001:db8::a");
    private static readonly IPAddress V6b = IPAddress.Parse("2001:db8::b");
    private static readonly IPAddress V4a = IPAddress.Parse("192.0.2.1");
    private static readonly IPAddress V4b = IPAddress.Parse("192.0.2.2");

    [Fact]
    public void Addresses_are_interleaved_starting_with_the_first_family()
    {
        Assert.Equal([V6a, V4a, V6b, V4b], HappyEyeballs.Interleave([V6a, V6b, V4a, V4b], 80).Select(e => e.Address));
        Assert.Equal([V4a, V6a, V4b, V6b], HappyEyeballs.Interleave([V4a, V4b, V6a, V6b], 80).Select(e => e.Address));
        Assert.Equal([V4a, V6a, V6b], HappyEyeballs.Interleave([V4a, V6a, V6b], 80).Select(e => e.Address));
        Assert.Equal([V6a, V6b], HappyEyeballs.Interleave([V6a, V6b], 80).Select(e => e.Address));
        Assert.All(HappyEyeballs.Interleave([V6a, V4a], 443), e => Assert.Equal(443, e.Port));
    }

    [Fact]
    public void A_race_waiting_for_the_other_family_does_not_fail_and_takes_its_addresses_when_they_come()
    {
        var plan = new HappyEyeballs([V4a], 80, Delay, moreToCome: true);
        Assert.True(plan.TryStartNext(0, out int first, out _));
        plan.OnFailed(first, "connection refused", 10);
        Assert.Equal(HappyEyeballs.Stage.Racing, plan.Current); // the AAAA answer is still out
        Assert.False(plan.TryStartNext(10, out _, out _));

        plan.Add([V6a, V6b], last: true);
        Assert.True(plan.TryStartNext(20, out int second, out var endPoint));
        Assert.Equal((1, V6a), (second, endPoint.Address));
        Assert.Equal([V4a, V6a, V6b], plan.Order.Select(e => e.Address));
        plan.OnFailed(second, "connection refused", 30);
        Assert.True(plan.TryStartNext(30, out int third, out endPoint));
        Assert.Equal((2, V6b), (third, endPoint.Address));
        plan.OnFailed(third, "connection refused", 40);
        Assert.Equal(HappyEyeballs.Stage.Failed, plan.Current);
    }

    [Fact]
    public void Late_addresses_are_interleaved_with_the_untried_ones_and_an_empty_last_answer_ends_the_race()
    {
        var plan = new HappyEyeballs([V4a, V4b], 80, Delay, moreToCome: true);
        Assert.True(plan.TryStartNext(0, out _, out _));
        plan.Add([V6a, V6b], last: true);
        Assert.Equal([V4a, V4b, V6a, V6b], plan.Order.Select(e => e.Address)); // untried: V4b first, then alternating
        var waiting = new HappyEyeballs([V4a], 80, Delay, moreToCome: true);
        Assert.True(waiting.TryStartNext(0, out int only, out _));
        waiting.OnFailed(only, "connection refused", 1);
        waiting.Add([], last: true);
        Assert.Equal(HappyEyeballs.Stage.Failed, waiting.Current);
    }

    [Fact]
    public void The_next_attempt_starts_only_after_the_connection_attempt_delay()
    {
        var plan = new HappyEyeballs([V6a, V4a, V6b], 80, Delay);
        Assert.True(plan.TryStartNext(1000, out int first, out var endPoint));
        Assert.Equal((0, V6a), (first, endPoint.Address));
        Assert.False(plan.TryStartNext(1000, out _, out _));
        Assert.Equal(1000 + Delay, plan.NextAttemptDue);
        Assert.False(plan.TryStartNext(1000 + Delay - 1, out _, out _));
        Assert.True(plan.TryStartNext(1000 + Delay, out int second, out endPoint));
        Assert.Equal((1, V4a), (second, endPoint.Address));
        Assert.Equal(1000 + 2 * Delay, plan.NextAttemptDue);
    }

    [Fact]
    public void A_failed_attempt_hands_its_turn_to_the_next_address_at_once()
    {
        var plan = new HappyEyeballs([V6a, V4a], 80, Delay);
        Assert.True(plan.TryStartNext(0, out int first, out _));
        plan.OnFailed(first, "connection refused", 10);
        Assert.Equal(10, plan.NextAttemptDue);
        Assert.True(plan.TryStartNext(10, out int second, out var endPoint));
        Assert.Equal(V4a, endPoint.Address);
        Assert.Equal(HappyEyeballs.Stage.Racing, plan.Current);
        plan.OnFailed(second, "network unreachable", 20);
        Assert.Equal(HappyEyeballs.Stage.Failed, plan.Current);
        Assert.Null(plan.NextAttemptDue);
        Assert.Equal("[2001:db8::a]:80: connection refused; 192.0.2.1:80: network unreachable", plan.FailureSummary);
    }

    [Fact]
    public void A_failure_while_another_attempt_is_pending_does_not_end_the_race()
    {
        var plan = new HappyEyeballs([V6a, V4a], 80, Delay);
        plan.TryStartNext(0, out int first, out _);
        plan.TryStartNext(Delay, out int second, out _);
        plan.OnFailed(second, "connection refused", Delay + 5);
        Assert.Equal(HappyEyeballs.Stage.Racing, plan.Current);
        Assert.Null(plan.NextAttemptDue);
        plan.OnConnected(first);
        Assert.Equal((HappyEyeballs.Stage.Connected, 0), (plan.Current, plan.Winner));
    }

    [Fact]
    public void The_first_to_connect_wins_and_nothing_starts_after_it()
    {
        var plan = new HappyEyeballs([V6a, V4a, V6b, V4b], 80, Delay);
        plan.TryStartNext(0, out _, out _);
        plan.TryStartNext(Delay, out int second, out _);
        plan.OnConnected(second);
        Assert.Equal((HappyEyeballs.Stage.Connected, 1), (plan.Current, plan.Winner));
        Assert.Null(plan.NextAttemptDue);
        Assert.False(plan.TryStartNext(10 * Delay, out _, out _));
        plan.OnFailed(0, "late failure", 10 * Delay);
        plan.OnConnected(0);
        Assert.Equal((HappyEyeballs.Stage.Connected, 1), (plan.Current, plan.Winner));
    }

    [Fact]
    public void Summary_names_attempts_that_never_answered_and_addresses_never_tried()
    {
        var plan = new HappyEyeballs([V4a, V4b, V6a], 80, Delay);
        plan.TryStartNext(0, out _, out _);
        Assert.Equal("192.0.2.1:80: no answer; [2001:db8::a]:80: not tried; 192.0.2.2:80: not tried", plan.FailureSummary);
    }

    [Fact]
    public void A_plan_needs_an_address()
    {
        Assert.Throws<ArgumentException>(() => new HappyEyeballs([], 80, Delay));
    }
}
