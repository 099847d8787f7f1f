using System.Numerics;

namespace FastBackprop.Kernels.Elementwise;

/// <summary>Receives an activation's operators from <see cref="ActivationTable{T}"/>: the forward operator (z, z) → g(z) and
/// the derivative operator (δ, operand) → δ·g', whose operand is a = g(z) or, where
/// <see cref="Activation.DerivativeNeedsPreActivation"/>, z. Structs, so every use is specialised and inlined.</summary>
internal interface IActivationVisitor<T> where T : unmanaged
{
    void Visit<TForward, TDerivative>(TForward forward, TDerivative derivative)
        where TForward : struct, IBinaryOperator<T>
        where TDerivative : struct, IBinaryOperator<T>;
}

/// <summary>
/// The one place that maps an activation to its operators (the activation switch was written out in four
/// kernels). The forward GEMM epilogue, the δ epilogue, the elementwise passes and the unfused paths all dispatch here,
/// so a new elementwise activation is its enum entry, its two operators and one line below, plus its row in
/// <see cref="ActivationRegistry"/> (command-line name, initialisation, ONNX operators) and the test reference.
/// </summary>
internal static class ActivationTable<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Calls <paramref name="visitor"/> with the operators of <paramref name="activation"/> (every kind but softmax,
    /// which is per row; step's derivative is a placeholder callers never run, as step is not trainable).</summary>
    public static void Visit<TVisitor>(Activation activation, ref TVisitor visitor) where TVisitor : IActivationVisitor<T>, allows ref struct
    {
        switch (activation.Kind)
        {
            case ActivationKind.Identity:
                visitor.Visit(new IdentityOperator<T>(), new IdentityOperator<T>());
                break;
            case ActivationKind.Sigmoid:
                visitor.Visit(new SigmoidOperator<T>(), new SigmoidDerivativeOperator<T>());
                break;
            case ActivationKind.Tanh:
                visitor.Visit(new TanhOperator<T>(), new TanhDerivativeOperator<T>());
                break;
            case ActivationKind.ReLU:
                visitor.Visit(new ReluOperator<T>(), new ReluDerivativeOperator<T>());
                break;
            case ActivationKind.LeakyReLU:
                T alpha = T.CreateChecked(activation.Alpha);
                visitor.Visit(new LeakyReluOperator<T>(alpha), new LeakyReluDerivativeOperator<T>(alpha));
                break;
            case ActivationKind.SiLU:
                visitor.Visit(new SiluOperator<T>(), new SiluDerivativeOperator<T>());
                break;
            case ActivationKind.Step:
                visitor.Visit(new StepOperator<T>(), new IdentityOperator<T>());
                break;
            default:
                throw new InvalidOperationException($"{activation} is not an elementwise activation.");
        }
    }
}
