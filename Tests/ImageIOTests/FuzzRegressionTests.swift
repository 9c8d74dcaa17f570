// Inputs the fuzzers (Tests/Fuzz) once crashed on, in Fixtures/fuzz-regressions: each must now give a clean one-line error.
import Foundation
import Testing
@testable import ImageIO

/// The paths of Fixtures/fuzz-regressions/ whose names start with `prefix` (the fuzz target's name).
func imageFuzzRegressions(_ prefix: String) -> [String] {
    guard let folder = Bundle.module.url(forResource: "fuzz-regressions", withExtension: nil, subdirectory: "Fixtures"),
          let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
    return names.filter { $0.hasPrefix(prefix) }.sorted().map { folder.path + "/" + $0 }
}

@Suite struct ImageFuzzRegressionTests {
    @Test func pngInputsArePresent() {
        #expect(!imageFuzzRegressions("png-").isEmpty)
    }

    @Test(arguments: imageFuzzRegressions("png-") + imageFuzzRegressions("jpeg-"))
    func refusedWithOneLine(_ path: String) {
        do {
            _ = try ImageDecoder.decode(file: path)
            Issue.record("\(path) decoded")
        } catch {
            let message = "\(error)"
            #expect(error is ImageIOError)
            #expect(message.hasPrefix(path + ": ") && !message.contains("\n"), "\(message)")
        }
    }

    /// libpng allocated a chunk's declared length up front: 2 GB for this 46-byte file.
    @Test func chunkLongerThanTheFileIsRefusedBeforeLibpng() throws {
        let path = try #require(imageFuzzRegressions("png-2gb-text-chunk").first)
        #expect(throws: ImageIOError.corrupt(path: path, format: .png,
                                             reason: "chunk 'tEXt' declares 2052348020 bytes, more than the 5 left in the file")) {
            try ImageDecoder.decode(file: path)
        }
    }
}
