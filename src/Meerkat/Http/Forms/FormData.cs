using System.Collections;

namespace Meerkat.Http.Forms;

/// <summary>The decoded fields of a form, in the order they were sent. A name may repeat.</summary>
public sealed class FormData : IReadOnlyList<KeyValuePair<string, string>>
{
    private readonly List<KeyValuePair<string, string>> fields;

    /// <summary>An empty form.</summary>
    public FormData() => fields = [];

    internal FormData(List<KeyValuePair<string, string>> fields) => this.fields = fields;

    /// <summary>How many fields.</summary>
    public int Count => fields.Count;

    /// <summary>The field at <paramref name="index"/>.</summary>
    public KeyValuePair<string, string> this[int index] => fields[index];

    /// <summary>The first value of field <paramref name="name"/> (case-sensitive), or null.</summary>
    public string? this[string name] => fields.FirstOrDefault(f => f.Key == name) is { Key: not null } field ? field.Value : null;

    /// <summary>Every value of field <paramref name="name"/>, in order.</summary>
    public IReadOnlyList<string> GetValues(string name) => fields.Where(f => f.Key == name).Select(f => f.Value).ToList();

    /// <summary>True when a field named <paramref name="name"/> was sent.</summary>
    public bool Contains(string name) => fields.Exists(f => f.Key == name);

    internal void Add(string name, string value) => fields.Add(new(name, value));

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => fields.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
