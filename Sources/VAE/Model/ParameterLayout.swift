// ParameterLayout: every parameter tensor's name, shape and place in the one flat buffer,
// named and ordered exactly as the PyTorch peer's state_dict.
import VAECore

public struct ParameterTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var offset: Int
    /// PyTorch's fan-in, which its default initialisation bound uses.
    public var fanIn: Int
    public var role: ParameterRole
    public var count: Int { shape.reduce(1, *) }
}

/// llm.c's table of sizes: tensors appended in declaration order, each at the running offset.
public struct ParameterLayout: Sendable {
    public private(set) var tensors: [ParameterTensor] = []
    public private(set) var count = 0

    init() {}

    /// Appends a layer's tensors named "prefix.local" (or "local" without a prefix); returns the first one's offset.
    mutating func add(_ specs: [ParameterSpec], prefix: String) -> Int {
        let start = count
        for spec in specs {
            tensors.append(ParameterTensor(name: prefix.isEmpty ? spec.name : prefix + "." + spec.name, shape: spec.shape,
                                           offset: count, fanIn: spec.fanIn, role: spec.role))
            count += spec.count
        }
        return start
    }

    public subscript(name: String) -> ParameterTensor? { tensors.first { $0.name == name } }
}
