using System.CommandLine;
using FastBackprop.Cli;

namespace FastBackprop.Tests.Cli;

/// <summary>
/// The command line on System.CommandLine: help generated from each option's one definition, completion through the
/// <c>[suggest]</c> directive (also for a command line without a command, which is train's), and parse errors as one
/// line on stderr with exit code 2, with System.CommandLine's suggestions.
/// </summary>
[Collection(nameof(ConsoleStreams))]
public sealed class CommandLineTests
{
    private static (int Code, string Output, string Errors) Run(params string[] args) => ConsoleStreams.RunProgram(args);

    [Fact]
    public void HelpListsEveryOptionFromItsDefinition()
    {
        foreach (CliCommand command in FastBackprop.Cli.CommandLine.Commands)
        {
            (int code, string help, string errors) = Run(command.Name, "--help");
            Assert.Equal((0, ""), (code, errors));
            Assert.StartsWith($"fastbackprop {command.Name} - {command.Description}", help);
            Assert.Equal(help, Run("help", command.Name).Output);
            foreach (Option option in command.Options)
            {
                Assert.Contains(option.Name, help);
                // The description's first words (later ones may be wrapped onto the next line).
                Assert.Contains(string.Join(' ', option.Description!.Split(' ').Take(3)), help);
            }
            if (command.Notes is not null)
                Assert.Contains(command.Notes.Split('\n')[0].TrimEnd(), help);
        }
        Assert.Equal(TrainOptions.All, TrainCommand.Definition.Options);
    }

    [Fact]
    public void TheRootHelpListsTheCommands()
    {
        (int code, string help, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.Equal(help, Run("help").Output);
        foreach (CliCommand command in FastBackprop.Cli.CommandLine.Commands)
        {
            Assert.Matches($@"(?m)^  (\S+, )?{command.Name}\b", help);
            Assert.Contains(string.Join(' ', command.Description!.Split(' ').Take(4)), help);
        }
        Assert.Contains("Exit codes:", help);
        // Options given without a command are train's: so is --help after one of them.
        Assert.StartsWith("fastbackprop train - ", Run("--epochs", "3", "--help").Output);
    }

    [Theory]
    [InlineData("fastbackprop train --ep", "--epochs")]
    [InlineData("fastbackprop --ep", "--epochs")]
    [InlineData("fastbackprop --epochs 3 --no-st", "--no-standardize")]
    [InlineData("fastbackprop evaluate --mo", "--model")]
    [InlineData("fastbackprop tra", "train")]
    public void SuggestDirectiveCompletes(string line, string completion)
    {
        (int code, string output, _) = Run($"[suggest:{line.Length}]", line);
        Assert.Equal(0, code);
        Assert.Equal([completion], output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public void AChoiceCompletesToItsNames()
    {
        string line = "fastbackprop train --activation ";
        (int code, string output, _) = Run($"[suggest:{line.Length}]", line);
        Assert.Equal(0, code);
        Assert.Equal(["leaky-relu", "relu", "sigmoid", "silu", "tanh"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order());
    }

    [Theory]
    [InlineData("'--epoch' for 'train'; did you mean --epochs?", "--epoch", "5")]
    [InlineData("'--epoch' for 'train'; did you mean --epochs?", "train", "--epoch", "5")]
    [InlineData("'--modle' for 'evaluate'; did you mean --model?", "evaluate", "--modle", "m.fbpm")]
    [InlineData("'trian'; did you mean train?", "trian")]
    [InlineData("option --epochs needs a value", "--epochs")]
    [InlineData("option --idx needs 2 values, got 1", "--idx", "a", "--epochs", "3")]
    [InlineData("option --lr is given more than once", "--lr", "0.1", "--learning-rate", "0.2")]
    [InlineData("invalid value for --schedule: 'linear' (expected constant, step or cosine)", "--schedule", "linear")]
    [InlineData("'export' takes two file names: MODEL.fbpm OUT.onnx (got 3 argument(s): a b c)", "export", "a", "b", "c")]
    [InlineData("unknown command 'bogus'", "help", "bogus")]
    public void ParseErrorsAreOneLineWithExitCode2(string expected, params string[] args)
    {
        (int code, string output, string errors) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("fastbackprop: error: ", errors);
        Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, errors);
    }

    [Fact]
    public void ValuesStartingWithAtAreNotResponseFiles()
    {
        string csv = Path.GetTempFileName();
        try
        {
            TrainSettings s = TrainSettings.From(ParsedArgs.Parse(["--csv", csv, "--target", "@label"]));
            Assert.Equal("@label", s.CsvOptions!.TargetColumnName);
        }
        finally
        {
            File.Delete(csv);
        }
    }
}
