// How this file works: the broker's subscription index, a trie with one level of a topic filter
// per node (MQTT 5.0 §4.7). '+' and '#' children live in their own fields; plain levels in a
// dictionary looked up by span, so matching a topic allocates nothing. Matching walks the topic's
// levels: at each node the '#' child matches everything below, the '+' child any one level, and
// the exact child its own; a level-zero wildcard never matches a topic starting with '$' (§4.7.2).
// Shared subscriptions ($share/{group}/{filter}, §4.8.2) hang off the node of their filter, one
// group per name, and a message goes to one member of each group, round robin, preferring
// members whose client is connected.
namespace Meerkat.Mqtt;

/// <summary>One subscription of one session, as the tree stores it.</summary>
internal sealed class MqttBrokerSubscription(MqttBrokerSession session, string filter, MqttSubscription options, int subscriptionId, string? shareGroup, string topicFilter)
{
    public MqttBrokerSession Session { get; } = session;

    /// <summary>The filter as subscribed (with the $share prefix when shared).</summary>
    public string Filter { get; } = filter;

    /// <summary>The filter that matches topics (without the $share prefix).</summary>
    public string TopicFilter { get; } = topicFilter;

    public MqttSubscription Options { get; } = options;

    /// <summary>5.0 Subscription Identifier, 0 when none.</summary>
    public int SubscriptionId { get; } = subscriptionId;

    public string? ShareGroup { get; } = shareGroup;
}

internal sealed class MqttSubscriptionTree
{
    private sealed class Node
    {
        public Dictionary<string, Node>? Children;
        public Node? Plus;
        public Node? Hash;
        public List<MqttBrokerSubscription>? Subscribers;
        public Dictionary<string, SharedGroup>? Shared;

        public bool IsEmpty => Children is not { Count: > 0 } && Plus is null && Hash is null && Subscribers is not { Count: > 0 } && Shared is not { Count: > 0 };
    }

    private sealed class SharedGroup
    {
        public readonly List<MqttBrokerSubscription> Members = [];
        public int Next;
    }

    private readonly Node root = new();

    /// <summary>Subscriptions stored.</summary>
    public int Count { get; private set; }

    public void Add(MqttBrokerSubscription subscription)
    {
        var node = root;
        foreach (var level in subscription.TopicFilter.Split('/'))
        {
            node = level switch
            {
                "+" => node.Plus ??= new Node(),
                "#" => node.Hash ??= new Node(),
                _ => Child(node, level),
            };
        }
        if (subscription.ShareGroup is { } group)
        {
            node.Shared ??= new(StringComparer.Ordinal);
            if (!node.Shared.TryGetValue(group, out var shared)) node.Shared[group] = shared = new SharedGroup();
            shared.Members.Add(subscription);
        }
        else
        {
            (node.Subscribers ??= []).Add(subscription);
        }
        Count++;
    }

    private static Node Child(Node node, string level)
    {
        node.Children ??= new(StringComparer.Ordinal);
        if (!node.Children.TryGetValue(level, out var child)) node.Children[level] = child = new Node();
        return child;
    }

    public void Remove(MqttBrokerSubscription subscription)
    {
        if (Remove(root, subscription.TopicFilter.Split('/'), 0, subscription)) Count--;
    }

    private static bool Remove(Node node, string[] levels, int index, MqttBrokerSubscription subscription)
    {
        if (index == levels.Length)
        {
            if (subscription.ShareGroup is { } group)
            {
                if (node.Shared is null || !node.Shared.TryGetValue(group, out var shared) || !shared.Members.Remove(subscription)) return false;
                if (shared.Members.Count == 0) node.Shared.Remove(group);
                return true;
            }
            return node.Subscribers?.Remove(subscription) == true;
        }
        string level = levels[index];
        Node? child = level switch { "+" => node.Plus, "#" => node.Hash, _ => node.Children?.GetValueOrDefault(level) };
        if (child is null || !Remove(child, levels, index + 1, subscription)) return false;
        if (child.IsEmpty)
        {
            if (level == "+") node.Plus = null;
            else if (level == "#") node.Hash = null;
            else node.Children!.Remove(level);
        }
        return true;
    }

    /// <summary>Adds to <paramref name="results"/> every subscription matching <paramref name="topic"/>
    /// (one member per shared group).</summary>
    public void Match(ReadOnlySpan<char> topic, List<MqttBrokerSubscription> results) => MatchLevel(root, topic, isFirstLevel: true, results);

    private static void MatchLevel(Node node, ReadOnlySpan<char> topic, bool isFirstLevel, List<MqttBrokerSubscription> results)
    {
        int slash = topic.IndexOf('/');
        var level = slash < 0 ? topic : topic[..slash];
        var rest = slash < 0 ? default : topic[(slash + 1)..];
        bool isLast = slash < 0;
        if (!(isFirstLevel && topic.Length > 0 && topic[0] == '$'))
        {
            if (node.Hash is { } hash) Collect(hash, results);
            if (node.Plus is { } plus) Descend(plus, rest, isLast, results);
        }
        if (node.Children is { } children && children.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(level, out var child))
            Descend(child, rest, isLast, results);
    }

    private static void Descend(Node node, ReadOnlySpan<char> rest, bool isLast, List<MqttBrokerSubscription> results)
    {
        if (!isLast)
        {
            MatchLevel(node, rest, isFirstLevel: false, results);
            return;
        }
        Collect(node, results);
        // "a/#" also matches "a" (§4.7.1.2).
        if (node.Hash is { } hash) Collect(hash, results);
    }

    private static void Collect(Node node, List<MqttBrokerSubscription> results)
    {
        if (node.Subscribers is { } subscribers) results.AddRange(subscribers);
        if (node.Shared is null) return;
        foreach (var group in node.Shared.Values) results.Add(Pick(group));
    }

    /// <summary>Round robin over the group, skipping members whose client is offline when one is online.</summary>
    private static MqttBrokerSubscription Pick(SharedGroup group)
    {
        var members = group.Members;
        for (int i = 0; i < members.Count; i++)
        {
            var candidate = members[(group.Next + i) % members.Count];
            if (candidate.Session.Connection is null) continue;
            group.Next = (group.Next + i + 1) % members.Count;
            return candidate;
        }
        var chosen = members[group.Next % members.Count];
        group.Next = (group.Next + 1) % members.Count;
        return chosen;
    }
}
