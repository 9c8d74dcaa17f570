// vae inspect: decodes every file named (or under the folders named) and says what each one is.
import ArgumentParser
import Foundation
import ImageIO

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that image files decode, one line per file.",
        discussion: """
        Prints 'ok PATH WIDTHxHEIGHT CHANNELSch BITSbit FORMAT' for each image that decodes and 'error PATH: reason' for each that does not, then a summary. Folders are searched recursively; every file in them is tried. Exit status 0 when all decode, 1 otherwise.
        """)

    @Argument(help: "Image files or folders.")
    var paths: [String]

    @Option(help: "Refuse images with more pixels than this (megapixels).")
    var maxMegapixels: Int = 100

    func run() throws {
        let options = DecodeOptions(maxPixels: maxMegapixels * 1_000_000)
        var ok = 0, failed = 0
        for path in paths {
            let files: [String]
            do {
                files = try FolderScan.imageFiles(in: [path], sniff: false)
            } catch {
                print("error \(error)")
                failed += 1
                continue
            }
            for file in files {
                do {
                    let image = try ImageDecoder.decode(file: file, options: options)
                    let info = image.info
                    let details = info.details.isEmpty ? "" : " (" + info.details.joined(separator: ", ") + ")"
                    print("ok \(file) \(image.width)x\(image.height) \(info.channels)ch \(info.bitDepth)bit \(info.format.name)\(details)")
                    ok += 1
                } catch {
                    print("error \(error)")
                    failed += 1
                }
            }
        }
        print("\(ok + failed) files: \(ok) ok, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }
}
