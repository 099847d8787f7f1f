using FastBackprop.Hardware;
using FastBackprop.Kernels.Gemm;

namespace FastBackprop.Tests;

/// <summary>
/// The blocking policy's decisions, checked where they are made (<see cref="BlockingPlan.For{T}"/>,
/// <see cref="GemmBlocking.ChooseTile{T}"/>): how two threads divide a block, that the pack buffer it sizes holds every
/// part's region, and the orientation of skinny products. That the results do not depend on these decisions is
/// <see cref="GemmThreadingTests"/>' job; this says the decisions are the documented ones on every ISA path.
/// </summary>
[Collection(nameof(GemmThreadCount))]
public class GemmBlockingTests
{
    private static BlockingPlan Plan(int m, int n, int k, bool updatesC)
    {
        KernelConfiguration configuration = KernelConfiguration.Active;
        (int mr, _) = GemmBlocking.ChooseTile<float>(configuration, m, n);
        int nr = GemmBlocking.TileColumns<float>(configuration);
        return BlockingPlan.For<float>(configuration, mr, nr, transB: false, m, n, k, lda: k, ldb: n, updatesC);
    }

    /// <summary>An update (β ≠ 0) over several K blocks keeps MC rows × n running sums aside: a wide n gets fewer rows per
    /// block, so that block stays within its budget; an update within one K block, or a product without β, keeps MC.</summary>
    [Theory]
    [InlineData(4096, 100_000, 1000)]
    [InlineData(3000, 5000, 2000)]
    [InlineData(100, 3_000_000, 500)]
    public void Wide_updates_over_several_k_blocks_keep_their_running_sums_within_budget(int m, int n, int k)
    {
        BlockingPlan update = Plan(m, n, k, updatesC: true);
        Assert.True(k > update.KcMax);
        Assert.True((long)update.McMax * n <= Math.Max(BlockingPlan.RunningAsideBudget, (long)update.MR * n),
            $"{update.McMax} rows × {n} running sums");
        Assert.Equal(0, update.MC % update.MR);
        Assert.True(Plan(m, n, k, updatesC: false).MC >= update.MC);
        Assert.Equal(Plan(m, n, 64, updatesC: false).MC, Plan(m, n, 64, updatesC: true).MC);
    }

    [Fact]
    public void Two_threads_split_columns_unless_an_update_reads_B_in_place_or_panels_are_few()
    {
        using var settings = new GemmSettingsScope();
        Parallelism.MaxDegreeOfParallelism = 2;

        // A weight-gradient-sized product (512×784×128, 103 MFLOP): two threads, many column panels.
        GemmBlocking.InPlaceMode = 2;
        BlockingPlan update = Plan(512, 784, 128, updatesC: true);
        Assert.Equal(2, update.Threads);
        Assert.True(update.ReadBInPlace);
        // W += −η·ΔᵀA with B in place: each core keeps writing the rows of C it read.
        Assert.Equal(WorkDivision.Rows, update.Division);
        Assert.Equal(WorkDivision.Columns, Plan(512, 784, 128, updatesC: false).Division);

        GemmBlocking.InPlaceMode = 0;
        BlockingPlan packed = Plan(512, 784, 128, updatesC: true);
        Assert.False(packed.ReadBInPlace);
        Assert.Equal(WorkDivision.Columns, packed.Division);

        // 24 columns are at most three panels (NR ≥ 8): fewer than two per thread, so the rows are split.
        BlockingPlan narrow = Plan(3072, 24, 1024, updatesC: false);
        Assert.Equal(2, narrow.Threads);
        Assert.Equal(WorkDivision.Rows, narrow.Division);

        // One thread is the column division with a single part.
        Parallelism.MaxDegreeOfParallelism = 1;
        BlockingPlan single = Plan(512, 784, 128, updatesC: true);
        Assert.Equal(1, single.Threads);
        Assert.Equal(WorkDivision.Columns, single.Division);
    }

    [Theory]
    [InlineData(1, 512, 784, 128)]
    [InlineData(2, 512, 784, 128)]
    [InlineData(2, 300, 700, 900)]
    [InlineData(2, 129, 1100, 385)]
    public void Pack_buffer_holds_every_parts_B_region_and_the_largest_blocks(int threads, int m, int n, int k)
    {
        using var settings = new GemmSettingsScope();
        Parallelism.MaxDegreeOfParallelism = threads;
        GemmBlocking.InPlaceMode = 0;
        BlockingPlan plan = Plan(m, n, k, updatesC: false);
        Assert.Equal(threads, plan.Threads);
        // Part p packs its panels at p·PanelsPerThread·NR·kc; the panels of an N block are shared out so no part gets more.
        int panels = plan.NcMax / plan.NR;
        Assert.True(plan.Threads * plan.PanelsPerThread >= panels, plan.ToString());
        Assert.True(plan.BElements<float>() >= (long)plan.Threads * plan.PanelsPerThread * plan.NR * plan.KcMax, plan.ToString());
        Assert.True(plan.BElements<float>() >= (long)plan.NcMax * plan.KcMax, plan.ToString());
        Assert.True(plan.AElements<float>() >= (long)plan.McMax * plan.KcMax, plan.ToString());
        Assert.True(plan.McMax >= Math.Min(m, plan.MC) && plan.McMax % plan.MR == 0, plan.ToString());
        Assert.True(plan.NcMax >= Math.Min(n, plan.NC) && plan.NcMax % plan.NR == 0, plan.ToString());
        Assert.True(plan.KcMax <= Math.Min(k, GemmBlocking.KC<float>(KernelConfiguration.Active)), plan.ToString());
    }

    /// <summary>An output layer's 128×10 runs transposed (its Cᵀ fills the wide tiles); a hidden layer's 128×512 does not.</summary>
    [Fact]
    public void Skinny_products_run_transposed_and_wide_ones_do_not()
    {
        KernelConfiguration configuration = KernelConfiguration.Active;
        Assert.True(GemmBlocking.ChooseTile<float>(configuration, 128, 10).Transposed);
        Assert.False(GemmBlocking.ChooseTile<float>(configuration, 128, 512).Transposed);
        Assert.False(GemmBlocking.ChooseTile<double>(configuration, 128, 512).Transposed);
    }
}
