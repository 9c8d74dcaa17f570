// MetricsLog: a run folder's metrics.jsonl, one JSON line per epoch, rewritten atomically.
import Foundation
import ImageIO

public struct MetricsLog {
    public let path: String

    public init(folder: String) { path = folder + "/metrics.jsonl" }

    /// A diverging model can give NaN or infinite losses: they are written as strings.
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// Every line that parses, in order (none when the file is missing).
    public func read() -> [EpochMetrics] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? Self.decoder.decode(EpochMetrics.self, from: Data($0.utf8)) }
    }

    public func append(_ metrics: EpochMetrics) throws {
        try write(read().filter { $0.epoch < metrics.epoch } + [metrics])
    }

    /// Drops the lines past `epoch`: an epoch's line is written before its checkpoint, so a run
    /// stopped between the two leaves a line that the resumed run writes again.
    public func trim(after epoch: Int) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let all = read(), kept = all.filter { $0.epoch <= epoch }
        if kept.count != all.count { try write(kept) }
    }

    func write(_ lines: [EpochMetrics]) throws {
        let encoder = Self.encoder
        try AtomicFile.write(try lines.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined(), to: path)
    }
}
