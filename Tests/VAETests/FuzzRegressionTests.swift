// Inputs the fuzzers (Tests/Fuzz) once crashed on, in Fixtures/fuzz-regressions: each must now give a clean one-line error.
import Foundation
import Testing
@testable import VAE

/// The paths of Fixtures/fuzz-regressions/ whose names start with `prefix` (the fuzz target's name).
func fuzzRegressions(_ prefix: String) -> [String] {
    guard let folder = Bundle.module.url(forResource: "fuzz-regressions", withExtension: nil, subdirectory: "Fixtures"),
          let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
    return names.filter { $0.hasPrefix(prefix) }.sorted().map { folder.path + "/" + $0 }
}

@Suite struct FuzzRegressionTests {
    @Test func everyTargetHasItsInputs() {
        #expect(!fuzzRegressions("safetensors-").isEmpty)
    }

    @Test(arguments: fuzzRegressions("safetensors-"))
    func safetensorsRefused(_ path: String) {
        do {
            _ = try Safetensors.read(path)
            Issue.record("\(path) was accepted")
        } catch {
            let message = "\(error)"
            #expect(error is SafetensorsError)
            #expect(message.hasPrefix(path + ": ") && !message.contains("\n"), "\(message)")
        }
    }
}
