// PythonModelTests: python/swiftvae.py loads a run into PyTorch and gives the −ELBO `vae evaluate` gives on the same images (when torch is installed).
import Foundation
import Testing
import TestSupport
import ImageIO

/// Runs python3 with `arguments`; nil when python3 cannot be started.
func python(_ arguments: [String]) -> Result? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3"] + arguments
    let out = Pipe(), err = Pipe()
    (process.standardOutput, process.standardError) = (out, err)
    guard (try? process.run()) != nil else { return nil }
    final class Box: @unchecked Sendable { var data = Data() }
    let errData = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                  stderr: String(decoding: errData.data, as: UTF8.self))
}

@Suite(.serialized) struct PythonModelTests {
    static let pythonFolder = URL(fileURLWithPath: sampleData).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python").path

    /// For each pair of arguments (run folder, raw (N, C, H, W) Float32 images) prints one JSON line:
    /// the mean −ELBO at z = mean, the mean KL, and whether two draws from one seed agree. One
    /// process for every run, so torch is imported once.
    static let script = """
    import json, sys, torch
    sys.path.insert(0, sys.argv[1])
    import swiftvae
    torch.set_num_threads(1)
    for run, raw in zip(sys.argv[2::2], sys.argv[3::2]):
        model = swiftvae.load(run)
        c, s = model.cfg["channels"], model.cfg["size"]
        x = torch.frombuffer(bytearray(open(raw, "rb").read()), dtype=torch.float32).reshape(-1, c, s, s)
        with torch.no_grad():
            mean, logvar = model.encode(x)
            at_mean = model.neg_elbo(x, eps=torch.zeros_like(mean)).double().mean().item()
            kl = model.kl_at(mean, logvar, torch.zeros_like(mean)).double().mean().item()
            a = model.neg_elbo(x, generator=torch.Generator().manual_seed(7))
            b = model.neg_elbo(x, generator=torch.Generator().manual_seed(7))
            images = model.decode(mean)
        print(json.dumps({"atMean": at_mean, "kl": kl, "repeatable": bool(torch.equal(a, b)),
                          "sampled": a.double().mean().item(), "imagesInRange": bool(((images >= 0) & (images <= 1)).all()),
                          "shape": list(images.shape)}))
    """

    /// Model flags: plain with a hidden layer and Bernoulli, residual with the logistic mixture,
    /// residual with a learned Gaussian scale (a parameter of the likelihood's own), and a block
    /// list of odd kernels, strides and paddings.
    static let configurations: [[String]] = [
        ["--channels", "1", "--widths", "8,16", "--hidden", "32", "--latent", "4"],
        ["--channels", "3", "--arch", "resnet", "--likelihood", "logistic", "--widths", "8,16", "--latent", "5"],
        ["--channels", "1", "--arch", "resnet", "--likelihood", "gaussian", "--learn-scale", "--widths", "8", "--latent", "3"],
        ["--channels", "1", "--model", "custom"],
    ]

    /// `count` images of side 16 with `channels` channels whose values are whole levels k/255, as PNGs
    /// in a folder and as one raw Float32 (N, C, H, W) file beside it, so both sides read the same numbers.
    func makeImages(channels: Int, count: Int) throws -> (folder: String, raw: String) {
        let base = temporaryFolder("vae-python"), folder = base + "/images"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var raw: [Float] = []
        for i in 0..<count {
            var image = Image(width: 16, height: 16, channels: channels, fill: 0)
            for y in 0..<16 { for x in 0..<16 { for c in 0..<channels {
                let level = (x * (3 + i) + y * (5 + 2 * c) + 37 * i + ((x - 8) * (x - 8) + (y - 8) * (y - 8) < 4 * (1 + i % 5) ? 120 : 0)) % 256
                image[x, y, c] = Float(level) / 255
            } } }
            try image.writePNG(to: folder + String(format: "/img-%02d.png", i))
            for c in 0..<channels { for y in 0..<16 { for x in 0..<16 { raw.append(image[x, y, c]) } } }
        }
        let path = base + "/images.f32"
        try raw.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path))
        return (folder, path)
    }

    @Test func pythonNegELBOMatchesEvaluate() throws {
        guard let probe = python(["-c", "import torch"]), probe.status == 0 else {
            print("skipping the Python module test: python3 with torch is not installed (it is never installed for tests)")
            return
        }
        var runs: [(run: String, raw: String, channels: Int, swift: [String: Any])] = []
        for flags in Self.configurations {
            let channels = Int(flags[flags.firstIndex(of: "--channels")! + 1])!
            let (folder, raw) = try makeImages(channels: channels, count: 24)
            let run = Folders.parent(of: folder) + "/run"
            var modelFlags = ["--size", "16"] + flags
            if flags.contains("custom") {
                // A block list no flag makes (ExplorerTests.customModel): it sets the size and channels itself.
                try ExplorerTests.customModel.write(toFile: run + ".json", atomically: true, encoding: .utf8)
                modelFlags = ["--model", run + ".json"]
            }
            let trained = try vae(["train", folder, "--epochs", "2", "--batch", "8", "--out", run] + modelFlags)
            #expect(trained.status == 0, "\(trained.stderr)")
            let evaluated = try vae(["evaluate", run, folder, "--k", "0", "--precision", "fp32", "--at-mean", "--json"])
            #expect(evaluated.status == 0, "\(evaluated.stderr)")
            // The JSON follows the line that names the precision.
            let json = evaluated.stdout.firstIndex(of: "{").map { String(evaluated.stdout[$0...]) } ?? ""
            runs.append((run, raw, channels, try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]))
        }
        let torch = python(["-c", Self.script, Self.pythonFolder] + runs.flatMap { [$0.run, $0.raw] })
        #expect(torch?.status == 0, "\(torch?.stderr ?? "python3 did not start")")
        let lines = (torch?.stdout ?? "").split(separator: "\n")
        #expect(lines.count == runs.count)
        for (line, (run, _, channels, swift)) in zip(lines, runs) {
            let py = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
            let (swiftELBO, swiftKL) = (swift["negativeELBO"] as? Double ?? .nan, swift["kl"] as? Double ?? .nan)
            let (pyELBO, pyKL) = (py["atMean"] as? Double ?? .nan, py["kl"] as? Double ?? .nan)
            #expect(swift["images"] as? Int == 24 && swift["atMean"] as? Bool == true, "\(run)")
            #expect(abs(pyELBO - swiftELBO) <= 1e-4 * abs(swiftELBO), "\(run): −ELBO at the mean: torch \(pyELBO), vae evaluate \(swiftELBO)")
            #expect(abs(pyKL - swiftKL) <= 1e-4 * abs(swiftKL) + 1e-4, "\(run): KL: torch \(pyKL), vae evaluate \(swiftKL)")
            #expect(py["repeatable"] as? Bool == true, "\(run): neg_elbo with one seed gave two answers")
            // A draw of z is not the mean: the sampled figure must differ, so eps is really used.
            #expect((py["sampled"] as? Double).map { $0 != pyELBO } == true, "\(run)")
            #expect(py["imagesInRange"] as? Bool == true && py["shape"] as? [Int] == [24, channels, 16, 16], "\(run)")
        }
    }
}
