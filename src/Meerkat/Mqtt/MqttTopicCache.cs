// How this file works: turns the UTF-8 bytes of a topic name into a string, handing back the same
// string for a topic seen before, so that a broker receiving PUBLISH after PUBLISH to the same
// topics allocates no string per message. Bounded: once full it only looks up.
using System.Text;

namespace Meerkat.Mqtt;

/// <summary>A bounded set of topic strings looked up by their UTF-8 bytes; one thread.</summary>
internal sealed class MqttTopicCache(int capacity = 4096)
{
    private const int StackLimit = 256;
    private readonly Dictionary<string, string> topics = new(StringComparer.Ordinal);

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty) return string.Empty;
        if (utf8.Length > StackLimit) return Encoding.UTF8.GetString(utf8);
        Span<char> chars = stackalloc char[StackLimit];
        int length = Encoding.UTF8.GetChars(utf8, chars);
        var lookup = topics.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(chars[..length], out var known)) return known;
        string topic = new(chars[..length]);
        if (topics.Count < capacity) topics[topic] = topic;
        return topic;
    }
}
