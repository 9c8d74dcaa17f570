// Inputs the fuzzers (Tests/Fuzz) once crashed on, in Fixtures/fuzz-regressions: each must now give a clean one-line error.
import Foundation
import Testing
@testable import VAE

/// The paths of Fixtures/`folder` whose names start with `prefix` (the fuzz target's name).
func fuzzRegressions(_ prefix: String, in folder: String = "fuzz-regressions") -> [String] {
    guard let folder = Bundle.module.url(forResource: folder, withExtension: nil, subdirectory: "Fixtures"),
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

    @Test(arguments: fuzzRegressions("config-"))
    func configRefused(_ path: String) {
        do {
            let config = try RunConfig.read(path)
            #expect(config.model.problem != nil, "\(path) was accepted")
        } catch {
            let message = "\(error)"
            #expect(message.hasPrefix(path + ": ") && !message.contains("\n"), "\(message)")
        }
    }

    /// Once a crash: a config.json with 64 widths made ModelConfig.problem divide by 1 << 64 = 0.
    @Test(arguments: fuzzRegressions("config-", in: "fuzz-known"))
    func knownConfigCrashRefused(_ path: String) throws {
        #expect(throws: RunError.self) { try RunConfig.read(path) }
    }
}
