// AnimationOptions: --gif, --delay and --bounce, shared by the commands that can write an animated GIF.
import ArgumentParser
import Foundation
import ImageIO

struct AnimationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Also write the frames as a looping animated GIF here (one palette for all frames).", valueName: "file"))
    var gif: String?

    @Option(help: ArgumentHelp("Milliseconds each GIF frame is shown (rounded to 10; \(GIFEncoder.delayRange.lowerBound)–\(GIFEncoder.delayRange.upperBound)).", valueName: "ms"))
    var delay: Int = 120

    @Flag(help: "Play the GIF forth and back rather than jumping from the last frame to the first.")
    var bounce = false

    func validate() throws {
        guard GIFEncoder.delayRange.contains(delay) else {
            throw ValidationError("--delay must be between \(GIFEncoder.delayRange.lowerBound) and \(GIFEncoder.delayRange.upperBound) milliseconds")
        }
        if gif == nil && bounce { throw ValidationError("--bounce needs --gif FILE") }
    }

    /// Refuses a --gif path that would replace a folder, a file that is not a GIF, an input, or the
    /// command's own `picture`.
    func checkTarget(inputs: [String], picture: String) throws {
        guard let gif else { return }
        let resolved = URL(fileURLWithPath: gif).standardizedFileURL.resolvingSymlinksInPath().path
        if URL(fileURLWithPath: picture).standardizedFileURL.resolvingSymlinksInPath().path == resolved {
            throw RunFailure("\(gif): is also the PNG this command writes; give --gif another name")
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isFolder) else { return }
        if isFolder.boolValue { throw RunFailure("\(gif): is a folder; give a GIF file name") }
        let start = FileHandle(forReadingAtPath: resolved).map { h in defer { try? h.close() }; return h.readData(ofLength: 6) }
        guard let start, [Data("GIF89a".utf8), Data("GIF87a".utf8)].contains(start) else {
            throw RunFailure("\(gif): exists and is not a GIF; refusing to replace it (choose another name)")
        }
        for input in inputs where URL(fileURLWithPath: input).standardizedFileURL.resolvingSymlinksInPath().path == resolved {
            throw RunFailure("\(gif): is one of the input images; choose another name")
        }
    }

    /// Writes `frames` to --gif, if given, and says so.
    func write(_ frames: [Image], what: String) throws {
        guard let gif else { return }
        try ensureParentFolder(of: gif)
        do {
            try GIFEncoder.write(frames, to: gif, delayMilliseconds: delay, bounce: bounce)
        } catch {
            throw RunFailure("\(error)")
        }
        print("wrote \(gif) (\(what), \(bounce && frames.count > 2 ? 2 * frames.count - 2 : frames.count) frames of \(delay) ms, looping\(bounce ? " forth and back" : ""))")
    }
}
