// Background names and their JSON form; folder creation and atomic-write failures as one-line messages.
import Foundation
import Testing
import TestSupport
@testable import ImageIO

@Suite struct BackgroundTests {
    @Test func namesReadBackAsTheSameColour() throws {
        for text in ["white", "black", "gray", "#FF8000", "#0a0B0c"] {
            let colour = try #require(Background(text))
            #expect(Background(colour.name) == colour, "\(text)")
        }
        #expect(Background("Grey")?.name == "gray")
        #expect(Background("#0a0B0c")?.name == "#0A0B0C")
        #expect(Background("#FFFFFF")?.name == "white")
        #expect(Background("purple") == nil)
    }

    @Test func savedAsItsName() throws {
        let json = try JSONEncoder().encode([Background.gray, Background("#102030")!])
        #expect(String(decoding: json, as: UTF8.self) == ##"["gray","#102030"]"##)
        #expect(try JSONDecoder().decode([Background].self, from: json) == [.gray, Background("#102030")!])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Background].self, from: Data(#"["purple"]"#.utf8)) }
    }

    /// NSString's deletingLastPathComponent traps on "q" and "x/" on Linux; this does not.
    @Test func parentFolders() {
        let cases = ["q": "", "x/": "", "ab": "", "a/q": "a", "/q": "/", "/": "/", "a//b": "a", "./q": ".", "a/b/": "a", "/a/b": "/a"]
        for (path, parent) in cases { #expect(Folders.parent(of: path) == parent, "\(path)") }
    }

    /// FileManager's errors print as an NSCocoaErrorDomain dump; ours name the path and the cause.
    @Test func folderAndWriteFailuresAreOneLine() throws {
        let base = temporaryFolder("vae-folders")
        try Data("x".utf8).write(to: URL(fileURLWithPath: base + "/file"))
        try Folders.create(base + "/a/b/c")
        #expect(FileManager.default.fileExists(atPath: base + "/a/b/c"))
        let blocked = #expect(throws: ImageIOError.self) { try Folders.create(base + "/file/run") }
        #expect(blocked?.description == base + "/file: cannot write (a file of that name is in the way)")
        let write = #expect(throws: ImageIOError.self) { try AtomicFile.write("x", to: base + "/missing/x.txt") }
        #expect(write?.description == base + "/missing/x.txt: cannot write (no such file or directory)")
    }
}
