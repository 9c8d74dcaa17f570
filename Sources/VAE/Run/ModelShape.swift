// ModelShape: the plain family's sizes read back from a block list, to compare a resumed run's flags with them.

extension ModelConfig {
    /// Output channels of the encoder's convolutions (the plain family's --widths).
    public var widths: [Int] { encoder.filter { $0.kind == .conv }.compactMap(\.channels) }
    /// Features of the encoder's fully connected layer before the heads (--hidden), if it has one.
    public var hidden: Int? { encoder.last { $0.kind == .linear }?.channels }
    /// The activation of the first block that has one (--activation).
    public var activation: Activation? { encoder.lazy.compactMap(\.activation).first }

    /// "28×28×1 widths 32,64 hidden 256 latent 16" (no comma between fields: it sits in a list).
    public var shapeSummary: String {
        "\(size)×\(size)×\(channels) widths \(widths.map(String.init).joined(separator: ",")) "
            + "hidden \(hidden.map(String.init) ?? "none") latent \(latent)"
    }
}
