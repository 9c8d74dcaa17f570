// The --clip-norm a diverged run suggests: five times its usual gradient norm, two significant digits, rounded up.
@testable import VAE
import Testing

@Suite struct ClipSuggestionTests {
    @Test func fiveTimesTheUsualNormToTwoDigits() {
        #expect(TrainingSession.clipSuggestion(usualNorm: 97_513) == "490000")
        #expect(TrainingSession.clipSuggestion(usualNorm: 7_370) == "37000")
        #expect(TrainingSession.clipSuggestion(usualNorm: 2) == "10")
        #expect(TrainingSession.clipSuggestion(usualNorm: 0.0123) == "0.062")
    }

    @Test func noUsableNormGivesTheOldDefault() {
        #expect(TrainingSession.clipSuggestion(usualNorm: .nan) == "100")
        #expect(TrainingSession.clipSuggestion(usualNorm: 0) == "100")
        #expect(TrainingSession.clipSuggestion(usualNorm: .infinity) == "100")
    }
}
