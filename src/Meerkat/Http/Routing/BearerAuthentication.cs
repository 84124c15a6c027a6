// How this file works
// -------------------
// Bearer tokens (RFC 6750) checked by the application: the filter finds the token in
// "Authorization: Bearer <token68>" and asks the check. The answers follow RFC 6750 §3:
//   no token                     401, WWW-Authenticate: Bearer realm="..."
//   a malformed header           400, error="invalid_request"
//   the check says Unauthorized  401, error="invalid_token"
//   the check says Forbidden     403, error="insufficient_scope"
using System.Text;

namespace Meerkat.Http.Routing;

/// <summary>What a <see cref="BearerTokenCheck"/> decided.</summary>
public enum AuthorizationResult
{
    /// <summary>The token is valid and grants access: the request goes on.</summary>
    Allowed,

    /// <summary>The token is unknown, expired or revoked: 401.</summary>
    Unauthorized,

    /// <summary>The token is valid but does not grant this: 403.</summary>
    Forbidden,
}

/// <summary>Decides whether a bearer token grants the request; runs on the loop thread, so keep it quick
/// (look the token up; do not call out). It may set <see cref="RouteContext.User"/>.</summary>
/// <param name="token">The token as sent (a token68); valid only during the call.</param>
/// <param name="route">The match: template, captures, method via the request.</param>
public delegate AuthorizationResult BearerTokenCheck(ReadOnlySpan<byte> token, RouteContext route);

/// <summary>Bearer-token authentication (RFC 6750) as a <see cref="RouteFilter"/> around an application check.</summary>
public static class BearerAuthentication
{
    /// <summary>A filter that lets a request through when <paramref name="check"/> allows its token.</summary>
    public static RouteFilter Filter(BearerTokenCheck check, string realm = BasicAuthentication.DefaultRealm)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(realm);
        string quoted = AuthorizationHeader.Quote(realm);
        string missing = $"Bearer realm={quoted}";
        string invalid = $"Bearer realm={quoted}, error=\"invalid_token\"";
        string malformed = $"Bearer realm={quoted}, error=\"invalid_request\"";
        string forbidden = $"Bearer realm={quoted}, error=\"insufficient_scope\"";
        HttpResponseHeaderExtensions.Validate("WWW-Authenticate", missing);
        return (c, request, route) =>
        {
            switch (AuthorizationHeader.Read(request, "Bearer"u8, out var token))
            {
                case AuthorizationKind.Missing:
                    Refuse(c, 401, missing, "This resource needs a bearer token.\n");
                    return false;
                case AuthorizationKind.Malformed:
                    Refuse(c, 400, malformed, "The Authorization header does not hold a valid bearer token.\n");
                    return false;
            }
            switch (check(token, route))
            {
                case AuthorizationResult.Allowed:
                    return true;
                case AuthorizationResult.Forbidden:
                    Refuse(c, 403, forbidden, "The token does not grant access to this resource.\n");
                    return false;
                default:
                    Refuse(c, 401, invalid, "The bearer token is not valid.\n");
                    return false;
            }
        };
    }

    private static void Refuse(Connection c, int status, string challenge, string message) =>
        c.Reply(status, Encoding.UTF8.GetBytes(message), "text/plain; charset=utf-8", ("WWW-Authenticate", challenge));
}
