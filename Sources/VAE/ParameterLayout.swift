// ParameterLayout: every parameter tensor's name, shape and place in the one flat buffer,
// named and ordered exactly as the PyTorch peer's state_dict.

public struct ParameterTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var offset: Int
    /// PyTorch's default init bound: 1/sqrt(fan_in) for weight and bias alike.
    public var fanIn: Int
    public var count: Int { shape.reduce(1, *) }
}

public struct ParameterLayout: Sendable {
    public private(set) var tensors: [ParameterTensor] = []
    public private(set) var count = 0

    init() {}

    mutating func add(_ name: String, _ shape: [Int], fanIn: Int) -> Int {
        tensors.append(ParameterTensor(name: name, shape: shape, offset: count, fanIn: fanIn))
        count += shape.reduce(1, *)
        return count - shape.reduce(1, *)
    }

    public subscript(name: String) -> ParameterTensor? { tensors.first { $0.name == name } }
}
