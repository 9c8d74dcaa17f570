// Layer: the protocol every network layer implements, with the shapes and parameter declarations it uses.

/// The shape of one image's activation. Planes (`isFlat == false`) are laid out channel-major over
/// the batch, (C, B, H, W), so one GEMM covers a chunk of images; vectors (`isFlat`, H = W = 1) are
/// laid out image-major, (B, C), as a fully connected layer's GEMM wants them.
public struct TensorShape: Sendable, Equatable, CustomStringConvertible {
    public var channels, height, width: Int
    public var isFlat: Bool

    public init(channels: Int, height: Int, width: Int) {
        (self.channels, self.height, self.width, isFlat) = (channels, height, width, false)
    }

    public init(features: Int) {
        (channels, height, width, isFlat) = (features, 1, 1, true)
    }

    /// Floats per image.
    public var count: Int { channels * height * width }
    public var description: String { isFlat ? "\(channels)" : "\(channels)×\(height)×\(width)" }
}

/// How a parameter tensor starts: a weight (drawn by the initialisation scheme from its fan-in),
/// a bias (zero under He-normal, uniform under PyTorch's scheme), a fixed value, or draws from
/// N(0, σ²) whatever the scheme (a learned prior's means).
public enum ParameterRole: Sendable, Equatable {
    case weight, bias
    case constant(Float)
    case normal(Float)
}

/// One parameter tensor a layer declares: its local name ("weight"), shape in PyTorch's layout,
/// and fan-in (PyTorch's, which its default initialisation bound uses).
public struct ParameterSpec: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var fanIn: Int
    public var role: ParameterRole

    public init(_ name: String, _ shape: [Int], fanIn: Int, role: ParameterRole) {
        (self.name, self.shape, self.fanIn, self.role) = (name, shape, fanIn, role)
    }

    public var count: Int { shape.reduce(1, *) }
}

/// A layer of the network: darknet's list of layers, with llm.c's forward/backward pairs over flat buffers.
///
/// The gradient convention, the same for every layer: `backward` *adds* (+=) its parameters'
/// gradients into `gradients` (the flat gradient buffer, zeroed once per step), and *writes* (=)
/// the input gradient `dx`. A value read by two layers (the two latent heads) gets its second
/// contribution from the network, which asks for it explicitly.
///
/// `parameters` and `gradients` point at this layer's own slice of the flat buffers, its tensors
/// in the order `parameters` declares them. `scratch` is one buffer shared by all layers (sized to
/// the largest `scratchCount`), free for the duration of one call. `saved` is this layer's own
/// slice (`savedCount` floats, allocated by the workspace beside y) for what its backward pass
/// needs beyond x and y, written by `forward` and read (and possibly overwritten) by `backward`.
/// Layers that keep nothing else implement `StatelessLayer`'s passes without it.
public protocol Layer: Sendable {
    var inputShape: TensorShape { get }
    var outputShape: TensorShape { get }
    /// Parameter tensors in flat-buffer order (none for layers without weights).
    var parameters: [ParameterSpec] { get }
    /// Multiply-adds of one image's forward pass (for FLOP figures).
    var multiplyAdds: Int { get }
    /// Floats of shared scratch `forward` and `backward` need for a batch of `batch`.
    func scratchCount(batch: Int) -> Int
    /// Floats this layer keeps from `forward` for `backward`, beyond x and y, for a batch of `batch`.
    func savedCount(batch: Int) -> Int
    /// x (batch × inputShape) → y (batch × outputShape), overwriting y; fills `saved`.
    func forward(_ x: UnsafePointer<Float>, into y: FloatPointer, saved: FloatPointer, batch: Int,
                 parameters: UnsafePointer<Float>, scratch: FloatPointer, profiler: Profiler)
    /// Given dy, its forward input x and output y, and what `forward` left in `saved` (the layer may
    /// overwrite dy and saved): adds the parameter gradients into `gradients` and, when `dx` is
    /// given, writes the input gradient there.
    func backward(_ dy: FloatPointer, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: FloatPointer,
                  dx: FloatPointer?, batch: Int, parameters: UnsafePointer<Float>, gradients: FloatPointer,
                  scratch: FloatPointer, profiler: Profiler)
}

/// A layer whose backward pass needs nothing from its forward pass but x and y: every layer but
/// the residual block. Its passes take no `saved` slice.
public protocol StatelessLayer: Layer {
    /// x (batch × inputShape) → y (batch × outputShape), overwriting y.
    func forward(_ x: UnsafePointer<Float>, into y: FloatPointer, batch: Int, parameters: UnsafePointer<Float>,
                 scratch: FloatPointer, profiler: Profiler)
    /// Given dy (which the layer may overwrite), its forward input x and output y: adds the parameter
    /// gradients into `gradients` and, when `dx` is given, writes the input gradient there.
    func backward(_ dy: FloatPointer, x: UnsafePointer<Float>, y: UnsafePointer<Float>, dx: FloatPointer?, batch: Int,
                  parameters: UnsafePointer<Float>, gradients: FloatPointer, scratch: FloatPointer, profiler: Profiler)
}

extension StatelessLayer {
    public func savedCount(batch: Int) -> Int { 0 }

    public func forward(_ x: UnsafePointer<Float>, into y: FloatPointer, saved: FloatPointer, batch: Int,
                        parameters: UnsafePointer<Float>, scratch: FloatPointer, profiler: Profiler) {
        forward(x, into: y, batch: batch, parameters: parameters, scratch: scratch, profiler: profiler)
    }

    public func backward(_ dy: FloatPointer, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: FloatPointer,
                         dx: FloatPointer?, batch: Int, parameters: UnsafePointer<Float>, gradients: FloatPointer,
                         scratch: FloatPointer, profiler: Profiler) {
        backward(dy, x: x, y: y, dx: dx, batch: batch, parameters: parameters, gradients: gradients, scratch: scratch,
                 profiler: profiler)
    }
}

extension Layer {
    public var parameters: [ParameterSpec] { [] }
    public var multiplyAdds: Int { 0 }
    public func scratchCount(batch: Int) -> Int { 0 }
    /// Floats of all this layer's parameters.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}

/// Why a layer cannot follow a tensor of `shape`, for the network builder's messages.
public struct LayerShapeError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
