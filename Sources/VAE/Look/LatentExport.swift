// LatentExport: images' posterior means and log-variances with their paths, as safetensors and CSV.
import Foundation

public struct LatentExport {
    public var paths: [String]
    public var latent: Int
    /// [paths.count × latent], row-major.
    public var mean: [Float]
    public var logVariance: [Float]

    /// The metadata value "format" that marks a file as ours, so that `vae encode` may replace it.
    public static let format = "swiftvae-latents"

    public init(paths: [String], latent: Int, mean: [Float], logVariance: [Float]) {
        precondition(mean.count == paths.count * latent && logVariance.count == mean.count, "latents do not match the paths")
        (self.paths, self.latent, self.mean, self.logVariance) = (paths, latent, mean, logVariance)
    }

    /// Tensors "mean" and "logvar" of shape [N, latent]; the paths as a JSON array string under "paths".
    public func safetensors() -> Safetensors {
        let json = (try? JSONSerialization.data(withJSONObject: paths, options: [.withoutEscapingSlashes])) ?? Data("[]".utf8)
        return Safetensors(tensors: [
            .init(name: "mean", shape: [paths.count, latent], values: mean),
            .init(name: "logvar", shape: [paths.count, latent], values: logVariance),
        ], metadata: ["format": Self.format, "paths": String(decoding: json, as: UTF8.self), "latent": "\(latent)"])
    }

    /// The paths a file written by `safetensors()` lists, or nil when it lists none.
    public static func paths(in file: Safetensors) -> [String]? {
        guard let text = file.metadata["paths"] else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String]
    }

    /// The CSV header line; also how an earlier output of ours is recognised.
    public var csvHeader: String {
        (["path"] + (0..<latent).map { "mean_\($0)" } + (0..<latent).map { "logvar_\($0)" }).joined(separator: ",")
    }

    /// One line per image: path, mean_0…, logvar_0… (shortest round-trip decimals).
    public func csv() -> String {
        var text = csvHeader + "\n"
        for (i, path) in paths.enumerated() {
            let row = mean[(i * latent)..<((i + 1) * latent)] + logVariance[(i * latent)..<((i + 1) * latent)]
            text += Self.csvField(path) + "," + row.map { "\($0)" }.joined(separator: ",") + "\n"
        }
        return text
    }

    /// A field quoted as RFC 4180 says when it holds a comma, a quote or a line break (quotes doubled).
    public static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Whether the file at `path` is a latents file of ours (safetensors whose header metadata has
    /// our `format`, or a CSV starting "path,mean_0"), which `vae encode` may replace. Only the
    /// header is read: a big folder's paths make it larger than a checkpoint's header may be.
    public static func isOurs(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let start = handle.readData(ofLength: 16)
        if String(decoding: start, as: UTF8.self).hasPrefix("path,mean_0,") { return true }
        guard start.count >= 8 else { return false }
        let length = start.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard length > 0, length <= 100 << 20 else { return false }
        try? handle.seek(toOffset: 8)
        let header = handle.readData(ofLength: length)
        guard header.count == length, let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any],
              let metadata = json["__metadata__"] as? [String: String] else { return false }
        return metadata["format"] == format
    }
}
