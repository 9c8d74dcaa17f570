// Train+ResumeFlags: the flags given with --resume that fix a setting of the run, to be checked against the saved one.
import Foundation
import ImageIO
import VAE

extension Train {
    /// With --resume: every flag given that fixes a setting of the run, to be checked against
    /// the saved one. --initialization has a default rather than "not given", so it is checked
    /// when it differs from its default.
    func fixedSettings() throws -> [FixedSetting] {
        var fixed: [FixedSetting] = []
        var fresh = self
        fresh.resume = nil
        guard let model = try fresh.modelConfig() else { return [] }
        let list = { (v: [Int]) in v.map(String.init).joined(separator: ",") }
        let optional = { (v: Int?) in v.map(String.init) ?? "none" }
        let shapeFlags: [(String, String?)] = [("--size", size.map(String.init)), ("--channels", channels.map(String.init)),
                                               ("--latent", latent.map(String.init)), ("--widths", widths),
                                               ("--hidden", hidden.map(String.init))]
        if let preset {
            // A preset with any of these flags describes the whole shape, as it would for a new run.
            let flags = (["--preset \(preset)"] + shapeFlags.compactMap { flag, value in value.map { "\(flag) \($0)" } })
                .joined(separator: " ")
            fixed.append(FixedSetting(flags, given: model.shapeSummary, saved: \.model.shapeSummary))
        } else {
            if size != nil { fixed.append(FixedSetting("--size", given: model.size, saved: \.model.size)) }
            if channels != nil { fixed.append(FixedSetting("--channels", given: model.channels, saved: \.model.channels)) }
            if latent != nil { fixed.append(FixedSetting("--latent", given: model.latent, saved: \.model.latent)) }
            if widths != nil { fixed.append(FixedSetting("--widths", given: model.widths, saved: \.model.widths, show: list)) }
            if hidden != nil { fixed.append(FixedSetting("--hidden", given: model.hidden, saved: \.model.hidden, show: optional)) }
        }
        if let arch {
            fixed.append(FixedSetting("--arch", given: arch, saved: \.model.architecture, show: { $0.rawValue }))
        }
        if let likelihood {
            fixed.append(FixedSetting("--likelihood", given: likelihood, saved: \.model.likelihood, show: { $0.rawValue }))
        }
        if gaussianScale != nil {
            fixed.append(FixedSetting("--gaussian-scale", given: model.logScale, saved: \.model.logScale, show: { String(format: "%g", exp($0)) }))
        }
        if learnScale { fixed.append(FixedSetting("--learn-scale", given: true, saved: \.model.learnScale)) }
        if let mixtures { fixed.append(FixedSetting("--mixtures", given: mixtures, saved: \.model.mixtureCount)) }
        if let latentClamp {
            fixed.append(FixedSetting("--latent-clamp", given: latentClamp > 0 ? latentClamp : nil, saved: \.model.latentClamp,
                                      show: { $0.map { String(format: "%g", $0) } ?? "0" }))
        }
        if let priorMixture {
            fixed.append(FixedSetting("--prior-mixture", given: priorMixture > 0 ? priorMixture : nil, saved: \.model.priorMixture,
                                      show: { $0.map(String.init) ?? "0" }))
        }
        // From the flags alone (without the images the model's defaults are colour's, which have
        // no term), each flag against its own part, so that repeating one does not imply the other's default.
        if let autoregressive {
            fixed.append(FixedSetting("--autoregressive", given: autoregressive.hidden, saved: \.model.autoregressive?.channels,
                                      show: { $0.map { $0 == 0 ? "linear" : "\($0) channels" } ?? "none" }))
        }
        if let autoregressiveKernel {
            fixed.append(FixedSetting("--autoregressive-kernel", given: Optional(autoregressiveKernel),
                                      saved: \.model.autoregressive?.kernel, show: { $0.map(String.init) ?? "none" }))
        }
        if initialization != .kaiming {
            fixed.append(FixedSetting("--initialization", given: model.initialization, saved: \.model.initialization,
                                      show: { $0.rawValue }))
        }
        if let activation {
            fixed.append(FixedSetting("--activation", given: activation, saved: \.model.activation,
                                      show: { $0?.rawValue ?? "none" }))
        }
        if self.model != nil {
            fixed.append(FixedSetting("--model \(self.model!)", given: model, saved: \.model, show: \.summary))
        }
        if let fit { fixed.append(FixedSetting("--fit", given: fit, saved: \.data.fit, show: { $0.rawValue })) }
        if let background, let colour = Background(background) {
            fixed.append(FixedSetting("--background", given: colour, saved: \.data.background, show: { $0.name }))
        }
        if let batch { fixed.append(FixedSetting("--batch", given: batch, saved: \.training.batch)) }
        if let lr { fixed.append(FixedSetting("--lr", given: lr, saved: \.training.learningRate)) }
        if let beta { fixed.append(FixedSetting("--beta", given: beta, saved: \.training.beta)) }
        if let seed { fixed.append(FixedSetting("--seed", given: seed, saved: \.training.seed)) }
        if let shards { fixed.append(FixedSetting("--shards", given: shards, saved: \.training.shards)) }
        if let valFraction { fixed.append(FixedSetting("--val-fraction", given: valFraction, saved: \.training.validationFraction)) }
        if let clipNorm {
            fixed.append(FixedSetting("--clip-norm", given: clipNorm, saved: \.training.clipNorm, show: { $0.map { "\($0)" } ?? "none" }))
        }
        if let skipSpikes {
            fixed.append(FixedSetting("--skip-spikes", given: skipSpikes > 0 ? skipSpikes : nil, saved: \.training.skipSpikes,
                                      show: { $0.map { "\($0)" } ?? "0" }))
        }
        if let averageDecay {
            fixed.append(FixedSetting("--average-decay", given: averageDecay > 0 ? averageDecay : nil, saved: \.training.averageDecay,
                                      show: { $0.map { "\($0)" } ?? "0" }))
        }
        // auto with --resume means the run's own precision.
        if let precision, precision != .auto {
            fixed.append(FixedSetting("--precision", given: precision, saved: \.training.runPrecision, show: \.rawValue))
        }
        return fixed + schedules.fixedSettings()
    }
}
