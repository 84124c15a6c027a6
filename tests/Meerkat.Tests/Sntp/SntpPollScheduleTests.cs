using Meerkat.Sntp;
using Meerkat.Tests.Core;

namespace Meerkat.Tests.Sntp;

/// <summary>The poll schedule as a rule (no time passes), and the poller on the loop for its first round.</summary>
public class SntpPollScheduleTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public void No_answer_doubles_the_interval_and_an_answer_restores_it()
    {
        var schedule = new SntpPollSchedule(Minute);
        Assert.Equal(2 * Minute, schedule.OnOutcome(false, new TimeoutException()));
        Assert.Equal(4 * Minute, schedule.OnOutcome(false, new MeerkatException("refused")));
        Assert.Equal(Minute, schedule.OnOutcome(true, null));
    }

    [Fact]
    public void Every_rate_kiss_doubles_again_up_to_the_maximum()
    {
        var schedule = new SntpPollSchedule(Minute, 5 * Minute);
        var rate = new SntpException("slow down", KissCodes.Rate);
        Assert.Equal(2 * Minute, schedule.OnOutcome(false, rate));
        Assert.Equal(4 * Minute, schedule.OnOutcome(false, rate));
        Assert.Equal(5 * Minute, schedule.OnOutcome(false, rate));
        Assert.Equal(5 * Minute, schedule.OnOutcome(false, rate));
        Assert.False(schedule.IsStopped);
    }

    [Theory]
    [InlineData(KissCodes.Deny)]
    [InlineData(KissCodes.Restrict)]
    public void Deny_and_restrict_stop_for_good(string code)
    {
        var schedule = new SntpPollSchedule(Minute);
        Assert.Null(schedule.OnOutcome(false, new SntpException("go away", code)));
        Assert.True(schedule.IsStopped);
        Assert.Null(schedule.OnOutcome(true, null));
    }

    [Fact]
    public void Intervals_below_15_seconds_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SntpPollSchedule(TimeSpan.FromSeconds(14)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SntpPollSchedule(Minute, TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData(null, false, 1)]
    [InlineData(KissCodes.Rate, false, 2)]
    [InlineData(KissCodes.Deny, true, 1)]
    public void The_poller_reports_the_first_round_and_schedules_the_next(string? kiss, bool stopped, int intervals)
    {
        using var server = new FakeNtpServer((request, _) => [kiss is null ? FakeNtpServer.Answer(request) : FakeNtpServer.Kiss(request, kiss)]);
        using var manager = Loop.Create(PollerBackend.Auto);
        var outcomes = new List<(SntpResult?, Exception?)>();
        var poller = manager.StartSntpPolling(server.Server, Minute, (r, e) => outcomes.Add((r, e)), new SntpOptions { Timeout = TimeSpan.FromSeconds(5) });
        manager.Until(() => outcomes.Count == 1, what: "the first round");
        Assert.Equal(kiss is null, outcomes[0].Item1 is not null);
        Assert.Equal(stopped, poller.IsStopped);
        Assert.Equal(intervals * Minute, poller.Schedule.Interval);
        poller.Stop();
        manager.Poll(0);
        Assert.Single(outcomes);
        Assert.Single(server.Requests);
    }

    [Fact]
    public void Stopping_mid_query_abandons_it_without_a_report()
    {
        using var silent = new FakeNtpServer((_, _) => []);
        using var manager = Loop.Create(PollerBackend.Auto);
        int reports = 0;
        var poller = manager.StartSntpPolling(silent.Server, Minute, (_, _) => reports++);
        manager.Until(() => silent.Requests.Count == 1, what: "the first request");
        poller.Stop();
        manager.Until(() => manager.Connections.Count == 0, what: "the query to close");
        Assert.Equal(0, reports);
        Assert.True(poller.IsStopped);
    }
}
