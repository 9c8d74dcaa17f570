// ExplorerTests: the explorer page's decoder run in headless Chromium against `vae decode` on the same code, for each architecture and likelihood.
import Foundation
import Testing
import TestSupport
import ImageIO

/// Debian's chromium, if installed (.ci/setup installs it).
func chromiumBinary() -> String? {
    let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
    for folder in folders {
        for name in ["chromium", "chromium-browser"] where FileManager.default.isExecutableFile(atPath: "\(folder)/\(name)") {
            return "\(folder)/\(name)"
        }
    }
    return nil
}

/// Loads `page` in headless Chromium and returns the DOM after its scripts ran, and what it logged.
func headlessDOM(_ chromium: String, page: String) throws -> (dom: String, log: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: chromium)
    let profile = temporaryFolder("vae-chromium")
    defer { try? FileManager.default.removeItem(atPath: profile) }
    process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)", "--enable-logging=stderr",
                         "--v=0", "--run-all-compositor-stages-before-draw", "--virtual-time-budget=5000", "--dump-dom", page]
    let out = Pipe(), err = Pipe()
    (process.standardOutput, process.standardError) = (out, err)
    try process.run()
    // A browser that hangs (no display, a broken profile) fails the test instead of stalling it.
    let pid = process.processIdentifier
    DispatchQueue.global().asyncAfter(deadline: .now() + 90) { if process.isRunning { kill(pid, SIGKILL) } }
    final class Box: @unchecked Sendable { var data = Data() }
    let errData = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let dom = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return (String(decoding: dom, as: UTF8.self), String(decoding: errData.data, as: UTF8.self))
}

@Suite(.serialized) struct ExplorerTests {
    /// Model flags for each family and likelihood the trainer makes, on Datasets/sample.
    static let configurations: [[String]] = [
        ["--size", "16", "--channels", "1", "--widths", "8,16", "--latent", "4"],
        ["--size", "16", "--channels", "1", "--widths", "8,16", "--latent", "4", "--autoregressive", "6", "--autoregressive-kernel", "3"],
        ["--size", "16", "--channels", "3", "--arch", "resnet", "--likelihood", "logistic", "--widths", "8,16", "--latent", "6"],
        ["--size", "16", "--channels", "1", "--arch", "resnet", "--likelihood", "gaussian", "--activation", "relu",
         "--hidden", "24", "--widths", "8,8", "--latent", "5"],
        ["--size", "16", "--channels", "3", "--likelihood", "logistic", "--mixtures", "2", "--activation", "silu",
         "--hidden", "32", "--widths", "8,16", "--latent", "3"],
        ["--model", "custom"],
    ]

    /// A block list no flag makes: odd kernels, strides and paddings, a transposed convolution
    /// to an odd side, activations as blocks of their own.
    static let customModel = """
    {"size": 16, "channels": 1, "latent": 3, "likelihood": "gaussian",
     "encoder": [{"kind": "conv", "module": "enc", "channels": 4, "kernel": 3, "stride": 1, "padding": 1, "activation": "relu"},
                 {"kind": "conv", "module": "enc", "channels": 8, "kernel": 4, "stride": 2, "padding": 1, "activation": "silu"},
                 {"kind": "flatten", "module": "enc"},
                 {"kind": "linear", "module": "enc_fc", "channels": 16, "activation": "relu"}],
     "decoder": [{"kind": "linear", "module": "dec_fc", "channels": 128, "activation": "silu"},
                 {"kind": "unflatten", "channels": 8},
                 {"kind": "deconv", "module": "dec", "channels": 6, "kernel": 3, "stride": 2, "padding": 1, "activation": "relu"},
                 {"kind": "deconv", "module": "dec", "channels": 4, "kernel": 4, "stride": 2, "padding": 0},
                 {"kind": "silu", "module": "dec"},
                 {"kind": "conv", "module": "dec", "kernel": 5, "stride": 1, "padding": 2}]}
    """

    @Test(arguments: configurations.indices)
    func pageDecodesAsVAEDecodes(_ index: Int) throws {
        guard let chromium = chromiumBinary() else {
            print("skipping the explorer page test: chromium is not installed (apt-get install chromium)")
            return
        }
        let base = temporaryFolder("vae-explore"), run = base + "/run"
        var flags = Self.configurations[index]
        if flags == ["--model", "custom"] {
            try Self.customModel.write(toFile: base + "/model.json", atomically: true, encoding: .utf8)
            flags = ["--model", base + "/model.json"]
        }
        let trained = try vae(["train", sampleData, "--epochs", "2", "--batch", "8", "--out", run] + flags)
        #expect(trained.status == 0, "\(trained.stderr)")
        let page = run + "/explore.html"
        let wrote = try vae(["explore", run, "--out", page])
        #expect(wrote.status == 0, "\(wrote.stderr)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(!html.contains("http:") && !html.contains("https:"), "the page must fetch nothing")
        let latent = flags.firstIndex(of: "--latent").map { Int(flags[$0 + 1])! } ?? 3
        let z = (0..<latent).map { (j: Int) -> String in
            let value: Double = 1.7 * sin(Double(j * 7 + index + 1))
            return String(format: "%.3f", value)
        }.joined(separator: ",")

        let decoded = run + "/decoded.png"
        let reference = try vae(["decode", run, "--z=" + z, "--scale", "1", "--precision", "fp32", "--out", decoded])
        #expect(reference.status == 0, "\(reference.stderr)")
        let expected = try ImageDecoder.decode(file: decoded)

        let (dom, log) = try headlessDOM(chromium, page: "file://" + page + "#z=" + z)
        let console = log.split(separator: "\n").filter { $0.contains(":CONSOLE") }
        #expect(console.isEmpty, "console messages: \(console)")
        guard let start = dom.range(of: "id=\"pixels\""), let open = dom[start.upperBound...].firstIndex(of: ">"),
              let close = dom[open...].firstIndex(of: "<") else {
            Issue.record("no pixels in the page's DOM: \(dom.prefix(300))")
            return
        }
        let pixels = dom[dom.index(after: open)..<close].split(separator: ",").compactMap { Int($0) }
        #expect(pixels.count == expected.pixels.count)
        var worst = pixels.count == expected.pixels.count ? 0 : 255
        for (byte, value) in zip(pixels, expected.pixels) { worst = max(worst, abs(byte - Int(value))) }
        #expect(worst <= 1, "the page's canvas is \(worst)/255 away from vae decode")
        // The image is not flat: a broken decoder that paints one colour would not pass.
        #expect(Set(pixels).count > 8)

        // Every control, used as a person would, raises no error and changes the picture.
        let exercise = run + "/exercise.html"
        try html.replacingOccurrences(of: "</body>", with: Self.exercise + "</body>").write(toFile: exercise, atomically: true, encoding: .utf8)
        let (used, usedLog) = try headlessDOM(chromium, page: "file://" + exercise)
        let usedConsole = usedLog.split(separator: "\n").filter { $0.contains(":CONSOLE") }
        #expect(usedConsole.isEmpty, "console messages: \(usedConsole)")
        #expect(used.contains("<pre id=\"exercised\">changed</pre>"), "\(used.suffix(300))")
    }

    /// Clicks two data images, moves the interpolation and a latent slider, draws from both priors
    /// and returns to z = 0, then says whether the picture changed along the way.
    static let exercise = """
    <script>
    const canvasBytes = () => Array.from($("view").getContext("2d").getImageData(0, 0, M.size, M.size).data).join();
    const first = canvasBytes(), seen = new Set([first]);
    const strip = document.querySelectorAll("#strip canvas");
    strip[0].click(); seen.add(canvasBytes());
    strip[1].click(); seen.add(canvasBytes());
    $("mix").value = 0.5; $("mix").dispatchEvent(new Event("input")); render(); seen.add(canvasBytes());
    const slider = document.querySelector(".unit input");
    slider.value = 2.5; slider.dispatchEvent(new Event("input")); render(); seen.add(canvasBytes());
    $("temperature").value = 0.5; $("temperature").dispatchEvent(new Event("input"));
    $("random").click(); seen.add(canvasBytes());
    if (!$("fitted").hidden) { $("fitted").click(); seen.add(canvasBytes()); }
    $("zero").click();
    const done = document.createElement("pre");
    done.id = "exercised"; done.textContent = seen.size >= 4 && canvasBytes() === first ? "changed" : "unchanged " + seen.size;
    document.body.append(done);
    </script>
    """

    /// The KL per unit the page sorts by sums to the mean KL `vae evaluate` computes on the same
    /// images (all of them: nothing held out), and its active units are evaluate's.
    @Test func pageKLAgreesWithEvaluate() throws {
        let run = temporaryFolder("vae-explore") + "/run"
        // N(0, I): the page's KL per unit is each unit's closed-form KL to N(0, 1).
        #expect(try vae(["train", sampleData, "--epochs", "2", "--val-fraction", "0", "--prior-mixture", "0", "--out", run] + tinyModel).status == 0)
        #expect(try vae(["explore", run]).status == 0)
        let html = try String(contentsOfFile: run + "/explore.html", encoding: .utf8)
        guard let open = html.range(of: "<script type=\"application/json\" id=\"data\">"),
              let close = html[open.upperBound...].range(of: "</script>") else {
            Issue.record("no data block in the page")
            return
        }
        let data = try JSONSerialization.jsonObject(with: Data(html[open.upperBound..<close.lowerBound].utf8)) as? [String: Any] ?? [:]
        let kl = data["kl"] as? [Double] ?? [], active = data["active"] as? [Bool] ?? []
        let evaluated = try vae(["evaluate", run, sampleData, "--k", "0", "--precision", "fp32", "--json"])
        let json = evaluated.stdout.firstIndex(of: "{").map { String(evaluated.stdout[$0...]) } ?? ""
        let result = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
        let meanKL = result["kl"] as? Double ?? .nan
        #expect(kl.count == 4 && abs(kl.reduce(0, +) - meanKL) <= 1e-4 * meanKL, "page \(kl), evaluate \(meanKL)")
        #expect(active.filter { $0 }.count == result["activeUnits"] as? Int)
        // Sorted: active units first, each group by KL, largest first.
        let order = data["order"] as? [Int] ?? []
        #expect(order.sorted() == [0, 1, 2, 3])
        for (a, b) in zip(order, order.dropFirst()) {
            #expect(active[a] && !active[b] || active[a] == active[b] && kl[a] >= kl[b])
        }
    }

    @Test func theFittedPriorIsEmbeddedAndADamagedOneLeftOut() throws {
        let run = temporaryFolder("vae-explore") + "/run"
        #expect(try vae(["train", sampleData, "--epochs", "1", "--prior-mixture", "0", "--out", run] + tinyModel).status == 0)
        #expect(try vae(["explore", run]).status == 0)
        #expect(try String(contentsOfFile: run + "/explore.html", encoding: .utf8).contains("\"prior\":{\""))
        try Data("not a prior".utf8).write(to: URL(fileURLWithPath: run + "/prior.safetensors"))
        let result = try vae(["explore", run])
        #expect(result.status == 0 && result.stderr.contains("prior.safetensors") && result.stderr.contains("N(0, I) only"))
        #expect(!(try String(contentsOfFile: run + "/explore.html", encoding: .utf8).contains("\"prior\":")))
    }

    /// A model with a learned prior and no usable fitted one: the page's second button draws from the learned prior.
    @Test func aLearnedPriorTakesTheFittedPriorsPlace() throws {
        let run = temporaryFolder("vae-explore") + "/learned"
        #expect(try vae(["train", sampleData, "--epochs", "1", "--prior-mixture", "3", "--out", run] + tinyModel).status == 0)
        try Data("not a prior".utf8).write(to: URL(fileURLWithPath: run + "/prior.safetensors"))
        let result = try vae(["explore", run])
        #expect(result.status == 0 && result.stderr.contains("the learned prior (3 components) only"), "\(result.stderr)")
        let page = try String(contentsOfFile: run + "/explore.html", encoding: .utf8)
        #expect(page.contains("\"prior\":{\"") && page.contains("Random draw from the learned prior (3 components)"))
    }

    @Test func explorerRefusesToReplaceOtherFiles() throws {
        let run = temporaryFolder("vae-explore") + "/run"
        #expect(try vae(["train", sampleData, "--epochs", "1", "--out", run] + tinyModel).status == 0)
        let result = try vae(["explore", run, "--out", run + "/config.json"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("config.json: exists and is not an HTML page"))
        #expect(try vae(["decode", run, "--z", "1,2"]).stderr.contains("--z has 2 numbers; this model has 4 latent units"))
    }
}
