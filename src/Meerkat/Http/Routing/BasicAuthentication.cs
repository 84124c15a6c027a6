using System.Text;

namespace Meerkat.Http.Routing;

/// <summary>
/// HTTP Basic authentication (RFC 7617) as a <see cref="RouteFilter"/>: the request passes with
/// valid credentials (the user-id goes to <see cref="RouteContext.User"/>); a missing, malformed or
/// wrong <c>Authorization: Basic</c> header gets 401 with
/// <c>WWW-Authenticate: Basic realm="...", charset="UTF-8"</c> and a body that says which.
/// Use it over HTTPS: Basic credentials are only base64.
/// </summary>
public static class BasicAuthentication
{
    /// <summary>The realm used when none is given.</summary>
    public const string DefaultRealm = "meerkat";

    /// <summary>A filter accepting <paramref name="credentials"/> in <paramref name="realm"/>.</summary>
    public static RouteFilter Filter(BasicCredentials credentials, string realm = DefaultRealm)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(realm);
        string challenge = $"Basic realm={AuthorizationHeader.Quote(realm)}, charset=\"UTF-8\"";
        HttpResponseHeaderExtensions.Validate("WWW-Authenticate", challenge);
        var missing = Encoding.UTF8.GetBytes("This resource needs a user name and password (HTTP Basic authentication).\n");
        var malformed = Encoding.UTF8.GetBytes("The Authorization header does not hold valid Basic credentials (base64 of user:password).\n");
        var wrong = Encoding.UTF8.GetBytes("The user name or password is wrong.\n");
        return (c, request, route) =>
        {
            byte[] refusal;
            switch (AuthorizationHeader.Read(request, "Basic"u8, out var encoded))
            {
                case AuthorizationKind.Present:
                    if (credentials.VerifyBase64(encoded, out bool isMalformed) is { } user)
                    {
                        route.User = user;
                        return true;
                    }
                    refusal = isMalformed ? malformed : wrong;
                    break;
                case AuthorizationKind.Malformed:
                    refusal = malformed;
                    break;
                default:
                    refusal = missing;
                    break;
            }
            c.Reply(401, refusal, "text/plain; charset=utf-8", ("WWW-Authenticate", challenge));
            return false;
        };
    }
}
