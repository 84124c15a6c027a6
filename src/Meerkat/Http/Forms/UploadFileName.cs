// How this file works
// -------------------
// A client's file name is untrusted text: it may carry a path ("../../etc/passwd",
// "C:\Users\x\a.txt"), control characters, names the OS treats specially, or be empty. The
// sanitized name is what is left after:
//   1. keeping only the last path segment, split on both "/" and "\" (browsers on Windows used
//      to send whole paths);
//   2. replacing characters that are invalid in file names anywhere (control characters and
//      <>:"/\|?*) with "_";
//   3. trimming dots and spaces at both ends (no dotfiles, no "..", nothing Windows would strip);
//   4. prefixing Windows device names (CON, NUL, COM1, LPT1...) with "_";
//   5. cutting to 200 UTF-8 bytes, keeping the extension;
//   6. "upload" when nothing is left.
// The result is one plain file name, safe to join to the upload directory on any platform.
using System.Text;

namespace Meerkat.Http.Forms;

/// <summary>Turns a client-supplied file name into a safe one.</summary>
public static class UploadFileName
{
    private const int MaxBytes = 200;
    private const string Fallback = "upload";

    private static readonly string[] DeviceNames =
        ["CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
         "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"];

    /// <summary>A plain file name derived from <paramref name="name"/> (see the rules in the file header).</summary>
    public static string Sanitize(string? name)
    {
        if (string.IsNullOrEmpty(name)) return Fallback;
        int slash = name.LastIndexOfAny(['/', '\\']);
        var text = new StringBuilder(name[(slash + 1)..]);
        for (int i = 0; i < text.Length; i++)
            if (char.IsControl(text[i]) || "<>:\"/\\|?*".Contains(text[i]) || char.IsSurrogate(text[i]) && !IsPair(text, i)) text[i] = '_';
        string result = text.ToString().Trim(' ', '.');
        if (result.Length == 0) return Fallback;
        string stem = result.Split('.')[0];
        if (DeviceNames.Any(d => d.Equals(stem.TrimEnd(' '), StringComparison.OrdinalIgnoreCase))) result = "_" + result;
        return Truncate(result);
    }

    private static bool IsPair(StringBuilder text, int i) =>
        char.IsHighSurrogate(text[i]) ? i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) : i > 0 && char.IsHighSurrogate(text[i - 1]);

    private static string Truncate(string name)
    {
        if (Encoding.UTF8.GetByteCount(name) <= MaxBytes) return name;
        string extension = Path.GetExtension(name);
        if (Encoding.UTF8.GetByteCount(extension) > MaxBytes / 4) extension = "";
        string stem = name[..^extension.Length];
        while (Encoding.UTF8.GetByteCount(stem) + Encoding.UTF8.GetByteCount(extension) > MaxBytes)
            stem = stem[..^(char.IsLowSurrogate(stem[^1]) && stem.Length > 1 ? 2 : 1)];
        return stem.TrimEnd(' ', '.') + extension;
    }
}
