using System.Runtime.InteropServices;

namespace FastBackprop.Benchmarks.Peers;

/// <summary>
/// OpenBLAS (Debian's libopenblas0-pthread) called through P/Invoke, as the native peer.
/// Install: <c>apt-get install libopenblas0-pthread</c>. Run benchmarks with
/// <c>env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE</c>: these machines preset both, which forces
/// OpenBLAS onto its AVX2 kernels at half speed. <see cref="CoreName"/> shows what it chose.
/// </summary>
internal static unsafe class OpenBlas
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    private static readonly string[] Candidates =
    [
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
        "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
        "libopenblas.so.0",
    ];

    private static readonly nint Handle = Load();
    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm =
        (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)Export("cblas_sgemm");
    private static readonly delegate* unmanaged<int, void> SetThreads = (delegate* unmanaged<int, void>)Export("openblas_set_num_threads");
    private static readonly delegate* unmanaged<nint> GetCoreName = (delegate* unmanaged<nint>)Export("openblas_get_corename");

    public static bool IsAvailable => Handle != 0;

    public static string Unavailable => "OpenBLAS not found: apt-get install libopenblas0-pthread (column skipped)";

    public static string CoreName => IsAvailable ? Marshal.PtrToStringAnsi(GetCoreName()) ?? "?" : "absent";

    public static void SetThreadCount(int threads)
    {
        if (IsAvailable)
            SetThreads(threads);
    }

    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
            Sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }

    private static nint Load()
    {
        foreach (string path in Candidates)
            if (NativeLibrary.TryLoad(path, out nint handle))
                return handle;
        return 0;
    }

    private static nint Export(string name) =>
        Handle != 0 && NativeLibrary.TryGetExport(Handle, name, out nint address) ? address : 0;
}
