using System.CommandLine;
using FastBackprop.Hardware;

namespace FastBackprop.Cli;

/// <summary><c>info</c>: the processor, the instruction set the kernels run and the cache blocks chosen for it
/// (<see cref="CpuInfo"/>, <see cref="KernelConfiguration"/>).</summary>
internal static class InfoCommand
{
    private static readonly Option<string?> Model = CliOption.Text("--model", "MODEL",
        "print the model instead: its summary and one line per layer (units, activation, inputs and, for a quantized model, whether the layer runs at int8 or in fp32)");

    public static readonly CliCommand Definition = new("info", "the CPU and the kernel configuration chosen for it, or a model's layers",
        [Model], (args, context) => Run(args, context.Output, context.Interrupt))
    {
        Notes =
            """
            Prints the processor (name, family/model, caches per core), the instruction set the kernels run,
            the GEMM micro-kernels and cache blocks, and a warning when the CPU offers a faster instruction
            set than this build or runtime uses (e.g. a NativeAOT binary built without AVX2).
            FASTBACKPROP_KERNELS overrides the configuration (e.g. 'avx2,l2=512K'; see docs/PERFORMANCE.md).
            """,
    };

    /// <summary>Runs the command; <paramref name="interrupt"/> is checked before the CPU is examined (which takes
    /// milliseconds).</summary>
    public static int Run(ParsedArgs parsed, TextWriter output, CancellationToken interrupt)
    {
        if (parsed.Has(Model))
        {
            Model<float> model = ModelArgs.Load(parsed, Model);
            output.WriteLine($"{Path.GetFileName(parsed.Value(Model))}: {ModelArgs.Describe(model)}");
            foreach (string layer in ModelArgs.Layers(model))
                output.WriteLine(layer);
            return Program.ExitOk;
        }
        interrupt.ThrowIfCancellationRequested();
        KernelConfiguration configuration = KernelConfiguration.Current;
        output.WriteLine(configuration.Cpu);
        output.WriteLine(configuration);
        if (Warning(configuration) is string warning)
            output.WriteLine(warning);
        return Program.ExitOk;
    }

    /// <summary>The one-line warning shown when the kernels run narrower than the CPU allows, else null.</summary>
    public static string? Warning(KernelConfiguration configuration)
    {
        CpuInfo cpu = configuration.Cpu;
        if (configuration.InstructionSet >= cpu.CpuOffers)
            return null;
        string how = System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported
            ? "a runtime setting (DOTNET_EnableAVX512 / DOTNET_EnableAVX2 / FASTBACKPROP_KERNELS) narrows it"
            : $"this NativeAOT binary was compiled for an older instruction set; publish with -p:IlcInstructionSet={(cpu.CpuOffers == InstructionSet.Avx512 ? "x86-64-v4" : "x86-64-v3")} (or native)";
        return $"warning: the CPU offers {CpuInfo.Describe(cpu.CpuOffers)} but the kernels run {CpuInfo.Describe(configuration.InstructionSet)}: {how}";
    }
}
