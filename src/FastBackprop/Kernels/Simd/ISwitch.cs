namespace FastBackprop.Kernels.Simd;

/// <summary>A compile-time switch for a generic kernel variant (the JIT folds <see cref="On"/> to a constant and removes the
/// untaken branch): the GEMM epilogue's bias-gradient sums, Nesterov momentum.</summary>
internal interface ISwitch
{
    static abstract bool On { get; }
}

internal readonly struct SwitchOn : ISwitch
{
    public static bool On => true;
}

internal readonly struct SwitchOff : ISwitch
{
    public static bool On => false;
}
