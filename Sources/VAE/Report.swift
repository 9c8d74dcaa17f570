// Report: report.html, a static page with the loss curves as inline SVG, the images and the configuration.
import Foundation
import ImageIO

public enum Report {
    public static func write(folder: String, config: RunConfig, metrics: [EpochMetrics], parameterCount: Int,
                             images: Int, validationImages: Int, skippedFiles: Int, prior: SavedPrior? = nil,
                             latentKL: [Double]? = nil) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let configText = String(decoding: (try? encoder.encode(config)) ?? Data(), as: UTF8.self)
        let last = metrics.last
        let seconds = last?.elapsedSeconds ?? 0
        var rows = ""
        for m in metrics {
            rows += "<tr><td>\(m.epoch)</td><td>\(f(m.trainNegELBO))</td><td>\(m.valNegELBO.map(f) ?? "–")</td>"
                + "<td>\(f(m.trainReconstruction))</td><td>\(f(m.trainKL))</td>"
                + "<td>\(m.valBitsPerDim.map { String(format: "%.4f", $0) } ?? "–")</td>"
                + "<td>\(String(format: "%.0f", m.imagesPerSecond))</td></tr>\n"
        }
        let elbo = chart(title: "−ELBO (nats per image)", series: [
            ("training", "#1f77b4", metrics.map { ($0.epoch, $0.trainNegELBO) }),
            ("validation", "#d62728", metrics.compactMap { m in m.valNegELBO.map { (m.epoch, $0) } }),
        ])
        let reconstruction = chart(title: "Reconstruction (nats per image)", series: [
            ("training", "#2ca02c", metrics.map { ($0.epoch, $0.trainReconstruction) }),
            ("validation", "#8c564b", metrics.compactMap { m in m.valReconstruction.map { (m.epoch, $0) } }),
        ])
        let kl = chart(title: "KL(q(z|x) ‖ p(z)) (nats per image)", series: [
            ("training", "#9467bd", metrics.map { ($0.epoch, $0.trainKL) }),
            ("validation", "#e377c2", metrics.compactMap { m in m.valKL.map { (m.epoch, $0) } }),
        ])
        let schedule = scheduleChart(metrics, training: config.training)
        let html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>SwiftVAE run \(escape((folder as NSString).lastPathComponent))</title>
        <style>
        body { font: 15px/1.45 system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; }
        h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
        table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: right; border-bottom: 1px solid #ddd; }
        img { image-rendering: pixelated; max-width: 100%; border: 1px solid #ccc; }
        pre { background: #f6f6f6; padding: 1em; overflow: auto; }
        .charts { display: flex; flex-wrap: wrap; gap: 1em; }
        </style></head><body>
        <h1>SwiftVAE training run</h1>
        <p>\(metrics.count) epoch\(metrics.count == 1 ? "" : "s") \(config.training.reportLength) on \(images) images
        (\(validationImages) held out for validation\(skippedFiles > 0 ? ", \(skippedFiles) unreadable files skipped" : "")),
        \(config.model.size)×\(config.model.size)×\(config.model.channels), latent \(config.model.latent),
        \(parameterCount) parameters, \(config.training.runPrecision == .bf16 ? "bf16 products (fp32 weights and sums)" : "fp32"); training time \(ProgressLine.duration(seconds)).
        Final −ELBO: training \(last.map { f($0.trainNegELBO) } ?? "–") nats,
        validation \(last?.valNegELBO.map(f) ?? "–") nats\(last?.valBitsPerDim.map { String(format: " (%.4f bits/dim)", $0) } ?? "").
        \(config.training.averageDecay.map { "Training figures are running means over each epoch's steps; validation, pictures and model.safetensors use the moving average of the weights (decay \($0) per step)." } ?? "")</p>
        <p>Model: \(config.model.summary)</p>
        <div class="charts">\(elbo)\(reconstruction)\(kl)\(schedule)</div>
        \(samplesSection(prior, own: config.model.ownPriorName))
        \(latentKL.map(latentSection) ?? "")
        <h2>Validation images (odd rows) and their reconstructions (even rows)</h2><img src="reconstructions.png" alt="reconstructions">
        <h2>Epochs</h2>
        <table><tr><th>epoch</th><th>train −ELBO</th><th>val −ELBO</th><th>reconstruction</th><th>KL</th><th>val bits/dim</th><th>images/s</th></tr>
        \(rows)</table>
        <h2>Configuration</h2><pre>\(escape(configText))</pre>
        </body></html>

        """
        try AtomicFile.write(html, to: folder + "/report.html")
    }

    static func f(_ x: Double) -> String { String(format: "%.2f", x) }

    /// The learning rate and β at each epoch's last step as fractions of --lr and --beta, when
    /// either is scheduled (a warm-up, a cosine, a KL warm-up); "" when both are constant.
    static func scheduleChart(_ metrics: [EpochMetrics], training: TrainOptions) -> String {
        let lr = Double(training.learningRate), beta = Double(training.beta)
        let rates = metrics.compactMap { m in m.learningRate.map { (m.epoch, $0 / lr) } }
        let betas = beta > 0 ? metrics.compactMap { m in m.beta.map { (m.epoch, $0 / beta) } } : []
        guard !rates.isEmpty || !betas.isEmpty else { return "" }
        return chart(title: "Schedule: learning rate ÷ --lr and β ÷ --beta", series: [
            ("learning rate", "#ff7f0e", rates), ("β (KL weight)", "#17becf", betas),
        ])
    }

    /// Samples from N(0, I); once a prior is fitted, from it (samples.png) beside N(0, I)'s, with
    /// how well each explains the codes of the held-out images.
    /// `own` names the model's own prior (N(0, I), or the prior learned with it).
    static func samplesSection(_ prior: SavedPrior?, own: String = ModelConfig.standardPriorName) -> String {
        guard let prior else { return "<h2>Samples from the prior \(escape(own))</h2><img src=\"samples.png\" alt=\"samples\">" }
        let k = prior.mixture.components
        var text = "<h2>Samples from the fitted prior and from \(escape(own))</h2>\n<p>After training, a mixture of \(k) Gaussian"
            + "\(k == 1 ? "" : "s") (\(prior.covariance.rawValue) covariance) was fitted to the posterior means of "
            + "\(prior.trainCodes) training images (prior.safetensors; its size chosen on the held-out images). "
        if let fitted = prior.heldOutFitted, let standard = prior.heldOutStandard {
            text += "Mean log-likelihood of the \(prior.heldOutCodes) held-out images' codes: \(f(fitted)) nats under the "
                + "fitted prior, \(f(standard)) under \(escape(own)). "
        }
        text += own == ModelConfig.standardPriorName ? "Draws from N(0, I) fall where few training codes are, which is much of why they look less like the data.</p>\n" : "</p>\n"
        return text + "<div class=\"charts\"><figure><figcaption>Fitted prior</figcaption><img src=\"samples.png\" alt=\"samples from the fitted prior\"></figure>"
            + "<figure><figcaption>\(escape(own.prefix(1).uppercased() + own.dropFirst()))</figcaption><img src=\"\(RunFolder.standardSamplesFile)\" alt=\"samples from \(escape(own))\"></figure></div>"
    }

    /// KL per latent dimension as bars, most first, so collapsed dimensions (near 0 nats) are seen
    /// at a glance; then the traversal and the interpolation written beside the report.
    static func latentSection(_ kl: [Double]) -> String {
        let order = kl.indices.sorted { kl[$0] > kl[$1] || (kl[$0] == kl[$1] && $0 < $1) }
        let active = kl.filter { $0 > LatentKL.activeThreshold }.count
        let (W, H, left, top, bottom) = (900.0, 220.0, 50.0, 10.0, 30.0)
        let top1 = Swift.max(kl.max() ?? 0, 1e-6), step = (W - left - 10) / Double(Swift.max(kl.count, 1))
        func y(_ v: Double) -> Double { top + (1 - Swift.max(v, 0) / top1) * (H - top - bottom) }
        var svg = "<svg class=\"kl-bars\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(H))\" font-size=\"11\">"
        for i in 0...4 {
            let v = top1 * Double(i) / 4
            svg += "<text x=\"\(left - 4)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(String(format: "%.2f", v))</text>"
            svg += "<line x1=\"\(left)\" x2=\"\(W - 10)\" y1=\"\(y(v))\" y2=\"\(y(v))\" stroke=\"#eee\"/>"
        }
        for (rank, d) in order.enumerated() {
            let colour = kl[d] > LatentKL.activeThreshold ? "#1f77b4" : "#bbb"
            let x = left + Double(rank) * step
            svg += "<rect class=\"kl-bar\" x=\"\(x)\" y=\"\(y(kl[d]))\" width=\"\(Swift.max(step - 1, 0.5))\" height=\"\(y(0) - y(kl[d]))\" "
                + "fill=\"\(colour)\"><title>z\(d): \(String(format: "%.3f", kl[d])) nats</title></rect>"
            if kl.count <= 64 { svg += "<text x=\"\(x + step / 2)\" y=\"\(H - bottom + 12)\" text-anchor=\"middle\" font-size=\"9\">\(d)</text>" }
        }
        svg += "<text x=\"\(left + (W - left) / 2)\" y=\"\(H - 4)\" text-anchor=\"middle\">latent dimension, most KL first (nats per image)</text></svg>"
        return """
        <h2>KL per latent dimension</h2>
        <p>Mean KL(q(z<sub>j</sub>|x) ‖ N(0, 1)) of each latent dimension over up to \(RunFolder.latentViewImages) held-out images:
        \(active) of \(kl.count) carry more than \(LatentKL.activeThreshold) nats (blue)\(active < kl.count ? "; the grey ones have collapsed to the prior and say next to nothing about the image" : "").</p>
        \(svg)
        <h2>Latent traversal</h2>
        <p>One row per active dimension (most KL first), moved from −3 to +3 around zero with the others held at zero; the label gives its KL.</p>
        <img src="\(RunFolder.traversalFile)" alt="latent traversal">
        <h2>Interpolation between two held-out images</h2><img src="\(RunFolder.interpolationFile)" alt="interpolation">
        """
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// A line chart of (epoch, value) series with axes and a legend, as an inline SVG element.
    static func chart(title: String, series: [(String, String, [(Int, Double)])]) -> String {
        let (W, H, left, right, top, bottom) = (460.0, 290.0, 60.0, 12.0, 28.0, 62.0)
        let points = series.flatMap(\.2).filter { $0.1.isFinite }
        guard !points.isEmpty else { return "" }
        let xMin = Double(points.map(\.0).min()!), xMax = Double(Swift.max(points.map(\.0).max()!, points.map(\.0).min()! + 1))
        var yMin = points.map(\.1).min()!, yMax = points.map(\.1).max()!
        if yMax - yMin < 1e-9 { yMin -= 1; yMax += 1 }
        let pad = (yMax - yMin) * 0.05
        yMin -= pad
        yMax += pad
        func x(_ v: Double) -> Double { left + (v - xMin) / (xMax - xMin) * (W - left - right) }
        func y(_ v: Double) -> Double { top + (yMax - v) / (yMax - yMin) * (H - top - bottom) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(H))\" font-size=\"11\">"
        svg += "<text x=\"\(W / 2)\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">\(escape(title))</text>"
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(W - left - right)\" height=\"\(H - top - bottom)\" fill=\"none\" stroke=\"#999\"/>"
        // Enough decimals that the five labels differ: one for the loss curves, more for a narrow
        // axis such as β early in its warm-up.
        let decimals = Swift.min(6, Swift.max(1, Int((-log10((yMax - yMin) / 4)).rounded(.up)) + 1))
        for i in 0...4 {
            let v = yMin + (yMax - yMin) * Double(i) / 4
            svg += "<text x=\"\(left - 4)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(String(format: "%.\(decimals)f", v))</text>"
            svg += "<line x1=\"\(left)\" x2=\"\(W - right)\" y1=\"\(y(v))\" y2=\"\(y(v))\" stroke=\"#eee\"/>"
        }
        let epochs = Set(points.map(\.0)).sorted()
        let stride = Swift.max(1, epochs.count / 10)
        for (i, e) in epochs.enumerated() where i % stride == 0 {
            svg += "<text x=\"\(x(Double(e)))\" y=\"\(H - bottom + 14)\" text-anchor=\"middle\">\(e)</text>"
        }
        svg += "<text x=\"\(left + (W - left - right) / 2)\" y=\"\(H - bottom + 28)\" text-anchor=\"middle\">epoch</text>"
        for (i, (name, colour, data)) in series.enumerated() where !data.isEmpty {
            let path = data.filter { $0.1.isFinite }.map { "\(x(Double($0.0))),\(y($0.1))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(path)\"/>"
            for p in data where p.1.isFinite {
                svg += "<circle cx=\"\(x(Double(p.0)))\" cy=\"\(y(p.1))\" r=\"2.5\" fill=\"\(colour)\"/>"
            }
            // Legend: two entries to a row under the axis label.
            let lx = left + Double(i % 2) * 200, ly = H - 18 + Double(i / 2) * 14
            svg += "<rect x=\"\(lx)\" y=\"\(ly - 9)\" width=\"10\" height=\"10\" fill=\"\(colour)\"/>"
            svg += "<text x=\"\(lx + 14)\" y=\"\(ly)\">\(escape(name))</text>"
        }
        return svg + "</svg>"
    }
}
