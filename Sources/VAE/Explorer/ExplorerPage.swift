// ExplorerPage: the self-contained HTML file in which a run's decoder runs in the browser, with its weights and a strip of encoded data images embedded.
import Foundation

public enum ExplorerPage {
    /// What the page's script reads beside the decoder.
    struct PageData: Encodable {
        var summary: String
        var kl: [Double]
        var active: [Bool]
        var order: [Int]
        /// Base64 bytes (C, H, W) of each data image, its posterior mean and file name.
        var thumbnails: [String]
        var codes: [[Float]]
        var names: [String]
        /// The fitted prior (weights K, means K×D, lower Cholesky factors K×D×D), when the run has a current one.
        var prior: Prior?
    }
    /// In Float, as prior.safetensors keeps it (half the digits of Double in the page).
    struct Prior: Encodable { var weights: [Float], means: [Float], factors: [Float] }

    /// The page for `decoder` with `latents` measured on the run's images and the run's fitted prior
    /// if it has a current one (or the prior learned with the model, `priorName` saying which);
    /// `title` names the run.
    public static func html(title: String, decoder: DecoderExport, latents: LatentSummary, prior: GaussianMixture?,
                            priorName: String = "the fitted prior") throws -> String {
        let summary = "\(decoder.size)×\(decoder.size)×\(decoder.channels), latent \(decoder.latent), "
            + "\(decoder.likelihood) likelihood; KL per unit measured on \(latents.measured) training images"
        let data = PageData(summary: summary, kl: latents.kl, active: latents.active, order: latents.order,
                            thumbnails: latents.thumbnails.map { Data($0).base64EncodedString() },
                            codes: latents.codes, names: latents.names,
                            prior: prior.map { Prior(weights: $0.weights.map(Float.init), means: $0.means.map(Float.init),
                                                     factors: $0.factors.map(Float.init)) })
        // JSONEncoder escapes "/", so no "</script>" can appear inside the blocks.
        let encoder = JSONEncoder()
        let model = String(decoding: try encoder.encode(decoder), as: UTF8.self)
        let page = String(decoding: try encoder.encode(data), as: UTF8.self)
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title)) · explorer</title>
        <style>\(style)</style></head>
        <body>
        <h1>\(escape(title))</h1>
        <p id="summary"></p>
        <div class="main">
        <div class="picture">
        <canvas id="view"></canvas>
        <p id="timing"></p>
        <p><button id="random">Random draw from N(0, I)</button> <button id="fitted" hidden>Random draw from \(priorName)</button> <button id="zero">z = 0</button></p>
        <p><label>temperature <input id="temperature" type="range" min="0" max="2" step="0.05" value="1"></label>
        <span id="temperatureValue">1.00</span></p>
        <p><label>interpolate <input id="mix" type="range" min="0" max="1" step="0.01" value="0" disabled></label>
        <span id="pair">click two data images below to interpolate between their codes</span></p>
        </div>
        <div class="units">
        <p id="activeCount"></p>
        <div id="active"></div>
        <details id="folded"><summary id="inactiveCount"></summary><div id="inactive"></div></details>
        </div>
        </div>
        <h2>Data images</h2>
        <p>Training images encoded when this page was written: click one to jump to its code.</p>
        <div id="strip"></div>
        <script type="application/json" id="model">\(model)</script>
        <script type="application/json" id="data">\(page)</script>
        <script type="application/octet-stream" id="weights">\(decoder.weightsBase64)</script>
        <script>\(decoderScript)
        \(script)</script>
        </body></html>

        """
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    static let style = """
    body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
    .picture { max-width: 28em; }
    .main { display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }
    #view { image-rendering: pixelated; border: 1px solid #ccc; background: #fff; }
    .units { max-height: 80vh; overflow-y: auto; min-width: 22em; }
    .unit { display: flex; justify-content: space-between; gap: 1em; font-variant-numeric: tabular-nums; }
    .unit input { width: 12em; }
    #strip canvas { width: 48px; height: 48px; image-rendering: pixelated; margin: 2px; cursor: pointer; border: 2px solid transparent; }
    #strip canvas.picked { border-color: #d33; }
    #timing { color: #666; }
    """
}
