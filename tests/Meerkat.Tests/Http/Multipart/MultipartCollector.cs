using Meerkat.Http.Multipart;

namespace Meerkat.Tests.Http.Multipart;

/// A part as seen through the reader's events.
internal sealed record CollectedPart(string? Name, string? FileName, string ContentType, byte[] Data);

/// Feeds a body to a MultipartReader in the given pieces and records what came out.
internal sealed class MultipartCollector
{
    public List<CollectedPart> Parts { get; } = [];
    public bool Ended { get; private set; }
    public MultipartError Error { get; private set; }

    public static MultipartCollector Run(MultipartReader reader, IEnumerable<ReadOnlyMemory<byte>> pieces)
    {
        var collector = new MultipartCollector();
        var data = new MemoryStream();
        MultipartPart? current = null;
        foreach (ReadOnlyMemory<byte> piece in pieces)
        {
            ReadOnlySpan<byte> input = piece.Span;
            do
            {
                MultipartEvent e = reader.Read(input, out int consumed);
                input = input[consumed..];
                switch (e.Kind)
                {
                    case MultipartEventKind.PartBegin:
                        current = e.Part;
                        data.SetLength(0);
                        break;
                    case MultipartEventKind.PartData:
                        if (!ReferenceEquals(current, e.Part))
                        {
                            throw new InvalidOperationException("PartData for a part that did not begin");
                        }
                        data.Write(e.Data);
                        break;
                    case MultipartEventKind.PartEnd:
                        collector.Parts.Add(new CollectedPart(current!.Name, current.FileName, current.ContentType, data.ToArray()));
                        current = null;
                        break;
                    case MultipartEventKind.End:
                        collector.Ended = true;
                        break;
                    case MultipartEventKind.Error:
                        collector.Error = e.Error;
                        return collector;
                    case MultipartEventKind.NeedMoreData when !input.IsEmpty:
                        throw new InvalidOperationException("NeedMoreData with input left");
                }
            }
            while (!input.IsEmpty);
        }
        collector.Error = reader.Complete();
        return collector;
    }

    public static IEnumerable<ReadOnlyMemory<byte>> Whole(byte[] body) => [body];

    public static IEnumerable<ReadOnlyMemory<byte>> ByteByByte(byte[] body)
    {
        for (int i = 0; i < body.Length; i++)
        {
            yield return body.AsMemory(i, 1);
        }
    }

    public static IEnumerable<ReadOnlyMemory<byte>> SplitAt(byte[] body, int position) =>
        [body.AsMemory(0, position), body.AsMemory(position)];
}
