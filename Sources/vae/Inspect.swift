// vae inspect: decodes every file named (or under the folders named) and says what each one is.
import ArgumentParser
import Foundation
import ImageIO

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that image files decode, one line per file.",
        discussion: """
        Prints 'ok PATH WIDTHxHEIGHT CHANNELSch BITSbit FORMAT' for each image that decodes and 'error PATH: reason' for each that does not, then a summary. Folders are searched recursively, each once however many links lead to it; every regular file in them is tried. FIFOs, sockets, devices, link loops and vae run folders are skipped with a 'note' line; a folder that cannot be read gives an 'error' line and the rest is still read. Exit status 0 when all decode, 1 otherwise.
        """)

    @Argument(help: "Image files or folders.")
    var paths: [String]

    @Option(help: "Refuse images with more pixels than this (megapixels, at most 1000).")
    var maxMegapixels: Double = 100

    func validate() throws {
        try PixelLimit.validate(maxMegapixels)
    }

    func run() throws {
        try PixelLimit.checkMemory(maxMegapixels)
        let options = DecodeOptions(maxPixels: PixelLimit.pixels(maxMegapixels))
        var ok = 0, failed = 0
        for path in paths {
            let scan: FolderScan.Result
            do {
                scan = try FolderScan.scan([path], sniff: false)
            } catch {
                print("error \(error)")
                failed += 1
                continue
            }
            for note in scan.notes {
                // A folder that cannot be read hides images: a failure. The rest are left out on purpose.
                if note.kind == .unreadableFolder {
                    print("error \(note)")
                    failed += 1
                } else {
                    print("note \(note)")
                }
            }
            for file in scan.files {
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
