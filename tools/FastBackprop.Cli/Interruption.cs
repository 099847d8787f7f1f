using System.Runtime.InteropServices;

namespace FastBackprop.Cli;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM (kill, docker stop, systemd) as one cancellation token, handed to every command. The
/// first signal only cancels the token: the command stops at its next check (training saves what it should, a partial
/// output file is deleted) and the process exits with <see cref="ExitCode"/>, 130 after SIGINT and 143 after SIGTERM
/// (128 + the signal's number, as a shell reports a process the signal ended). A second signal ends the process at once.
/// </summary>
internal sealed class Interruption : IDisposable
{
    /// <summary>The exit code after SIGTERM (128 + 15).</summary>
    public const int ExitTerminated = 143;

    private readonly CancellationTokenSource source = new();
    private readonly List<PosixSignalRegistration> registrations = [];
    private int requested;

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>The exit code of an interrupted command: <see cref="Program.ExitInterrupted"/> unless SIGTERM came first.</summary>
    public int ExitCode { get; private set; } = Program.ExitInterrupted;

    /// <summary>What interrupted the command, for the error line.</summary>
    public string Reason { get; private set; } = "interrupted";

    /// <summary>An interruption that listens to the process's SIGINT and SIGTERM.</summary>
    public static Interruption FromSignals()
    {
        var interruption = new Interruption();
        foreach (PosixSignal signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
            interruption.registrations.Add(PosixSignalRegistration.Create(signal, context => context.Cancel = interruption.Request(context.Signal)));
        return interruption;
    }

    /// <summary>Cancels the token for <paramref name="signal"/> if no signal came before; returns whether it did (false
    /// lets the runtime's default handling end the process).</summary>
    public bool Request(PosixSignal signal)
    {
        if (Interlocked.Exchange(ref requested, 1) != 0)
            return false;
        (ExitCode, Reason) = signal == PosixSignal.SIGTERM
            ? (ExitTerminated, "stopped by SIGTERM")
            : (Program.ExitInterrupted, "interrupted (Ctrl+C)");
        source.Cancel();
        return true;
    }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in registrations)
            registration.Dispose();
        source.Dispose();
    }
}
