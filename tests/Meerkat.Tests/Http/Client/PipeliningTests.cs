using System.Net.Sockets;
using Meerkat.Http.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Meerkat.Tests.Http.Client;

/// <summary>Opt-in HTTP/1.1 pipelining in <see cref="MeerkatHttpClient"/> (MaxPipelineDepth).</summary>
public sealed class PipeliningTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static string PathOf(string head) => head.Split(' ')[1];

    private static Task AnswerAsync(Socket socket, string head, bool close = false)
    {
        string path = PathOf(head);
        return RawServer.SendAsync(socket, $"HTTP/1.1 200 OK\r\nContent-Length: {path.Length}\r\n{(close ? "Connection: close\r\n" : "")}\r\n{path}");
    }

    private static MeerkatHttpClient NewClient(int depth) =>
        MeerkatHttpClientTests.NewClient(o => { o.MaxConnectionsPerOrigin = 1; o.MaxPipelineDepth = depth; });

    [Fact]
    public async Task Off_by_default_one_request_at_a_time_per_connection()
    {
        int mostOutstanding = 0;
        using var server = new RawServer(async (socket, _) =>
        {
            while (true)
            {
                string head = await RawServer.ReadHeadAsync(socket);
                if (head.Length == 0) return;
                // Anything else already sent would be readable now: the client pipelined.
                mostOutstanding = Math.Max(mostOutstanding, socket.Available > 0 ? 2 : 1);
                await AnswerAsync(socket, head);
            }
        });
        await using var client = MeerkatHttpClientTests.NewClient(o => o.MaxConnectionsPerOrigin = 1);
        var bodies = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => client.GetStringAsync($"{server.Url}/r{i}")));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"/r{i}"), bodies);
        Assert.Equal(1, mostOutstanding);
        Assert.Equal(0, client.RequestsPipelined);
        Assert.Equal(1, client.ConnectionsOpened);
    }

    [Fact]
    public async Task Safe_requests_queue_on_a_busy_connection_and_get_their_own_responses_in_order()
    {
        var fourArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var server = new RawServer(async (socket, _) =>
        {
            await AnswerAsync(socket, await RawServer.ReadHeadAsync(socket)); // the first request, alone
            var heads = new List<string>();
            for (int i = 0; i < 4; i++) heads.Add(await RawServer.ReadHeadAsync(socket)); // all four before any answer
            fourArrived.SetResult();
            foreach (var head in heads) await AnswerAsync(socket, head);
            while (await RawServer.ReadHeadAsync(socket) is { Length: > 0 } more) await AnswerAsync(socket, more);
        });
        await using var client = NewClient(depth: 4);
        Assert.Equal("/first", await client.GetStringAsync(server.Url + "/first"));
        var calls = Enumerable.Range(0, 4).Select(i => client.GetStringAsync($"{server.Url}/p{i}")).ToArray();
        await fourArrived.Task.WaitAsync(Deadline);
        Assert.Equal(["/p0", "/p1", "/p2", "/p3"], await Task.WhenAll(calls).WaitAsync(Deadline));
        Assert.Equal(3, client.RequestsPipelined);
        Assert.Equal(1, client.ConnectionsOpened);
    }

    [Fact]
    public async Task Nothing_is_pipelined_behind_a_request_with_a_body()
    {
        var postArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var server = new RawServer(async (socket, _) =>
        {
            await AnswerAsync(socket, await RawServer.ReadHeadAsync(socket));
            string post = await RawServer.ReadHeadAsync(socket);
            var body = new byte[4];
            for (int got = 0; got < 4;) got += await socket.ReceiveAsync(body.AsMemory(got));
            postArrived.SetResult();
            await answer.Task;
            await AnswerAsync(socket, post);
            while (await RawServer.ReadHeadAsync(socket) is { Length: > 0 } head) await AnswerAsync(socket, head);
        });
        await using var client = NewClient(depth: 4);
        await client.GetStringAsync(server.Url + "/first");
        var post = client.SendAsync(new HttpClientRequest("POST", server.Url + "/post") { Content = "data"u8.ToArray() });
        await postArrived.Task.WaitAsync(Deadline);
        var gets = Enumerable.Range(0, 3).Select(i => client.GetStringAsync($"{server.Url}/g{i}")).ToArray();
        // The loop runs posted work in order: once this runs, the three GETs have been placed.
        var placed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Manager.Post(placed.SetResult);
        await placed.Task.WaitAsync(Deadline);
        Assert.Equal(0, client.RequestsPipelined);
        answer.SetResult();
        using (var response = await post.WaitAsync(Deadline)) Assert.Equal("/post", await response.ReadAsStringAsync());
        Assert.Equal(["/g0", "/g1", "/g2"], await Task.WhenAll(gets).WaitAsync(Deadline));
        // Once the POST is answered, the waiting GETs go out together, behind the first of them.
        Assert.Equal(2, client.RequestsPipelined);
    }

    [Fact]
    public async Task Requests_left_unanswered_when_the_server_closes_are_sent_again()
    {
        using var server = new RawServer(async (socket, index) =>
        {
            if (index == 0)
            {
                await AnswerAsync(socket, await RawServer.ReadHeadAsync(socket));
                var heads = new List<string>();
                for (int i = 0; i < 3; i++) heads.Add(await RawServer.ReadHeadAsync(socket));
                await AnswerAsync(socket, heads[0], close: true); // and the other two are never answered
                socket.Shutdown(SocketShutdown.Both);
                return;
            }
            while (await RawServer.ReadHeadAsync(socket) is { Length: > 0 } head) await AnswerAsync(socket, head);
        });
        await using var client = NewClient(depth: 3);
        await client.GetStringAsync(server.Url + "/first");
        var bodies = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => client.GetStringAsync($"{server.Url}/p{i}"))).WaitAsync(Deadline);
        Assert.Equal(["/p0", "/p1", "/p2"], bodies);
        Assert.True(client.ConnectionsOpened >= 2);
    }

    [Fact]
    public async Task A_request_cancelled_while_queued_fails_alone_and_the_ones_behind_it_are_sent_again()
    {
        var threeArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seenLater = new List<string>();
        using var server = new RawServer(async (socket, index) =>
        {
            if (index == 0)
            {
                await AnswerAsync(socket, await RawServer.ReadHeadAsync(socket));
                var heads = new List<string>();
                for (int i = 0; i < 3; i++) heads.Add(await RawServer.ReadHeadAsync(socket));
                threeArrived.SetResult();
                await answer.Task;
                foreach (var head in heads) await AnswerAsync(socket, head);
                await RawServer.ReadHeadAsync(socket); // until the client closes
                return;
            }
            while (await RawServer.ReadHeadAsync(socket) is { Length: > 0 } head)
            {
                lock (seenLater) seenLater.Add(PathOf(head));
                await AnswerAsync(socket, head);
            }
        });
        await using var client = NewClient(depth: 3);
        await client.GetStringAsync(server.Url + "/first");
        using var cancel = new CancellationTokenSource();
        var a = client.GetStringAsync(server.Url + "/a");
        var b = client.SendAsync(new HttpClientRequest("GET", server.Url + "/b"), cancel.Token);
        var c = client.GetStringAsync(server.Url + "/c");
        await threeArrived.Task.WaitAsync(Deadline);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b.WaitAsync(Deadline));
        answer.SetResult();
        Assert.Equal("/a", await a.WaitAsync(Deadline));
        Assert.Equal("/c", await c.WaitAsync(Deadline));
        lock (seenLater) Assert.Equal(["/c"], seenLater);
    }

    [Fact]
    public async Task Kestrel_answers_200_pipelined_requests_from_32_tasks_over_two_connections()
    {
        await using var server = await Kestrel.StartAsync(app => app.MapGet("/echo/{n:int}", (int n) => $"echo {n}"));
        await using var client = MeerkatHttpClientTests.NewClient(o => { o.MaxConnectionsPerOrigin = 2; o.MaxPipelineDepth = 8; });
        await client.GetStringAsync(server.Url + "/echo/-1");
        int next = -1;
        var results = new string[200];
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            for (int i; (i = Interlocked.Increment(ref next)) < results.Length;)
                results[i] = await client.GetStringAsync($"{server.Url}/echo/{i}");
        }))).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"echo {i}"), results);
        Assert.Equal(2, client.ConnectionsOpened);
        Assert.Equal(2, server.ConnectionCount);
        Assert.True(client.RequestsPipelined > 0, "some requests went behind others");
    }
}
