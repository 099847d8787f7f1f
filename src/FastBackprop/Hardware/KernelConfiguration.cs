using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using FastBackprop.Kernels.Int8;

namespace FastBackprop.Hardware;

/// <summary>
/// What the kernels run with, chosen once from <see cref="CpuInfo"/> (BLIS's per-architecture context): the instruction-set
/// path (register width and micro-kernel shapes), the GEMM cache blocks, when small products read their operands in place
/// and when work is split between threads. Every kernel reads it from here; nothing else decides.
/// <para>The blocks follow the BLIS analytical model from the cache sizes of one core (<see cref="Derive"/>).
/// <c>FASTBACKPROP_KERNELS</c> overrides any part for experiments and for measuring one CPU's configuration on
/// another, e.g. <c>avx2,l1d=32K,l2=512K,l3=32M</c> (Zen 3's) or <c>kc=256,nc=1024</c>; see
/// <see cref="EnvironmentVariable"/>.</para>
/// </summary>
public sealed class KernelConfiguration
{
    /// <summary>
    /// The environment variable read at start-up: comma-separated items, each an instruction set (<c>avx512</c>,
    /// <c>avx2</c>, <c>vector128</c>) or <c>key=value</c> with keys <c>l1d</c>, <c>l2</c>, <c>l3</c> (cache sizes in
    /// bytes, K/M suffixes allowed; the blocks are derived from them), <c>kc</c> (K block in floats), <c>nc</c>,
    /// <c>mc</c> (N and M blocks), <c>inplace</c> (the largest m·n·k read in place; 0 never), <c>rows</c> (the GEMM tile's
    /// rows: 12 or 8 for AVX-512, 6 for AVX2, 6 or 12 for Vector128), <c>int8</c> (the int8
    /// kernels' instructions: <c>avx512bw</c>, <c>avxvnni</c>, <c>avx2</c>, <c>vector128</c>, <c>armdot</c>; only one this
    /// process can execute). A path wider than the
    /// hardware runs in software: correct, slow, for tests only.
    /// </summary>
    public const string EnvironmentVariable = "FASTBACKPROP_KERNELS";

    /// <summary>The largest K block (bytes of one packed row): KC = 512 floats measured no faster than 384 on Zen 5.</summary>
    private const int MaxKcBytes = 1536;

    private static readonly Lazy<KernelConfiguration> fromEnvironment = new(FromEnvironment);
    private static KernelConfiguration? forced;

    private KernelConfiguration(CpuInfo cpu, InstructionSet set, long l1, long l2, long l3, string source, int? tileRows = null)
    {
        Cpu = cpu;
        InstructionSet = set;
        L1DataBytes = l1;
        L2Bytes = l2;
        L3Bytes = l3;
        Source = source;
        path = tileRows is int rows ? PathWithRows(set, rows)
            : set == InstructionSet.Vector128 && RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? AdvSimdPath
            : Paths[(int)set];
        (KcBytes, NC, MC) = Derive(TileRows[0], l1, l2, l3);
        InPlaceMaxVolume = InPlaceVolume(l2);
        MinimumFlopsPerThread = path.MinimumFlopsPerThread;
        Int8Path = Int8Paths.Choose(set);
    }

    /// <summary>The configuration the kernels use now.</summary>
    /// <exception cref="InvalidOperationException"><c>FASTBACKPROP_KERNELS</c> is set to something that cannot be read
    /// (the message quotes it).</exception>
    public static KernelConfiguration Current => forced ?? fromEnvironment.Value;

    /// <summary>The processor the configuration was chosen for.</summary>
    public CpuInfo Cpu { get; }

    /// <summary>The register width and micro-kernels every kernel runs.</summary>
    public InstructionSet InstructionSet { get; }

    /// <summary>Whether this process runs <see cref="InstructionSet"/> in hardware (false only when a configuration
    /// asks for more than the CPU or the build offers: the wider registers are then emulated, for testing).</summary>
    public bool IsHardwareAccelerated => InstructionSet <= Cpu.Accelerated;

    /// <summary>Register width in bits.</summary>
    public int VectorBits => path.VectorBits;

    /// <summary>The L1 data cache size the blocks were derived from (the CPU's, unless overridden).</summary>
    public long L1DataBytes { get; }

    /// <summary>The L2 size the blocks were derived from.</summary>
    public long L2Bytes { get; }

    /// <summary>The L3 size the blocks were derived from (0: none).</summary>
    public long L3Bytes { get; }

    /// <summary>Bytes of one packed row of a K block: KC = KcBytes / sizeof(element) (384 floats, 192 doubles at 1536).</summary>
    public int KcBytes { get; private set; }

    /// <summary>Columns of packed B per block (a multiple of every register-tile width).</summary>
    public int NC { get; private set; }

    /// <summary>Rows of packed A per block (a multiple of every tile height: 6, 8, 12).</summary>
    public int MC { get; private set; }

    /// <summary>Products with m·n·k up to this read op(A) and op(B) = B where they lie instead of packing them.</summary>
    public long InPlaceMaxVolume { get; private set; }

    /// <summary>A product is split between threads only when each thread gets at least this many flops: about 20 µs of
    /// one core's work at the path's speed. A fork of the worker team costs well under a microsecond when the worker is
    /// awake, but a sleeping worker takes several to wake.</summary>
    public double MinimumFlopsPerThread { get; }

    /// <summary>A matrix-vector product is split only when each part streams at least this many bytes of the matrix
    /// (a fork costs a few µs at most; 192 KiB is several µs of reading).</summary>
    public long MatrixVectorBytesPerPart { get; } = 192 * 1024;

    /// <summary>"detected", or the <c>FASTBACKPROP_KERNELS</c> text, or what forced it.</summary>
    public string Source { get; }

    /// <summary>The GEMM micro-kernels (rows × columns of a register tile) for single precision.</summary>
    public string GemmKernels => $"{string.Join(" and ", TileRows.Select(mr => $"{mr}x{2 * VectorBits / 32}"))} {CpuInfo.Describe(InstructionSet)}";

    /// <summary>Rows of the GEMM micro-kernels of the path (tiles are two registers wide), tallest first: 12 and 8 with
    /// AVX-512's 32 registers (24 or 16 accumulators), 6 with 16 registers (12 accumulators, two B loads, a broadcast).</summary>
    internal int[] TileRows => path.TileRows;

    /// <summary>What differs between instruction-set paths, one entry each, indexed by <see cref="InstructionSet"/>. A new
    /// path is a micro-kernel file, an entry here, and its register type in the two places that map the configured set to
    /// types (<c>VectorDispatch</c> for the elementwise kernels, the GEMM driver's kernel switch). Threads are split from
    /// about 20 µs of one core's work at the path's speed (4 MFLOP at ~200 GFLOP/s for AVX-512, half per halving of the
    /// width); tile rows are what fits the register file (32 registers: 24 or 16 accumulators; 16: 12 accumulators, two B
    /// loads and a broadcast). The arrays are shared, so reading them on every product allocates nothing.</summary>
    private static readonly Path[] Paths =
    [
        new(InstructionSet.Vector128, VectorBits: 128, TileRows: [6], MinimumFlopsPerThread: 1e6),
        new(InstructionSet.Avx2, VectorBits: 256, TileRows: [6], MinimumFlopsPerThread: 2e6),
        new(InstructionSet.Avx512, VectorBits: 512, TileRows: [12, 8], MinimumFlopsPerThread: 4e6),
    ];

    /// <summary>Vector128 on ARM64, whose AdvSimd has 32 vector registers where x86's SSE has 16: the 12-row kernel (24
    /// accumulators, two B registers and a broadcast: 27 of 32), BLIS's 8×12 ARMv8 sgemm shape seen from the other side
    /// (BLIS broadcasts B and loads A; this kernel the reverse). Reasoned from the register count and those published
    /// kernels: no ARM speed can be measured here, only correctness under emulation.</summary>
    private static readonly Path AdvSimdPath = new(InstructionSet.Vector128, VectorBits: 128, TileRows: [12], MinimumFlopsPerThread: 1e6);

    /// <summary>A path forced onto one tile height (the <c>rows</c> key): one the GEMM driver has a kernel for.</summary>
    private static Path PathWithRows(InstructionSet set, int rows)
    {
        Path basic = Paths[(int)set];
        bool exists = set switch
        {
            InstructionSet.Avx512 => rows is 12 or 8,
            InstructionSet.Avx2 => rows == 6,
            _ => rows is 6 or 12,
        };
        if (!exists)
            throw new ArgumentOutOfRangeException(nameof(rows), rows, $"The {CpuInfo.Describe(set)} path has no {rows}-row GEMM kernel (AVX-512: 12 or 8; AVX2: 6; Vector128: 6 or 12).");
        return basic with { TileRows = [rows] };
    }

    private sealed record Path(InstructionSet Set, int VectorBits, int[] TileRows, double MinimumFlopsPerThread);

    private readonly Path path;

    /// <summary>The configuration this library would choose for <paramref name="cpu"/> (the one it runs on, by default),
    /// optionally with another instruction set or cache sizes: a way to look at, test or measure one CPU's choice on another.</summary>
    public static KernelConfiguration For(CpuInfo? cpu = null, InstructionSet? instructionSet = null,
        long? l1DataBytes = null, long? l2Bytes = null, long? l3Bytes = null)
    {
        cpu ??= CpuInfo.Current;
        long l1 = l1DataBytes ?? cpu.L1DataBytes, l2 = l2Bytes ?? cpu.L2Bytes, l3 = l3Bytes ?? cpu.L3Bytes;
        if (l1 < 4096 || l2 < 16384 || l3 < 0)
            throw new ArgumentOutOfRangeException(nameof(l1DataBytes), $"Cache sizes L1d {l1}, L2 {l2}, L3 {l3} bytes are not plausible (L1d ≥ 4 KiB, L2 ≥ 16 KiB, L3 ≥ 0).");
        if (instructionSet is InstructionSet set && !Enum.IsDefined(set))
            throw new ArgumentOutOfRangeException(nameof(instructionSet), set, $"{(int)set} is not an instruction set.");
        bool overridden = instructionSet is not null || l1DataBytes is not null || l2Bytes is not null || l3Bytes is not null;
        return new KernelConfiguration(cpu, instructionSet ?? cpu.Accelerated, l1, l2, l3, overridden ? "chosen by For(...)" : "detected");
    }

    /// <summary>A few lines for people: the path, the kernels, the blocks and where they came from.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"kernels: {CpuInfo.Describe(InstructionSet)} ({VectorBits}-bit{(IsHardwareAccelerated ? "" : ", NOT accelerated: emulated in software")}), GEMM tiles {GemmKernels} ({Source})\n");
        text.Append(CultureInfo.InvariantCulture, $"GEMM blocks: KC {KcBytes / sizeof(float)} floats / {KcBytes / sizeof(double)} doubles, NC {NC}, MC {MC} (from L1d {CpuInfo.Bytes(L1DataBytes)}, L2 {CpuInfo.Bytes(L2Bytes)}, L3 {CpuInfo.Bytes(L3Bytes)})\n");
        text.Append(CultureInfo.InvariantCulture, $"in place up to m*n*k = {InPlaceMaxVolume:N0}; threads from {MinimumFlopsPerThread / 1e6:0.#} MFLOP each; matrix-vector split from {CpuInfo.Bytes(MatrixVectorBytesPerPart)} per part\n");
        text.Append(CultureInfo.InvariantCulture, $"int8 kernels: {Int8Paths.Describe(Int8Path)}");
        return text.ToString();
    }

    /// <summary>The instruction the int8 kernels of a <see cref="QuantizedNetwork"/> multiply with: the fastest the hardware
    /// runs at this register width (<see cref="Int8Paths.Choose"/>), or the one a test forced.</summary>
    internal Int8Path Int8Path { get; private set; }

    /// <summary>This configuration with the int8 kernels forced onto <paramref name="int8Path"/> (for tests and measurements;
    /// a path the CPU cannot execute throws when a kernel runs).</summary>
    internal KernelConfiguration WithInt8Path(Int8Path int8Path) => new(Cpu, InstructionSet, L1DataBytes, L2Bytes, L3Bytes, $"{Source}, int8 {int8Path}",
        TileRows.Length == 1 ? TileRows[0] : null)
    {
        KcBytes = KcBytes,
        NC = NC,
        MC = MC,
        InPlaceMaxVolume = InPlaceMaxVolume,
        Int8Path = int8Path,
    };

    /// <summary>The configuration the kernels read on every call (one static load).</summary>
    internal static KernelConfiguration Active => forced ?? fromEnvironment.Value;

    /// <summary>For tests and experiments in this process: every kernel uses <paramref name="configuration"/> until the scope
    /// is disposed. Process-wide, so callers that force one must not run beside other kernel users (tests: a collection
    /// without parallelisation).</summary>
    internal static IDisposable Use(KernelConfiguration configuration)
    {
        var scope = new Scope(forced);
        forced = configuration;
        return scope;
    }

    private sealed class Scope(KernelConfiguration? previous) : IDisposable
    {
        public void Dispose() => forced = previous;
    }

    /// <summary>
    /// Cache blocks from cache sizes (BLIS's analytical model with our loop order, where an MR×KC sliver of packed A
    /// stays in L1 while KC×NR panels of B stream through it from an L2-resident KC×NC block):
    /// <list type="bullet">
    /// <item>KC: the reused sliver fills 3/8 of L1d, leaving the rest to the streamed B rows and C's lines, capped at
    /// <see cref="MaxKcBytes"/>. Zen 5 (48 KiB, MR 12): 1536 B = 384 floats. Zen 3 (32 KiB, MR 6): the cap, 384 floats.</item>
    /// <item>NC: the packed B block fills 3/4 of L2. Zen 5 (1 MiB): 512 columns = 768 KiB; Zen 3 (512 KiB): 256.</item>
    /// <item>MC: the packed A block takes at most half the L3 one core sees, at most 3072 rows (4.5 MiB).</item>
    /// </list>
    /// The Zen 5 results equal the constants measured there before this model existed.
    /// </summary>
    internal static (int KcBytes, int NC, int MC) Derive(int mr, long l1, long l2, long l3)
    {
        int kcBytes = (int)Math.Clamp(l1 * 3 / 8 / mr / 256 * 256, 512, MaxKcBytes);
        int nc = (int)Math.Clamp(l2 * 3 / 4 / kcBytes / 64 * 64, 64, 4096);
        long mcBudget = l3 > 0 ? l3 / 2 : l2;
        int mc = (int)Math.Clamp(mcBudget / kcBytes / 24 * 24, 96, 3072);
        return (kcBytes, nc, mc);
    }

    /// <summary>Products read in place when a square operand of their size would fit in L2 (m·n·k ≤ (L2/4)^1.5 floats
    /// cubed): Zen 5's 1 MiB gives 512³, where packing started to pay in measurements; Zen 3's 512 KiB about 362³.</summary>
    private static long InPlaceVolume(long l2)
    {
        double side = Math.Sqrt(l2 / (double)sizeof(float));
        return (long)(side * side * side);
    }

    private static KernelConfiguration FromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(text) ? For() : Parse(text, CpuInfo.Current);
    }

    /// <summary>Reads a <see cref="EnvironmentVariable"/> value (see there for the syntax).</summary>
    internal static KernelConfiguration Parse(string text, CpuInfo cpu)
    {
        InstructionSet set = cpu.Accelerated;
        long l1 = cpu.L1DataBytes, l2 = cpu.L2Bytes, l3 = cpu.L3Bytes;
        int? kc = null, nc = null, mc = null, rows = null;
        long? inPlace = null;
        Int8Path? int8 = null;
        foreach (string raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string item = raw.ToLowerInvariant();
            int equals = item.IndexOf('=');
            if (equals < 0)
            {
                set = item switch
                {
                    "avx512" or "avx-512" => InstructionSet.Avx512,
                    "avx2" => InstructionSet.Avx2,
                    "vector128" or "sse" or "neon" => InstructionSet.Vector128,
                    _ => throw Bad(text, $"'{raw}' is not an instruction set (avx512, avx2, vector128)"),
                };
                continue;
            }
            string key = item[..equals], value = item[(equals + 1)..];
            if (key == "int8")
            {
                int8 = ParseInt8Path(text, value);
                continue;
            }
            long number = ParseSize(text, raw, value);
            switch (key)
            {
                case "l1d" or "l1": l1 = number; break;
                case "l2": l2 = number; break;
                case "l3": l3 = number; break;
                case "kc": kc = (int)Math.Min(number, 1 << 16); break;
                case "nc": nc = (int)Math.Min(number, 1 << 20); break;
                case "mc": mc = (int)Math.Min(number, 1 << 20); break;
                case "inplace": inPlace = number; break;
                case "rows": rows = (int)Math.Min(number, 1 << 10); break;
                default: throw Bad(text, $"unknown key '{key}' (l1d, l2, l3, kc, nc, mc, inplace, rows, int8)");
            }
        }
        if (l1 < 4096 || l2 < 16384)
            throw Bad(text, $"cache sizes L1d {l1}, L2 {l2} bytes are too small to be real (L1d ≥ 4K, L2 ≥ 16K)");
        KernelConfiguration configuration;
        try
        {
            configuration = new KernelConfiguration(cpu, set, l1, l2, l3, $"{EnvironmentVariable}={text}", rows);
        }
        catch (ArgumentOutOfRangeException e) when (e.ParamName == "rows")
        {
            throw Bad(text, $"rows={rows}: {e.Message.Split(" (Parameter")[0]}");
        }
        if (kc is int k)
        {
            if (k < 16 || k % 16 != 0)
                throw Bad(text, $"kc={k} must be a positive multiple of 16");
            configuration.KcBytes = k * sizeof(float);
        }
        if (nc is int n)
        {
            if (n < 64 || n % 64 != 0)
                throw Bad(text, $"nc={n} must be a positive multiple of 64");
            configuration.NC = n;
        }
        if (mc is int m)
        {
            if (m < 24 || m % 24 != 0)
                throw Bad(text, $"mc={m} must be a positive multiple of 24");
            configuration.MC = m;
        }
        if (inPlace is long volume)
            configuration.InPlaceMaxVolume = volume;
        if (int8 is Int8Path path)
            configuration.Int8Path = path;
        return configuration;
    }

    /// <summary>An int8 path by name; one this process cannot execute is refused here rather than where a kernel would
    /// fault (the int8 instructions have no software fallback).</summary>
    private static Int8Path ParseInt8Path(string text, string value)
    {
        Int8Path? path = Int8Paths.All.Cast<Int8Path?>().FirstOrDefault(p => string.Equals(p.ToString(), value, StringComparison.OrdinalIgnoreCase));
        if (path is not Int8Path known)
            throw Bad(text, $"'int8={value}' names no int8 path ({string.Join(", ", Int8Paths.All.Select(p => p.ToString().ToLowerInvariant()))})");
        if (!Int8Paths.CanRun(known))
            throw Bad(text, $"this process cannot execute the int8 path {Int8Paths.Describe(known)}");
        return known;
    }

    private static long ParseSize(string text, string item, string value)
    {
        long multiplier = 1;
        if (value.EndsWith('k'))
            (multiplier, value) = (1024, value[..^1]);
        else if (value.EndsWith('m'))
            (multiplier, value) = (1024 * 1024, value[..^1]);
        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long number) || number > long.MaxValue / multiplier)
            throw Bad(text, $"'{item}' needs a non-negative whole number (K and M suffixes allowed)");
        return number * multiplier;
    }

    private static InvalidOperationException Bad(string text, string why)
        => new($"{EnvironmentVariable}='{text}' cannot be used: {why}.");
}
