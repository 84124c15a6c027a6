// How this file works
// -------------------
// The user names and passwords a Basic authentication filter accepts. Passwords are kept only as
// SHA-256 of "user:password" (UTF-8), and a presented pair is checked by hashing it the same way
// and comparing the digest with every entry in fixed time, without stopping at a match: the time
// taken says nothing about which byte differed, how long the password is, or which user exists.
// A file holds one "user:password" per line (the user-id cannot contain ':', RFC 7617 §2; the
// password may); blank lines and lines starting with '#' are skipped.
using System.Security.Cryptography;
using System.Text;

namespace Meerkat.Http.Routing;

/// <summary>The accepted user/password pairs of <see cref="BasicAuthentication"/>. Immutable and thread-safe.</summary>
public sealed class BasicCredentials
{
    private const int DigestLength = 32;
    private const int StackLimit = 512;

    private readonly string[] users;
    private readonly byte[] digests;

    private BasicCredentials(IReadOnlyList<(string User, string Password)> pairs)
    {
        if (pairs.Count == 0) throw new ArgumentException("at least one user is needed", nameof(pairs));
        users = new string[pairs.Count];
        digests = new byte[pairs.Count * DigestLength];
        for (int i = 0; i < pairs.Count; i++)
        {
            var (user, password) = pairs[i];
            ArgumentNullException.ThrowIfNull(user);
            ArgumentNullException.ThrowIfNull(password);
            if (user.Contains(':')) throw new ArgumentException($"user name '{user}' contains ':' (RFC 7617 §2)", nameof(pairs));
            if ((user + password).AsSpan().IndexOfAny('\r', '\n') >= 0) throw new ArgumentException($"the credentials of '{user}' contain a line break", nameof(pairs));
            users[i] = user;
            SHA256.HashData(Encoding.UTF8.GetBytes(user + ":" + password), digests.AsSpan(i * DigestLength, DigestLength));
        }
    }

    /// <summary>How many users are accepted.</summary>
    public int Count => users.Length;

    /// <summary>Accepts the given pairs.</summary>
    /// <exception cref="ArgumentException">None given, or a user name contains ':' or a line break.</exception>
    public static BasicCredentials Of(params (string User, string Password)[] pairs) => new(pairs);

    /// <summary>Accepts one pair written <c>user:password</c> (as on a command line).</summary>
    /// <exception cref="FormatException">There is no ':' or the user name is empty.</exception>
    public static BasicCredentials Parse(string userColonPassword)
    {
        ArgumentNullException.ThrowIfNull(userColonPassword);
        return new([Split(userColonPassword, "the credentials")]);
    }

    /// <summary>Reads a file of <c>user:password</c> lines (UTF-8; blank lines and <c>#</c> comments skipped).</summary>
    /// <exception cref="FormatException">A line is not <c>user:password</c>; the message names the file and line.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static BasicCredentials FromFile(string path)
    {
        var pairs = new List<(string, string)>();
        int number = 0;
        foreach (var line in File.ReadLines(path, Encoding.UTF8))
        {
            number++;
            if (line.Length == 0 || line.StartsWith('#') || string.IsNullOrWhiteSpace(line)) continue;
            pairs.Add(Split(line, $"{path} line {number}"));
        }
        if (pairs.Count == 0) throw new FormatException($"{path} has no 'user:password' line");
        return new(pairs);
    }

    /// <summary>The user whose password this is, or null. <paramref name="userPass"/> is the decoded
    /// <c>user-id ":" password</c> of RFC 7617 §2. Does not allocate.</summary>
    internal string? Verify(ReadOnlySpan<byte> userPass)
    {
        Span<byte> digest = stackalloc byte[DigestLength];
        SHA256.HashData(userPass, digest);
        int found = -1;
        for (int i = 0; i < users.Length; i++)
        {
            bool equal = CryptographicOperations.FixedTimeEquals(digest, digests.AsSpan(i * DigestLength, DigestLength));
            found = equal ? i : found;
        }
        return found < 0 ? null : users[found];
    }

    /// <summary>Decodes base64 credentials and verifies them; null when malformed or wrong.</summary>
    internal string? VerifyBase64(ReadOnlySpan<byte> base64, out bool malformed)
    {
        malformed = false;
        int max = System.Buffers.Text.Base64.GetMaxDecodedFromUtf8Length(base64.Length);
        byte[]? rented = max > StackLimit ? System.Buffers.ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> decoded = rented ?? stackalloc byte[StackLimit];
        try
        {
            var status = System.Buffers.Text.Base64.DecodeFromUtf8(base64, decoded, out _, out int written);
            if (status != System.Buffers.OperationStatus.Done || decoded[..written].IndexOf((byte)':') < 0)
            {
                malformed = true;
                return null;
            }
            return Verify(decoded[..written]);
        }
        finally
        {
            if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented, clearArray: true);
        }
    }

    private static (string, string) Split(string line, string where)
    {
        int colon = line.IndexOf(':');
        if (colon <= 0) throw new FormatException($"{where}: expected 'user:password'");
        return (line[..colon], line[(colon + 1)..]);
    }
}
