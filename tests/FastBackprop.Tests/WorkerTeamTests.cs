using FastBackprop.Kernels.Threading;

namespace FastBackprop.Tests;

/// <summary>The worker team behind the threaded kernels: every part of every job runs exactly once, from one
/// caller or from several at once (a busy team makes the second caller run its parts itself), jobs follow
/// each other back to back (workers still spinning) or after the workers fell asleep, and an exception in a
/// part reaches the caller.</summary>
[Collection(nameof(GemmThreadCount))]
public class WorkerTeamTests
{
    private struct CountingWork(int[] counts, int offset) : IPartitionedWork
    {
        public readonly void Execute(int part) => Interlocked.Increment(ref counts[offset + part]);
    }

    private struct ThrowingWork : IPartitionedWork
    {
        public readonly void Execute(int part)
        {
            if (part == 1)
                throw new InvalidOperationException("part 1 failed");
        }
    }

    [Fact]
    public void Every_part_runs_exactly_once_back_to_back()
    {
        const int Jobs = 20_000;
        var counts = new int[Jobs * 4];
        for (int j = 0; j < Jobs; j++)
        {
            int parts = 2 + j % 3;
            var work = new CountingWork(counts, j * 4);
            WorkerTeam.Run(ref work, parts);
            for (int p = 0; p < 4; p++)
                Assert.True(counts[j * 4 + p] == (p < parts ? 1 : 0), $"job {j}, part {p} of {parts}: ran {counts[j * 4 + p]} times");
        }
    }

    [Fact]
    public void Concurrent_callers_and_sleeping_workers()
    {
        const int Callers = 4, Jobs = 2_000;
        var counts = new int[Callers * Jobs * 3];
        Parallel.For(0, Callers, new ParallelOptions { MaxDegreeOfParallelism = Callers }, caller =>
        {
            for (int j = 0; j < Jobs; j++)
            {
                var work = new CountingWork(counts, (caller * Jobs + j) * 3);
                WorkerTeam.Run(ref work, 3);
            }
        });
        Assert.All(counts, c => Assert.Equal(1, c));

        // After a pause the workers sleep; a job must still complete (and wake them).
        Thread.Sleep(50);
        var late = new int[3];
        var lateWork = new CountingWork(late, 0);
        WorkerTeam.Run(ref lateWork, 3);
        Assert.Equal([1, 1, 1], late);
    }

    [Fact]
    public void An_exception_in_a_part_reaches_the_caller()
    {
        var work = new ThrowingWork();
        var e = Assert.Throws<InvalidOperationException>(() => WorkerTeam.Run(ref work, 3));
        Assert.Equal("part 1 failed", e.Message);
        // The team is usable afterwards.
        var counts = new int[2];
        var next = new CountingWork(counts, 0);
        WorkerTeam.Run(ref next, 2);
        Assert.Equal([1, 1], counts);
    }
}
