// How this file works: the broker's persistent store, one append-only log file in the data
// directory (docs/mqtt.md, "Persistence format"). Every change to what must survive a restart
// (sessions, subscriptions, retained messages, QoS 1/2 messages queued or in flight for a
// persistent session and their packet identifiers, QoS 2 identifiers received) appends one record:
//
//   record  = length (u32 LE, of body) | crc32 (u32 LE, of body) | body
//   body    = type (byte) | fields (BinaryWriter encoding: 7-bit prefixed UTF-8 strings, LE integers)
//
// Records are buffered and written with one write and one fsync per Sync, which the broker calls
// at the end of each loop entry point, before the loop's write phase sends any acknowledgement.
// Recovery replays the log; a record that is cut short or fails its checksum ends the replay (a
// torn last write) and the file is cut there. After recovery, and whenever the log has grown past
// CompactionThreshold, the live state is written to a new file (fsync'd), renamed over the log,
// and the directory fsync'd.
using System.Text;

namespace Meerkat.Mqtt;

internal sealed class MqttBrokerStore : IDisposable
{
    private enum RecordType : byte
    {
        SessionSaved = 1, SessionRemoved = 2, SubscriptionSaved = 3, SubscriptionRemoved = 4, MessageSaved = 5,
        Enqueued = 6, Sent = 7, Released = 8, Acknowledged = 9, RetainSet = 10, RetainCleared = 11, Qos2Received = 12, Qos2Released = 13,
    }

    private static readonly byte[] Magic = "MKMQTT01"u8.ToArray();
    private const string FileName = "mqtt.log";
    private const long CompactionThreshold = 64L * 1024 * 1024;

    private readonly string directory;
    private readonly string path;
    private readonly MemoryStream body = new();
    private readonly BinaryWriter writer;
    private readonly MemoryStream batch = new();
    private FileStream file;
    private long nextStoreId = 1;
    private MqttBroker? broker;

    public MqttBrokerStore(string directory)
    {
        this.directory = Path.GetFullPath(directory);
        Directory.CreateDirectory(this.directory);
        path = Path.Combine(this.directory, FileName);
        writer = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true);
        file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
    }

    // ------------------------------------------------------------------ appending

    public void SaveSession(MqttBrokerSession session)
    {
        if (!session.IsPersistent)
        {
            Append(RecordType.SessionRemoved, w => w.Write(session.ClientId));
            return;
        }
        Append(RecordType.SessionSaved, w => { w.Write(session.ClientId); w.Write(session.ExpiryInterval); });
    }

    public void RemoveSession(MqttBrokerSession session) => Append(RecordType.SessionRemoved, w => w.Write(session.ClientId));

    public void SaveSubscription(MqttBrokerSession session, MqttBrokerSubscription subscription) => Append(RecordType.SubscriptionSaved, w =>
    {
        w.Write(session.ClientId);
        w.Write(subscription.Filter);
        var o = subscription.Options;
        w.Write((byte)((int)o.MaximumQoS | (o.NoLocal ? 0x04 : 0) | (o.RetainAsPublished ? 0x08 : 0) | (int)o.RetainHandling << 4));
        w.Write(subscription.SubscriptionId);
    });

    public void RemoveSubscription(MqttBrokerSession session, string filter) => Append(RecordType.SubscriptionRemoved, w => { w.Write(session.ClientId); w.Write(filter); });

    public void SaveRetained(MqttBrokerMessage message)
    {
        SaveMessage(message);
        Append(RecordType.RetainSet, w => { w.Write(message.Topic); w.Write(message.StoreId); });
    }

    public void ClearRetained(string topic) => Append(RecordType.RetainCleared, w => w.Write(topic));

    public void Enqueue(MqttBrokerSession session, MqttOutgoing outgoing)
    {
        SaveMessage(outgoing.Message);
        Append(RecordType.Enqueued, w =>
        {
            w.Write(session.ClientId);
            w.Write(outgoing.Message.StoreId);
            w.Write((byte)((int)outgoing.QualityOfService | (outgoing.Retain ? 0x04 : 0)));
            var ids = outgoing.SubscriptionIds;
            w.Write(ids?.Count ?? 0);
            foreach (int id in ids ?? []) w.Write(id);
        });
    }

    public void Sent(MqttBrokerSession session, MqttOutgoing outgoing) => Append(RecordType.Sent, w => { w.Write(session.ClientId); w.Write(outgoing.Message.StoreId); w.Write(outgoing.PacketId); });

    public void Release(MqttBrokerSession session, MqttOutgoing outgoing) => Append(RecordType.Released, w => { w.Write(session.ClientId); w.Write(outgoing.Message.StoreId); });

    public void Acknowledge(MqttBrokerSession session, MqttOutgoing outgoing) => Append(RecordType.Acknowledged, w => { w.Write(session.ClientId); w.Write(outgoing.Message.StoreId); });

    public void SaveReceivedQos2(MqttBrokerSession session, ushort packetId, bool received) =>
        Append(received ? RecordType.Qos2Received : RecordType.Qos2Released, w => { w.Write(session.ClientId); w.Write(packetId); });

    private void SaveMessage(MqttBrokerMessage message)
    {
        if (message.StoreId != 0) return;
        message.StoreId = nextStoreId++;
        WriteMessage(message);
    }

    private void WriteMessage(MqttBrokerMessage message)
    {
        Append(RecordType.MessageSaved, w =>
        {
            w.Write(message.StoreId);
            w.Write(message.Topic);
            w.Write(message.Payload.Length);
            w.Write(message.Payload);
            w.Write((byte)((int)message.QualityOfService | (message.Retain ? 0x04 : 0)));
            w.Write(message.ExpiresAt == long.MaxValue ? 0L : DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + (message.ExpiresAt - broker!.Clock()));
            w.Write(message.PublisherId ?? string.Empty);
            byte[] properties = EncodeProperties(message.Properties);
            w.Write(properties.Length);
            w.Write(properties);
        });
    }

    private void Append(RecordType type, Action<BinaryWriter> fields)
    {
        body.SetLength(0);
        writer.Write((byte)type);
        fields(writer);
        writer.Flush();
        var bytes = body.GetBuffer().AsSpan(0, (int)body.Length);
        Span<byte> header = stackalloc byte[8];
        BitConverter.TryWriteBytes(header, bytes.Length);
        BitConverter.TryWriteBytes(header[4..], Crc32.Compute(bytes));
        batch.Write(header);
        batch.Write(bytes);
    }

    /// <summary>Writes the buffered records and fsyncs; compacts when the log has grown large.</summary>
    public void Sync()
    {
        if (batch.Length == 0) return;
        file.Seek(0, SeekOrigin.End);
        file.Write(batch.GetBuffer(), 0, (int)batch.Length);
        file.Flush(flushToDisk: true);
        batch.SetLength(0);
        if (file.Length > CompactionThreshold && broker is not null) Compact();
    }

    // ------------------------------------------------------------------ recovery

    private sealed class Queued
    {
        public long StoreId;
        public byte Flags;
        public List<int>? SubscriptionIds;
        public ushort PacketId;
        public bool IsReleased;
    }

    private sealed class SessionImage
    {
        public uint Expiry;
        public readonly Dictionary<string, (MqttSubscription Options, int Id)> Subscriptions = new(StringComparer.Ordinal);
        public readonly List<Queued> Queue = [];
        public readonly HashSet<ushort> Qos2 = [];
    }

    /// <summary>Replays the log into <paramref name="target"/>, cuts a torn tail, and rewrites the log compactly.</summary>
    public void Recover(MqttBroker target, long now)
    {
        broker = target;
        var sessions = new Dictionary<string, SessionImage>(StringComparer.Ordinal);
        var messages = new Dictionary<long, MqttBrokerMessage>();
        var retained = new Dictionary<string, long>(StringComparer.Ordinal);
        long end = Replay(sessions, messages, retained, now);
        if (end < file.Length) file.SetLength(end);
        foreach (var (clientId, image) in sessions)
        {
            var session = target.RecoverSession(clientId, image.Expiry, image.Expiry == uint.MaxValue ? long.MaxValue : now + image.Expiry * 1000L);
            foreach (var (filter, (options, id)) in image.Subscriptions) target.RecoverSubscription(session, filter, options, id);
            foreach (var q in image.Queue)
            {
                if (!messages.TryGetValue(q.StoreId, out var message)) continue;
                var outgoing = new MqttOutgoing(message, (MqttQualityOfService)(q.Flags & 3), (q.Flags & 4) != 0, q.SubscriptionIds) { PacketId = q.PacketId };
                if (q.PacketId == 0) { session.Queued.Enqueue(outgoing); continue; }
                outgoing.Step = q.IsReleased ? MqttOutgoing.Stage.AwaitingPubComp
                    : outgoing.QualityOfService == MqttQualityOfService.AtLeastOnce ? MqttOutgoing.Stage.AwaitingPubAck : MqttOutgoing.Stage.AwaitingPubRec;
                session.Inflight[q.PacketId] = outgoing;
            }
            session.ReceivedQos2.UnionWith(image.Qos2);
        }
        foreach (var (_, storeId) in retained)
            if (messages.TryGetValue(storeId, out var message)) target.RecoverRetained(message);
        nextStoreId = messages.Count == 0 ? 1 : messages.Keys.Max() + 1;
        Compact();
    }

    private long Replay(Dictionary<string, SessionImage> sessions, Dictionary<long, MqttBrokerMessage> messages, Dictionary<string, long> retained, long now)
    {
        file.Seek(0, SeekOrigin.Begin);
        var bytes = new byte[file.Length];
        file.ReadExactly(bytes);
        if (bytes.Length < Magic.Length || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            if (bytes.Length > 0) throw new IOException($"{path} is not a Meerkat MQTT store (bad header)");
            return 0;
        }
        long utcNow = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        int position = Magic.Length;
        while (position + 8 <= bytes.Length)
        {
            int length = BitConverter.ToInt32(bytes, position);
            uint crc = BitConverter.ToUInt32(bytes, position + 4);
            if (length <= 0 || length > bytes.Length - position - 8) break;
            var record = bytes.AsMemory(position + 8, length);
            if (Crc32.Compute(record.Span) != crc) break;
            using var reader = new BinaryReader(new MemoryStream(bytes, position + 8, length, writable: false), Encoding.UTF8);
            Apply(reader, sessions, messages, retained, now, utcNow);
            position += 8 + length;
        }
        return position;
    }

    private static void Apply(BinaryReader r, Dictionary<string, SessionImage> sessions, Dictionary<long, MqttBrokerMessage> messages, Dictionary<string, long> retained, long now, long utcNow)
    {
        var type = (RecordType)r.ReadByte();
        switch (type)
        {
            case RecordType.SessionSaved:
            {
                string id = r.ReadString();
                uint expiry = r.ReadUInt32();
                if (!sessions.TryGetValue(id, out var image)) sessions[id] = image = new SessionImage();
                image.Expiry = expiry;
                break;
            }
            case RecordType.SessionRemoved: sessions.Remove(r.ReadString()); break;
            case RecordType.SubscriptionSaved:
            {
                var image = Session(sessions, r.ReadString());
                string filter = r.ReadString();
                byte o = r.ReadByte();
                int id = r.ReadInt32();
                if (image is not null) image.Subscriptions[filter] = (new MqttSubscription(filter, (MqttQualityOfService)(o & 3), (o & 4) != 0, (o & 8) != 0, (MqttRetainHandling)((o >> 4) & 3)), id);
                break;
            }
            case RecordType.SubscriptionRemoved:
            {
                var image = Session(sessions, r.ReadString());
                image?.Subscriptions.Remove(r.ReadString());
                break;
            }
            case RecordType.MessageSaved:
            {
                long storeId = r.ReadInt64();
                string topic = r.ReadString();
                byte[] payload = r.ReadBytes(r.ReadInt32());
                byte flags = r.ReadByte();
                long expiresUtc = r.ReadInt64();
                string publisher = r.ReadString();
                var properties = DecodeProperties(r.ReadBytes(r.ReadInt32()));
                long expiresAt = expiresUtc == 0 ? long.MaxValue : now + (expiresUtc - utcNow);
                messages[storeId] = new MqttBrokerMessage(topic, payload, (MqttQualityOfService)(flags & 3), (flags & 4) != 0, properties, publisher.Length == 0 ? null : publisher, expiresAt) { StoreId = storeId };
                break;
            }
            case RecordType.Enqueued:
            {
                var image = Session(sessions, r.ReadString());
                var q = new Queued { StoreId = r.ReadInt64(), Flags = r.ReadByte() };
                int count = r.ReadInt32();
                for (int i = 0; i < count; i++) (q.SubscriptionIds ??= []).Add(r.ReadInt32());
                image?.Queue.Add(q);
                break;
            }
            case RecordType.Sent or RecordType.Released or RecordType.Acknowledged:
            {
                var image = Session(sessions, r.ReadString());
                long storeId = r.ReadInt64();
                var q = image?.Queue.Find(x => x.StoreId == storeId);
                if (q is null) break;
                if (type == RecordType.Sent) q.PacketId = r.ReadUInt16();
                else if (type == RecordType.Released) q.IsReleased = true;
                else image!.Queue.Remove(q);
                break;
            }
            case RecordType.RetainSet: { string topic = r.ReadString(); retained[topic] = r.ReadInt64(); break; }
            case RecordType.RetainCleared: retained.Remove(r.ReadString()); break;
            case RecordType.Qos2Received or RecordType.Qos2Released:
            {
                var image = Session(sessions, r.ReadString());
                ushort id = r.ReadUInt16();
                if (type == RecordType.Qos2Received) image?.Qos2.Add(id); else image?.Qos2.Remove(id);
                break;
            }
            default:
                throw new IOException($"the MQTT store has a record of unknown type {(byte)type}");
        }
    }

    private static SessionImage? Session(Dictionary<string, SessionImage> sessions, string clientId) => sessions.GetValueOrDefault(clientId);

    // ------------------------------------------------------------------ compaction

    /// <summary>Writes the live state to a new file, fsyncs it, renames it over the log, fsyncs the directory.</summary>
    private void Compact()
    {
        var target = broker!;
        string temporary = path + ".tmp";
        batch.SetLength(0);
        batch.Write(Magic);
        var saved = new HashSet<long>();
        foreach (var message in target.RetainedMessages) SaveRetainedAgain(message, saved);
        foreach (var session in target.PersistentSessions)
        {
            Append(RecordType.SessionSaved, w => { w.Write(session.ClientId); w.Write(session.ExpiryInterval); });
            foreach (var subscription in session.Subscriptions.Values) SaveSubscription(session, subscription);
            foreach (var outgoing in session.Inflight.Values.OrderBy(o => o.PacketId).Concat(session.Queued))
            {
                SaveMessageAgain(outgoing.Message, saved);
                Enqueue(session, outgoing);
                if (outgoing.PacketId != 0) Sent(session, outgoing);
                if (outgoing.Step == MqttOutgoing.Stage.AwaitingPubComp) Release(session, outgoing);
            }
            foreach (ushort id in session.ReceivedQos2) SaveReceivedQos2(session, id, true);
        }
        using (var fresh = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            fresh.Write(batch.GetBuffer(), 0, (int)batch.Length);
            fresh.Flush(flushToDisk: true);
        }
        batch.SetLength(0);
        file.Dispose();
        File.Move(temporary, path, overwrite: true);
        SyncDirectory();
        file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
    }

    private void SaveRetainedAgain(MqttBrokerMessage message, HashSet<long> saved)
    {
        SaveMessageAgain(message, saved);
        Append(RecordType.RetainSet, w => { w.Write(message.Topic); w.Write(message.StoreId); });
    }

    /// <summary>During compaction: writes each message once, keeping its identity.</summary>
    private void SaveMessageAgain(MqttBrokerMessage message, HashSet<long> saved)
    {
        if (message.StoreId == 0) message.StoreId = nextStoreId++;
        if (saved.Add(message.StoreId)) WriteMessage(message);
    }

    private void SyncDirectory()
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            using var handle = File.OpenHandle(directory, FileMode.Open, FileAccess.Read);
            RandomAccess.FlushToDisk(handle);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Some file systems cannot sync a directory; the rename is still atomic.
        }
    }

    private static byte[] EncodeProperties(MqttProperties? properties)
    {
        if (properties is null) return [];
        int size = MqttProperties.BlockSize(properties, out int values);
        var bytes = new byte[size];
        var w = new MqttWriter(bytes);
        MqttProperties.WriteBlock(ref w, properties, values);
        return bytes;
    }

    private static MqttProperties? DecodeProperties(byte[] bytes)
    {
        if (bytes.Length == 0) return null;
        var r = new MqttReader(bytes);
        return MqttProperties.Read(ref r, MqttPacketType.Publish);
    }

    public void Dispose()
    {
        Sync();
        file.Dispose();
        writer.Dispose();
    }
}
