using System.Numerics;

namespace FastBackprop;

/// <summary>
/// A first-order optimizer that updates a contiguous parameter buffer (such as <see cref="Network{T}.Parameters"/>)
/// from a gradient buffer of the same layout (such as <see cref="Gradients{T}.Values"/>).
/// </summary>
/// <remarks>
/// <para>The learning rate is an argument of every <see cref="Step{T}(Span{T}, ReadOnlySpan{T}, double)"/> so a
/// <see cref="LearningRateSchedule"/> can drive it; the other hyper-parameters belong to the optimizer.
/// The built-in optimizers follow the definitions of PyTorch's <c>torch.optim</c>: weight decay applies to every
/// parameter (biases included), and each update is one vectorised sweep over the buffer that does not allocate.</para>
/// <para>State (velocities, moments, the step count) is allocated on the first step for that buffer's length and
/// element type; stepping a buffer of another length or type afterwards throws until <see cref="Reset"/> is
/// called. An optimizer is not thread-safe and serves one parameter buffer at a time.</para>
/// </remarks>
public abstract class Optimizer
{
    private Array? state;
    private int boundLength = -1;
    private Type? boundType;

    /// <summary>Initialises the weight-decay coefficient λ (finite, ≥ 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="weightDecay"/> is negative, NaN or infinite.</exception>
    protected Optimizer(double weightDecay)
    {
        Guard.NonNegativeFinite(weightDecay, nameof(weightDecay));
        WeightDecay = weightDecay;
    }

    /// <summary>The weight-decay coefficient λ (0 = none).</summary>
    public double WeightDecay { get; }

    /// <summary>Steps taken since construction or the last <see cref="Reset"/> (PyTorch's <c>t</c>).</summary>
    public long StepCount { get; private set; }

    /// <summary>The parameter count the state is allocated for, or null before the first step (and after <see cref="Reset"/>).</summary>
    public int? ParameterCount => boundLength < 0 ? null : boundLength;

    /// <summary>How many values of state the optimizer keeps per parameter (0 for plain SGD, 1 for momentum, 2 for Adam).</summary>
    protected abstract int StateSlots { get; }

    /// <summary>Updates <paramref name="parameters"/> in place from <paramref name="gradients"/> (same length) with
    /// learning rate <paramref name="learningRate"/>, and advances <see cref="StepCount"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is not positive and finite.</exception>
    /// <exception cref="ArgumentException">The buffers differ in length, or the state was allocated for a buffer of
    /// another length or element type (call <see cref="Reset"/> to start over).</exception>
    public void Step<T>(Span<T> parameters, ReadOnlySpan<T> gradients, double learningRate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Guard.PositiveFinite(learningRate, nameof(learningRate));
        if (gradients.Length != parameters.Length)
            throw new ArgumentException($"gradients has {gradients.Length} elements but parameters has {parameters.Length}.", nameof(gradients));
        Span<T> slots = StateFor<T>(parameters.Length);
        long step = StepCount + 1;
        Update(parameters, gradients, slots, learningRate, step);
        StepCount = step;
    }

    /// <summary>Updates <paramref name="network"/>'s parameters from <paramref name="gradients"/> (from
    /// <see cref="Network{T}.CreateGradients"/> and <see cref="Network{T}.ComputeGradients(ReadOnlySpan{T}, ReadOnlySpan{T}, int, Loss, Gradients{T})"/>).</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is not positive and finite.</exception>
    /// <exception cref="ArgumentException">The gradients belong to a network of another size, or the state was
    /// allocated for another buffer.</exception>
    public void Step<T>(Network<T> network, Gradients<T> gradients, double learningRate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(gradients);
        if (gradients.Values.Length != network.Parameters.Length)
            throw new ArgumentException(
                $"gradients has {gradients.Values.Length} values but the network has {network.Parameters.Length} parameters.", nameof(gradients));
        Step(network.Parameters, (ReadOnlySpan<T>)gradients.Values, learningRate);
    }

    /// <summary>Forgets all state: the step count returns to 0, moments and velocities to zero, and the next step
    /// may use a buffer of any length or element type. Buffers of the same size are reused, not reallocated.</summary>
    public void Reset()
    {
        StepCount = 0;
        boundLength = -1;
        boundType = null;
    }

    /// <summary>
    /// Applies one update. <paramref name="state"/> holds <see cref="StateSlots"/> × parameters.Length values,
    /// zero before the first step, slot by slot (slot s is <c>state[(s·n)..((s+1)·n)]</c>); <paramref name="step"/>
    /// is the 1-based step number t. Arguments are already validated.
    /// </summary>
    protected abstract void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> state, double learningRate, long step)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>;

    private Span<T> StateFor<T>(int length)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (boundLength >= 0)
        {
            if (boundLength != length)
                throw new ArgumentException(
                    $"parameters has {length} elements but this optimizer's state was allocated for {boundLength}; call Reset() to use it on another buffer.",
                    "parameters");
            if (boundType != typeof(T))
                throw new ArgumentException(
                    $"This optimizer's state holds {boundType!.Name} values; it cannot step {typeof(T).Name} parameters without Reset().",
                    "parameters");
            return (T[])state!;
        }
        long wanted = (long)StateSlots * length;
        if (wanted > Array.MaxLength)
            throw new ArgumentException(
                $"{GetType().Name} keeps {StateSlots} values per parameter: {wanted:N0} for {length:N0} parameters, more than one array can hold ({Array.MaxLength:N0}); use a smaller network or an optimizer with less state (SGD keeps none).",
                "parameters");
        int size = (int)wanted;
        if (state is T[] reused && reused.Length == size)
            reused.AsSpan().Clear();
        else
            state = new T[size];
        boundLength = length;
        boundType = typeof(T);
        return (T[])state;
    }
}
