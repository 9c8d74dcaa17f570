// ModelDefaults: the model and training settings vae train picks for gray or colour images when no flag chooses them.
import VAECore

/// Chosen by measurement, every candidate trained for the same time (README, "How the defaults were
/// chosen"). A flag given by the user always wins over the value here.
public struct ModelDefaults: Sendable, Equatable {
    public var architecture: ModelChoice.Architecture
    public var likelihood: LikelihoodKind
    /// nil: the family's rule for the size (ModelChoice.defaultWidths).
    public var widths: [Int]?
    public var hidden: Int?
    public var latent: Int
    public var batch: Int
    public var schedule: LearningRateSchedule.Kind
    /// Steps over which β rises from 0 (nil: none).
    public var klWarmup: Int?
    /// Soft clamp of the posterior heads (nil: none, for both). Measured on a 30-minute emoji run at
    /// lr 1e-3: the clamp at 5 did not prevent the blow-up that ends such runs (epoch 48 instead of
    /// 39); the codes then sat at the clamp's bounds, where tanh has no slope, and the run went on
    /// broken instead of stopping at non-finite steps with its last good weights.
    public var latentClamp: Float? = nil
    /// Adam's learning rate. Colour takes 5e-4: at 1e-3 a 30-minute emoji run blew up (gradient
    /// spikes in epoch 65, then a cascade in epoch 73 whose losses went non-finite, which leaving
    /// out spiky updates cannot stop), while at 5e-4 one trained 121 epochs without (README,
    /// Results); at 8 minutes 5e-4 gave test IWAE-100 2.8972 bits/dim, where 1e-3 was about
    /// 0.06 bits/dim ahead on validation at the same epoch.
    public var learningRate: Float = 1e-3
    /// Components of the prior learned with the model (nil: N(0, I)). Gray takes 32: on
    /// Fashion-MNIST in 228 s it gave test IWAE-100 233.18 nats against N(0, I)'s 234.65, at the
    /// same pace (128 components: 233.23). Colour keeps N(0, I) (not measured there yet).
    public var priorMixture: Int? = nil
    /// The Bernoulli pixels' autoregressive term (nil: none). Gray takes a linear 5×5 one: on
    /// Fashion-MNIST in 228 s, test IWAE-100 221.29 nats against 233.18 without, KL 6.34 nats;
    /// 16 hidden channels at 7×7 gave 215.84 but left z 2.48 nats (README, "Pixels that see their
    /// neighbours"). Colour's logistic mixture has none.
    public var autoregressive: ModelConfig.Autoregressive? = nil

    /// Gray images: the plain family with Bernoulli, so that bounds stay comparable with other
    /// Fashion-MNIST figures; its pace (about 3,500 images/s at 28×28 on 2 cores) buys many epochs.
    /// Colour: residual blocks and the discretized logistic mixture (a likelihood of the 8-bit
    /// data), at half the plain family's widths, whose pace is 2.7× that of full widths; batch 16
    /// takes four times the steps of 64 at the same images/s, which small colour sets need; the KL
    /// warm-up leaves the decoder time to use z (KL 160 against 137 nats at the same epoch).
    /// Gray keeps a constant rate: it beat the cosine by 2.0 nats of validation −ELBO at 14 epochs
    /// there, and a constant-rate run can be extended with --resume --epochs. Colour keeps it too:
    /// the cosine was ahead by only 0.02 bits/dim at epoch 35 on emoji (one seed), and 30-minute
    /// colour runs diverged after 9–10 minutes with either schedule (README, Results).
    public static func choice(channels: Int, size: Int) -> ModelDefaults {
        if channels == 1 {
            return ModelDefaults(architecture: .plain, likelihood: .bernoulli, widths: nil, hidden: 256, latent: 16,
                                 batch: 128, schedule: .constant, klWarmup: nil, priorMixture: 32,
                                 autoregressive: .init(channels: 0))
        }
        return ModelDefaults(architecture: .resnet, likelihood: .logistic,
                             widths: ModelChoice.defaultWidths(size: size).map { Swift.max(1, $0 / 2) }, hidden: nil,
                             latent: 64, batch: 16, schedule: .constant, klWarmup: 2000, learningRate: 5e-4)
    }
}
