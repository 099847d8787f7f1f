using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace FastBackprop.Kernels.Threading;

/// <summary>Work split into independent parts: <see cref="Execute"/> may run on any thread, in any order.</summary>
internal interface IPartitionedWork
{
    void Execute(int part);
}

/// <summary>
/// A persistent team of worker threads for the kernels' fork-join parallelism — what an OpenMP runtime
/// gives BLIS. Parallel.For costs an allocation and a pool wake-up of several microseconds per call; a
/// GEMM of a training step forks several times per millisecond, and single-sample inference (about 25 µs)
/// cannot afford that at all. Workers spin briefly after each job, so back-to-back forks find them awake,
/// then sleep on an event. The caller runs parts too and returns when every part is done; nothing is
/// allocated per job. A caller that finds the team busy (another thread is forking) runs all parts itself:
/// parts are independent and each writes its own output, so results never depend on who ran what.
/// </summary>
internal static unsafe class WorkerTeam
{
    /// <summary>How long an idle worker keeps polling before it sleeps (about 50 µs).</summary>
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 20_000;

    private static readonly object StartLock = new();
    private static Worker[] workers = [];

    private static int busy;
    // The job: published before the generation moves on.
    private static delegate*<void*, int, void> job;
    private static void* jobState;
    private static int jobParts;
    /// <summary>High 32 bits: the job's generation (the low bits are unused). An odd generation means "a job is
    /// being written": workers wait for an even one.</summary>
    private static long ticket;

    /// <summary>The most parts one job may have; a larger request runs on the caller alone.</summary>
    private const int MaxParts = 1024;

    /// <summary>claims[p] is the generation of the last job whose part p was claimed. A part is claimed by
    /// raising its entry from an older generation to the job's, so a late worker holding a finished job's
    /// generation can never claim anything (every part of that job already carries it or a newer one).
    /// Fixed size, never replaced, so no thread ever sees a stale array.</summary>
    private static readonly long[] claims = new long[MaxParts];
    private static int partsDone;
    private static ExceptionDispatchInfo? failure;

    /// <summary>Runs <c>work.Execute(p)</c> for p in [0, parts) on the caller and up to parts − 1 workers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TWork>(ref TWork work, int parts) where TWork : struct, IPartitionedWork
    {
        if (parts <= 1 || parts > MaxParts || Interlocked.CompareExchange(ref busy, 1, 0) != 0)
        {
            for (int p = 0; p < parts; p++)
                work.Execute(p);
            return;
        }
        try
        {
            EnsureWorkers(parts - 1);
            long previous = Volatile.Read(ref ticket) >> 32;
            // Close the previous job before overwriting its fields (a late worker then fails its claim)...
            Interlocked.Exchange(ref ticket, (previous + 1) << 32);
            job = &Invoke<TWork>;
            jobState = Unsafe.AsPointer(ref work);
            jobParts = parts;
            failure = null;
            Volatile.Write(ref partsDone, 0);
            long generation = previous + 2;
            // ...and open the new one. Full fence: the job fields are visible before the new generation, and
            // the new generation before we read whether a worker sleeps (it sets its flag, then re-reads it).
            Interlocked.Exchange(ref ticket, generation << 32);
            Worker[] team = workers;
            for (int i = 0; i < team.Length && i < parts - 1; i++)
                team[i].WakeIfSleeping();

            RunParts(generation, preferred: 0);
            var spinner = new SpinWait();
            while (Volatile.Read(ref partsDone) < parts)
                spinner.SpinOnce(sleep1Threshold: -1);
            failure?.Throw();
        }
        finally
        {
            Volatile.Write(ref busy, 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Invoke<TWork>(void* state, int part) where TWork : struct, IPartitionedWork
        => Unsafe.AsRef<TWork>(state).Execute(part);

    /// <summary>
    /// Runs part <paramref name="preferred"/> of job <paramref name="generation"/> if nobody has, then any part
    /// left. The caller prefers part 0 and worker i part i + 1, so a product called again and again keeps each
    /// part on the same core, whose caches may still hold that part of C from the last call (a few percent on
    /// the two-thread weight update W ← W − η·ΔᵀA); a part is still taken over by whoever is free when its
    /// thread is late.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunParts(long generation, int preferred)
    {
        delegate*<void*, int, void> function = job;
        void* state = jobState;
        int parts = jobParts;
        // The fields must be read before the claims that validate them.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref ticket) >> 32 != generation)
            return;
        if (preferred < parts)
            TryRun(function, state, preferred, generation);
        for (int part = 0; part < parts; part++)
            TryRun(function, state, part, generation);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TryRun(delegate*<void*, int, void> function, void* state, int part, long generation)
    {
        long previous = Volatile.Read(ref claims[part]);
        if (previous >= generation || Interlocked.CompareExchange(ref claims[part], generation, previous) != previous)
            return;
        try
        {
            function(state, part);
        }
        catch (Exception e)
        {
            failure = ExceptionDispatchInfo.Capture(e);
        }
        Interlocked.Increment(ref partsDone);
    }

    private static void EnsureWorkers(int count)
    {
        if (workers.Length >= count)
            return;
        lock (StartLock)
        {
            if (workers.Length >= count)
                return;
            var grown = new Worker[count];
            workers.CopyTo(grown, 0);
            for (int i = workers.Length; i < count; i++)
                grown[i] = new Worker(i);
            workers = grown;
        }
    }

    private sealed class Worker
    {
        private readonly ManualResetEventSlim wake = new(false, spinCount: 0);
        private int sleeping;

        private readonly int index;

        public Worker(int index)
        {
            this.index = index;
            var thread = new Thread(Loop) { IsBackground = true, Name = $"FastBackprop worker {index + 1}" };
            thread.Start();
        }

        public void WakeIfSleeping()
        {
            if (Volatile.Read(ref sleeping) != 0)
                wake.Set();
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Loop()
        {
            long seen = Volatile.Read(ref ticket) >> 32 & ~1L;
            while (true)
            {
                long generation = WaitForJob(seen);
                seen = generation;
                RunParts(generation, preferred: index + 1);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private long WaitForJob(long seen)
        {
            while (true)
            {
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                do
                {
                    long generation = Volatile.Read(ref ticket) >> 32;
                    if (generation != seen && (generation & 1) == 0)
                        return generation;
                    Thread.SpinWait(8);
                }
                while (System.Diagnostics.Stopwatch.GetTimestamp() - start < SpinTicks);

                Interlocked.Exchange(ref sleeping, 1);
                long latest = Volatile.Read(ref ticket) >> 32;
                if (latest != seen)
                {
                    // A new job is open or being written: spin for it rather than sleep.
                    Volatile.Write(ref sleeping, 0);
                    continue;
                }
                wake.Wait();
                wake.Reset();
                Volatile.Write(ref sleeping, 0);
            }
        }
    }
}
