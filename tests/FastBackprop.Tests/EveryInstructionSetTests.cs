using FastBackprop.Tests.Training;
using FsCheck;
using FsCheck.Fluent;
using FastBackprop.Primitives;
using FastBackprop.Hardware;

namespace FastBackprop.Tests;

/// <summary>Tests that force a process-wide <see cref="KernelConfiguration"/> run alone.</summary>
[CollectionDefinition(nameof(ForcedKernelConfiguration), DisableParallelization = true)]
public sealed class ForcedKernelConfiguration;

/// <summary>
/// Every kernel on every register width, whatever the host: each property runs with the configuration forced to
/// AVX-512, AVX2 and Vector128. A width the hardware lacks runs in software (the runtime emulates Vector512 with two
/// Vector256 halves, and so on), slowly but with the same arithmetic, so a machine without AVX-512 still catches a bug in
/// the 12- and 8-row AVX-512 micro-kernels, their epilogues, the elementwise and optimizer sweeps. Fewer cases than the
/// per-kernel suites (those run the host's own width in full); the shapes still cover ragged slivers and panels, the 8-row
/// tiles (m = 32, 64), the transposed orientation, dot-product and matrix-vector paths, in-place and packed operands.
/// </summary>
[Collection(nameof(ForcedKernelConfiguration))]
public class EveryInstructionSetTests
{
    public static TheoryData<InstructionSet> Sets => new() { InstructionSet.Avx512, InstructionSet.Avx2, InstructionSet.Vector128 };

    private static IDisposable Force(InstructionSet set)
        => KernelConfiguration.Use(KernelConfiguration.For(instructionSet: set));

    [Theory]
    [MemberData(nameof(Sets))]
    public void Configuration_is_forced(InstructionSet set)
    {
        using (Force(set))
        {
            Assert.Equal(set, KernelConfiguration.Current.InstructionSet);
            Assert.Contains(set switch { InstructionSet.Avx512 => "AVX-512", InstructionSet.Avx2 => "AVX2", _ => "Vector128" },
                Kernels.Gemm.GemmDriver<float>.KernelName);
            Assert.Equal(set <= CpuInfo.Current.Accelerated, KernelConfiguration.Current.IsHardwareAccelerated);
        }
        Assert.Equal(CpuInfo.Current.Accelerated, KernelConfiguration.Current.InstructionSet);
    }

    /// <summary>The 12-row Vector128 kernel ARM64 uses by default (32 registers), on any host.</summary>
    [Fact]
    public void Gemm_on_the_twelve_row_vector128_kernel_matches_reference()
    {
        using var settings = new GemmSettingsScope();
        using var forced = KernelConfiguration.Use(KernelConfiguration.Parse("vector128,rows=12", CpuInfo.Current));
        Properties.Check("every-isa-gemm-float-v128-12rows", GemmCase.Arbitrary(), GemmTests.RunCase<float>, 60);
        Properties.Check("every-isa-gemm-double-v128-12rows", GemmCase.Arbitrary(), GemmTests.RunCase<double>, 30);
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void Gemm_matches_reference(InstructionSet set)
    {
        using var settings = new GemmSettingsScope();
        using var forced = Force(set);
        Properties.Check($"every-isa-gemm-float-{set}", GemmCase.Arbitrary(), GemmTests.RunCase<float>, 60);
        Properties.Check($"every-isa-gemm-double-{set}", GemmCase.Arbitrary(), GemmTests.RunCase<double>, 40);
        Properties.Check($"every-isa-gemm-exact-{set}", GemmCase.Arbitrary(smallIntegers: true), GemmTests.RunCase<float>, 30);
        // Packed and in place, whatever the size.
        foreach (int mode in new[] { 0, 2 })
        {
            Kernels.Gemm.GemmBlocking.InPlaceMode = mode;
            Properties.Check($"every-isa-gemm-mode{mode}-{set}", GemmCase.Arbitrary(), c =>
            {
                GemmTests.RunCase<float>(c);
                GemmTests.RunCase<double>(c);
            }, 15);
        }
    }

    /// <summary>Every tile height and its ragged rows: m = 1…26 and 32, 64 (8-row AVX-512 tiles) against n across a
    /// register pair, each transpose pair, β = 0 over NaN and β ≠ 0.</summary>
    [Theory]
    [MemberData(nameof(Sets))]
    public void Gemm_every_tile_edge(InstructionSet set)
    {
        using var forced = Force(set);
        int seed = 17;
        int[] rows = [.. Enumerable.Range(1, 26), 32, 64];
        foreach (Transpose ta in new[] { Transpose.No, Transpose.Yes })
            foreach (Transpose tb in new[] { Transpose.No, Transpose.Yes })
                foreach (int m in rows)
                    foreach (int n in new[] { 3, 17, 33, 40 })
                    {
                        int k = m % 3 == 0 ? 37 : 5;
                        GemmTests.RunCase<float>(new GemmCase(ta, tb, m, n, k, m % 3, n % 2, 1, 1.5, (m + n) % 2 == 0 ? 0 : 0.5, DataKind.Uniform, seed++));
                        GemmTests.RunCase<double>(new GemmCase(ta, tb, n, m, k, 0, 2, m % 2, -0.5, 0.75, DataKind.Uniform, seed++));
                    }
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void Layer_kernels_match_reference(InstructionSet set)
    {
        using var forced = Force(set);
        Properties.Check($"every-isa-forward-{set}", LayerKernelTests.LayerCase.Arbitrary([.. LayerKernelTests.Elementwise, ActivationKind.Softmax]), c =>
        {
            LayerKernelTests.Forward<float>(c);
            LayerKernelTests.Forward<double>(c);
        }, 40);
        Properties.Check($"every-isa-hidden-delta-{set}", LayerKernelTests.LayerCase.Arbitrary(LayerKernelTests.Trainable), c =>
        {
            LayerKernelTests.HiddenDelta<float>(c);
            LayerKernelTests.HiddenDelta<double>(c);
        }, 30);
        Properties.Check($"every-isa-parameter-gradients-{set}", LayerKernelTests.LayerCase.Arbitrary(ActivationKind.Identity), c =>
        {
            LayerKernelTests.ParameterGradients<float>(c);
            LayerKernelTests.ParameterGradients<double>(c);
        }, 30);
        foreach (Head head in Enum.GetValues<Head>())
            Properties.Check($"every-isa-output-delta-{head}-{set}", LayerKernelTests.LayerCase.Arbitrary(ActivationKind.Identity),
                c => LayerKernelTests.OutputDelta<float>(c, head), 8);
    }

    /// <summary>Whole networks, fused and unfused (the unfused path runs the elementwise kernels).</summary>
    [Theory]
    [MemberData(nameof(Sets))]
    public void Networks_match_reference(InstructionSet set)
    {
        using var forced = Force(set);
        foreach (Head head in Enum.GetValues<Head>())
        {
            Properties.Check($"every-isa-network-float-{head}-{set}", NetworkCase.Arbitrary(head), NetworkTests.Run<float>, 4);
            Properties.Check($"every-isa-network-double-{head}-{set}", NetworkCase.Arbitrary(head), NetworkTests.Run<double>, 3);
        }
    }

    /// <summary>Frozen networks pack their weights for the configuration in force: the same bits as the network under each,
    /// and still correct when frozen under one configuration and used under another (the prepacked panels are then ignored).</summary>
    [Theory]
    [MemberData(nameof(Sets))]
    public void Frozen_networks_match_the_network(InstructionSet set)
    {
        using (Force(set))
            Properties.Check($"every-isa-frozen-{set}", FrozenNetworkTests.FrozenCase.Arbitrary(), FrozenNetworkTests.SameAsNetwork<float>, 12);
        var network = new Network<float>(100, [new(300, Activation.ReLU), new(20, Activation.Softmax)], seed: 5);
        float[] x = TestData.Uniform<float>(new Random(6), 50 * 100);
        var expected = new float[50 * 20];
        var actual = new float[expected.Length];
        network.Predict(x, 50, expected, network.CreateInferenceWorkspace(50));
        FrozenNetwork<float> frozen;
        using (Force(set))
            frozen = network.Freeze();
        frozen.Predict(x, 50, actual, frozen.CreateInferenceWorkspace(50));
        Bits.Equal<float>(expected, actual, $"frozen under {set}, used under the default configuration");
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void Optimizers_match_reference(InstructionSet set)
    {
        using var forced = Force(set);
        foreach (OptimizerCase c in OptimizerTests.AllCases)
        {
            OptimizerTests.MatchesReference<float>(c, steps: 3);
            OptimizerTests.MatchesReference<double>(c, steps: 2);
        }
    }
}
