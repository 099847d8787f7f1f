namespace FastBackprop;

/// <summary>Checks of training hyper-parameters: each exception names the argument and its value.</summary>
internal static class TrainingGuard
{
    public static void PositiveFinite(double value, string name)
    {
        if (!(value > 0) || !double.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive and finite (got {value}).");
    }

    public static void NonNegativeFinite(double value, string name)
    {
        if (!(value >= 0) || !double.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and at least 0 (got {value}).");
    }

    /// <summary>value ∈ [0, 1), the range of momentum and Adam's β.</summary>
    public static void UnitInterval(double value, string name)
    {
        if (!(value >= 0 && value < 1))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1) (got {value}).");
    }

    public static void Positive(int value, string name)
    {
        if (value <= 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive (got {value}).");
    }

    public static void NonNegative(int value, string name)
    {
        if (value < 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 0 (got {value}).");
    }
}
