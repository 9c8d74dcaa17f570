// PriorChoice: --prior fitted|standard, and the run's fitted mixture it picks (vae sample, vae evaluate).
import ArgumentParser
import Foundation
import VAE

enum PriorChoice: String, ExpressibleByArgument, CaseIterable {
    case fitted, standard

    /// The fitted mixture `choice` asks for in `runFolder`, or nil for N(0, I) alone. With no
    /// choice, the run's prior when it fits the model; a stale one is passed over with a note that
    /// says what happens instead (`fallback`, e.g. "sampling from N(0, I)"; --prior fitted refuses one instead).
    static func mixture(_ choice: PriorChoice?, in runFolder: String, for model: Model,
                        fallback: String = "using N(0, I)") throws -> GaussianMixture? {
        if choice == .standard { return nil }
        let lookup: RunFolder.PriorLookup
        do { lookup = try RunFolder.prior(in: runFolder, for: model) } catch {
            throw RunFailure("\(error)" + (choice == nil ? "; pass --prior standard for N(0, I) alone" : ""))
        }
        switch (lookup, choice) {
        case let (.fitted(saved), _): return saved.mixture
        case (.none, .fitted):
            throw RunFailure("\(runFolder): no fitted prior here (\(SavedPrior.file)); make one with 'vae fit-prior \(runFolder)'")
        case let (.stale(why), .fitted):
            throw RunFailure("\(why); fit it again with 'vae fit-prior \(runFolder)', or pass --prior standard")
        case let (.stale(why), _):
            warn("note: \(why); \(fallback) (fit it again with 'vae fit-prior \(runFolder)')")
            return nil
        case (.none, _): return nil
        }
    }
}
