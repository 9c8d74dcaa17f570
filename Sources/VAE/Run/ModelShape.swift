// ModelShape: the part of a model that a preset fixes, written out to compare a resumed run's flags with it.

extension ModelConfig {
    /// "28×28×1 widths 32,64 hidden 256 latent 16" (no comma between fields: it sits in a list).
    public var shapeSummary: String {
        "\(size)×\(size)×\(channels) widths \(widths.map(String.init).joined(separator: ",")) "
            + "hidden \(hidden.map(String.init) ?? "none") latent \(latent)"
    }
}
