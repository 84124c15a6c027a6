using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Meerkat.Http;
using Meerkat.Http.Forms;
using Meerkat.Http.Routing;
using Meerkat.Tests.Core;
using Meerkat.Tests.Http.Routing;

namespace Meerkat.Tests.Http.Forms;

public sealed class UploadTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("meerkat-upload-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private RoutedServer Start(UploadOptions? options = null, PollerBackend backend = PollerBackend.Auto)
    {
        var router = new Router();
        router.MapUpload("/upload", options ?? new UploadOptions { Directory = directory }, (c, request, route, upload) =>
        {
            var lines = upload.Files.Select(f => $"{f.FieldName}:{f.FileName}->{f.SavedName}:{f.Length}:{f.ContentType}")
                .Concat(upload.Fields.Select(f => $"{f.Key}={f.Value}"));
            c.Reply(200, string.Join("\n", lines));
        });
        return new RoutedServer(router, backend: backend);
    }

    private static MultipartFormDataContent Form(params (string Field, string? FileName, byte[] Data)[] parts)
    {
        var form = new MultipartFormDataContent("boundary-xyz");
        foreach (var (field, fileName, data) in parts)
        {
            var content = new ByteArrayContent(data);
            if (fileName is null) form.Add(content, field);
            else
            {
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                form.Add(content, field, fileName);
            }
        }
        return form;
    }

    [Theory, MemberData(nameof(Loop.Backends), MemberType = typeof(Loop))]
    public void Files_are_streamed_to_disk_under_sanitized_unique_names_with_the_fields_beside_them(PollerBackend backend)
    {
        using var server = Start(backend: backend);
        var big = new byte[3_000_001];
        new Random(3).NextBytes(big);
        File.WriteAllText(Path.Combine(directory, "notes.txt"), "already here");
        var response = server.Send(HttpMethod.Post, "/upload", Form(
            ("title", null, Encoding.UTF8.GetBytes("Holiday ☀")),
            ("photo", "big.bin", big),
            ("doc", "notes.txt", "new notes"u8.ToArray()),
            ("evil", "../../etc/passwd", "x"u8.ToArray())));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lines = server.Text(response).Split('\n');
        Assert.Equal([
            "photo:big.bin->big.bin:3000001:application/octet-stream",
            "doc:notes.txt->notes (1).txt:9:application/octet-stream",
            "evil:../../etc/passwd->passwd:1:application/octet-stream",
            "title=Holiday ☀"], lines);
        Assert.Equal(big, File.ReadAllBytes(Path.Combine(directory, "big.bin")));
        Assert.Equal("already here", File.ReadAllText(Path.Combine(directory, "notes.txt")));
        Assert.Equal("new notes", File.ReadAllText(Path.Combine(directory, "notes (1).txt")));
        Assert.True(File.Exists(Path.Combine(directory, "passwd")));
    }

    [Fact]
    public void Uploads_over_a_limit_are_413_and_leave_no_file_behind()
    {
        using var server = Start(new UploadOptions { Directory = directory, MaxFileSize = 1000, MaxFiles = 2, MaxFieldLength = 10 });
        var tooBig = server.Send(HttpMethod.Post, "/upload", Form(("a", "small.txt", new byte[10]), ("b", "large.bin", new byte[1001])));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        Assert.Contains("'large.bin' is larger than 1000 bytes", server.Text(tooBig));

        var tooMany = server.Send(HttpMethod.Post, "/upload", Form(("a", "1.txt", [1]), ("b", "2.txt", [2]), ("c", "3.txt", [3])));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooMany.StatusCode);
        Assert.Contains("more than 2 files", server.Text(tooMany));

        var longField = server.Send(HttpMethod.Post, "/upload", Form(("note", null, new byte[11])));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, longField.StatusCode);
        Assert.Empty(Directory.GetFiles(directory));
    }

    [Fact]
    public void A_body_that_is_not_multipart_is_415_and_a_malformed_or_truncated_one_is_400()
    {
        using var server = Start();
        var json = server.Send(HttpMethod.Post, "/upload", new StringContent("{}", null, "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);

        var noBoundary = server.Send(HttpMethod.Post, "/upload", new StringContent("x", null, "multipart/form-data"));
        Assert.Equal(HttpStatusCode.BadRequest, noBoundary.StatusCode);
        Assert.Contains("MissingBoundary", server.Text(noBoundary));

        const string Truncated = "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"cut.txt\"\r\n\r\nhalf a fi";
        string answer = server.Raw(
            $"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {Truncated.Length}\r\nConnection: close\r\n\r\n{Truncated}");
        Assert.StartsWith("HTTP/1.1 400 ", answer);
        Assert.Contains("Truncated", answer);
        Assert.Empty(Directory.GetFiles(directory));
    }

    [Fact]
    public void An_upload_cut_by_the_client_deletes_its_partial_file()
    {
        using var server = Start();
        using var socket = Server.RawClient.Connect(server.Port);
        socket.Send(Encoding.ASCII.GetBytes(
            "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n" +
            "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"partial.bin\"\r\n\r\n" + new string('x', 5000)));
        server.Manager.Until(() => File.Exists(Path.Combine(directory, "partial.bin")) && new FileInfo(Path.Combine(directory, "partial.bin")).Length > 0);
        socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
        socket.Close();
        server.Manager.Until(() => !File.Exists(Path.Combine(directory, "partial.bin")), what: "the partial upload to be deleted");
    }

    [Fact]
    public void Curl_uploads_files_with_dash_F()
    {
        if (Peers.Find("curl") is null) Peers.SkipOrFail("curl");
        string source = Path.Combine(directory, "source");
        Directory.CreateDirectory(source);
        File.WriteAllBytes(Path.Combine(source, "report.pdf"), new byte[70_000]);
        var target = Path.Combine(directory, "target");
        using var server = Start(new UploadOptions { Directory = target });
        string output = server.Manager.Until(Peers.RunAsync("curl",
            $"-s -F name=curl -F \"file=@{Path.Combine(source, "report.pdf")};type=application/pdf\" http://127.0.0.1:{server.Port}/upload"));
        Assert.Equal("file:report.pdf->report.pdf:70000:application/pdf\nname=curl", output);
        Assert.Equal(70_000, new FileInfo(Path.Combine(target, "report.pdf")).Length);
    }

    [Theory]
    [InlineData("photo.jpg", "photo.jpg")]
    [InlineData("../../etc/passwd", "passwd")]
    [InlineData("C:\\Users\\ann\\My Files\\cv.docx", "cv.docx")]
    [InlineData("..", "upload")]
    [InlineData("", "upload")]
    [InlineData(null, "upload")]
    [InlineData(".htaccess", "htaccess")]
    [InlineData("a<b>c:d\"e|f?g*h.txt", "a_b_c_d_e_f_g_h.txt")]
    [InlineData("tab\there\u0000.txt", "tab_here_.txt")]
    [InlineData("CON.txt", "_CON.txt")]
    [InlineData("nul", "_nul")]
    [InlineData("report. ", "report")]
    [InlineData("日本語.txt", "日本語.txt")]
    public void Client_file_names_become_plain_safe_names(string? name, string expected) =>
        Assert.Equal(expected, UploadFileName.Sanitize(name));

    [Fact]
    public void Long_names_are_cut_to_200_bytes_keeping_the_extension()
    {
        string name = UploadFileName.Sanitize(new string('é', 300) + ".tar.gz");
        Assert.EndsWith(".gz", name);
        Assert.True(Encoding.UTF8.GetByteCount(name) <= 200);
    }
}
