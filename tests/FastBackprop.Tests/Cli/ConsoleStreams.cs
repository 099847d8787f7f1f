namespace FastBackprop.Tests.Cli;

/// <summary>Tests that replace <see cref="Console.Error"/> or <see cref="Console.Out"/> (process-wide) to read what the
/// program printed: run one at a time, or one test reads another's lines.</summary>
[CollectionDefinition(nameof(ConsoleStreams), DisableParallelization = true)]
public sealed class ConsoleStreams;
