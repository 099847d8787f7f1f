using FastBackprop.Serving;

// dotnet run -c Release --project samples/FastBackprop.Serving -- --model out/digits.fbpm --urls http://127.0.0.1:5080
// Ctrl+C or SIGTERM stops it gracefully: health turns 503, requests in flight finish, then the process exits.
try
{
    WebApplication app = ServingApp.Create(args);
    await app.RunAsync();
    return 0;
}
catch (ServingConfigurationException e)
{
    // A missing or unreadable model is a one-line error, not a stack trace (exit codes as the CLI's: 2 usage, 1 data).
    Console.Error.WriteLine($"fastbackprop-serving: {e.Message}");
    return e.ExitCode;
}
