namespace Berth.Init;

/// <summary>The boot cannot go on; the message names what is missing. PID 1 drops to the emergency shell.</summary>
public sealed class BootFailureException(string message) : Exception(message);

/// <summary>The operator asked for the emergency shell (berth.emergency=...).</summary>
public sealed class EmergencyRequestedException(string message) : Exception(message);
