namespace FastBackprop;

/// <summary>How a layer's weights start (its activation decides): He-normal N(0, 2/fan_in) for the ReLU family, keeping the
/// variance of the activations across layers; Xavier/Glorot-uniform U(−r, r), r = √(6/(fan_in + fan_out)), otherwise.</summary>
internal enum WeightInitialization
{
    Xavier,
    He,
}

/// <summary>
/// An activation's facts outside the kernels, one row each in <see cref="ActivationRegistry"/>: its command-line name, how
/// weights before it start, whether it trains, whether its derivative is written from z, whether it belongs on the output
/// layer only, and its ONNX form — the operators it is exported as and recognised by on import, in chain order (each
/// reads the one before; a "Mul" multiplies the layer's pre-activation z by the one before, as SiLU's z·σ(z)). The
/// kernels' operators are the other half (<c>ActivationTable</c>): a new elementwise activation is its enum value, its
/// two operators with their line there, and its row here.
/// </summary>
/// <param name="Kind">The activation.</param>
/// <param name="CliName">Its name for <c>--activation</c>, or null when the command line does not offer it as a hidden
/// activation (identity, step, softmax).</param>
/// <param name="Initialization">How the weights of a layer with it start.</param>
/// <param name="Trainable">Whether gradient descent can train through it (step's gradient is zero almost everywhere).</param>
/// <param name="DerivativeFromPreActivation">Whether g' is written from z rather than from a = g(z) (the layer keeps Z).</param>
/// <param name="OutputOnly">Whether only the last layer may have it (softmax, per row).</param>
/// <param name="OnnxOperators">The ONNX operators it is in chain order (none for the identity).</param>
internal sealed record ActivationInfo(ActivationKind Kind, string? CliName, WeightInitialization Initialization, bool Trainable,
    bool DerivativeFromPreActivation, bool OutputOnly, string[] OnnxOperators);

/// <summary>The one table of <see cref="ActivationInfo"/>, a row per <see cref="ActivationKind"/>.</summary>
internal static class ActivationRegistry
{
    private static readonly ActivationInfo[] Rows =
    [
        new(ActivationKind.Identity, null, WeightInitialization.Xavier, true, false, false, []),
        new(ActivationKind.Sigmoid, "sigmoid", WeightInitialization.Xavier, true, false, false, ["Sigmoid"]),
        new(ActivationKind.Tanh, "tanh", WeightInitialization.Xavier, true, false, false, ["Tanh"]),
        new(ActivationKind.ReLU, "relu", WeightInitialization.He, true, false, false, ["Relu"]),
        new(ActivationKind.LeakyReLU, "leaky-relu", WeightInitialization.He, true, false, false, ["LeakyRelu"]),
        // 1 for z > 0, else 0: Relu maps z ≤ 0 to 0, Sign maps the positive rest to 1.
        new(ActivationKind.Step, null, WeightInitialization.Xavier, false, false, false, ["Relu", "Sign"]),
        new(ActivationKind.Softmax, null, WeightInitialization.Xavier, true, false, true, ["Softmax"]),
        new(ActivationKind.SiLU, "silu", WeightInitialization.Xavier, true, true, false, ["Sigmoid", "Mul"]),
    ];

    static ActivationRegistry()
    {
        // A row per kind, in the enum's order, so Of is an index.
        for (int i = 0; i < Rows.Length; i++)
        {
            if ((int)Rows[i].Kind != i)
                throw new InvalidOperationException($"ActivationRegistry row {i} is {Rows[i].Kind}.");
        }
        if (Rows.Length != Enum.GetValues<ActivationKind>().Length)
            throw new InvalidOperationException("ActivationRegistry has no row for some ActivationKind.");
    }

    public static IReadOnlyList<ActivationInfo> All => Rows;

    /// <summary>The row of <paramref name="kind"/> (a defined kind).</summary>
    public static ActivationInfo Of(ActivationKind kind) => Rows[(int)kind];
}
