// A server with authentication and CORS: a public page, an API for a web app on another origin
// (CORS with credentials), Basic authentication for people and a bearer token for machines.
// Refusals are the filters' own: 401 with WWW-Authenticate, 403, and preflights answered per route.
// Usage: dotnet run --project examples/AuthAndCors [-- http://127.0.0.1:8080]
//   curl -i localhost:8080/                                     public
//   curl -i -u ann:wonderland localhost:8080/api/me            Basic: 200, without -u: 401
//   curl -i -H 'Authorization: Bearer reports-reader' localhost:8080/reports/2025   bearer: 200
//   curl -i -X OPTIONS localhost:8080/api/me -H 'Origin: http://localhost:5173' -H 'Access-Control-Request-Method: GET'
using Meerkat;
using Meerkat.Http;
using Meerkat.Http.Routing;

string url = args.Length > 0 ? args[0] : "http://127.0.0.1:8080";
var router = new Router();

// Security headers on every answer, refusals included.
router.WithResponseHeaders(("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"));

router.MapGet("/", (c, e, route) => c.Reply(200, "Public page. Try /api/me (Basic: ann / wonderland) or /reports/2025 (Bearer reports-reader).\n"));

// People: Basic credentials (RFC 7617), from code here; BasicCredentials.FromFile reads user:password lines.
// The web app on http://localhost:5173 may call the API with its cookies/credentials.
var api = router.MapGroup("/api")
    .WithCors(new CorsPolicy("http://localhost:5173") { AllowCredentials = true, ExposedHeaders = ["X-Request-Id"] })
    .RequireBasicAuth(BasicCredentials.Of(("ann", "wonderland"), ("bob", "builder")), realm: "example");
api.MapGet("/me", (c, e, route) => c.Reply(200, $"{{\"user\":\"{route.User}\"}}", "application/json", ("X-Request-Id", c.Id.ToString())));
api.MapPost("/notes", (c, e, route) => c.Reply(201, $"note of {e.Request!.Body.Length} bytes stored for {route.User}\n"))
    .WithMaxBodySize(1024); // 413 above 1 KiB

// Machines: a bearer token checked by the application (RFC 6750): unknown 401, insufficient 403.
var tokens = new Dictionary<string, string[]> { ["reports-reader"] = ["2025"], ["reports-admin"] = ["2024", "2025"] };
router.MapGet("/reports/{year}", (c, e, route) => c.Reply(200, $"report {route["year"]} for {route.User}\n"))
    .RequireBearerToken((token, route) =>
    {
        if (!tokens.TryGetValue(System.Text.Encoding.ASCII.GetString(token), out var years)) return AuthorizationResult.Unauthorized;
        route.User = System.Text.Encoding.ASCII.GetString(token);
        return years.Contains(route.GetString("year")) ? AuthorizationResult.Allowed : AuthorizationResult.Forbidden;
    }, realm: "reports");

using var manager = new Manager();
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
manager.ListenHttp(url, router.Handle);
Console.WriteLine($"Listening on {url} (Ctrl+C to stop)");
manager.Run(cts.Token);
