namespace Meerkat.Sntp;

/// <summary>The leap indicator of an NTP packet (RFC 5905 §7.3): a leap second at the end of the
/// current day, or an unsynchronized clock.</summary>
public enum NtpLeapIndicator
{
    /// <summary>No leap second is announced.</summary>
    NoWarning = 0,
    /// <summary>The last minute of the day has 61 seconds.</summary>
    LastMinuteHas61Seconds = 1,
    /// <summary>The last minute of the day has 59 seconds.</summary>
    LastMinuteHas59Seconds = 2,
    /// <summary>Alarm: the sender's clock is not synchronized; its time must not be used.</summary>
    Unsynchronized = 3,
}
