namespace Meerkat.Mqtt;

/// <summary>A 5.0 User Property (§3.3.2.3.7): a name and value pair; order and duplicates are kept.</summary>
/// <param name="Name">The name (UTF-8 string).</param>
/// <param name="Value">The value (UTF-8 string).</param>
public readonly record struct MqttUserProperty(string Name, string Value);
