// The discretized logistic likelihood end to end: train on the sample folder, sample, reconstruct, interpolate, evaluate, resume exactly.
import Foundation
import Testing
import TestSupport

@Suite struct LogisticLikelihoodTests {
    /// A small colour model on Datasets/sample (40 images) with the logistic mixture.
    static let model = ["--size", "16", "--channels", "3", "--widths", "8,16", "--latent", "4", "--batch", "8",
                        "--likelihood", "logistic", "--seed", "2", "--schedule", "constant"]

    /// With the plain family and with the residual one (issue 12's end-to-end case).
    @Test(arguments: ["plain", "resnet"]) func trainsSamplesReconstructsInterpolatesAndEvaluates(arch: String) throws {
        let out = temporaryFolder("vae-logistic"), run = out + "/run"
        var r = try vae(["train", sampleData, "--epochs", "1", "--arch", arch, "--out", run] + Self.model)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("epoch 1/1") && r.stdout.contains("bits/dim"), "\(r.stdout)")
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/config.json")))
                                  as? [String: Any])
        let model = try #require(config["model"] as? [String: Any])
        #expect(model["likelihood"] as? String == "logistic" && model["mixtures"] as? Int == 5)
        // The decoder's last layer makes the mixture's 10·K planes: logits, and per channel means, log-scales, coefficients.
        let header = try String(decoding: Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors")).prefix(8192), as: UTF8.self)
        let lastWeight = arch == "plain" ? "[8,50,4,4]" : "[50,8,3,3]"
        #expect(header.contains(#""dtype":"F32","shape":\#(lastWeight)}"#), "\(header.prefix(600))")

        r = try vae(["sample", run, "--count", "6", "--out", out + "/s.png", "--scale", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try pngSize(out + "/s.png") == (3 * 16 + 4 * 2, 2 * 16 + 3 * 2))
        r = try vae(["reconstruct", run, sampleData + "/circle-00.png", sampleData + "/bar-19.jpg", "--out", out + "/r.png",
                     "--scale", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try vae(["interpolate", run, sampleData + "/ring-02.png", sampleData + "/square-09.jpg", "--steps", "3",
                     "--out", out + "/i.png", "--scale", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try pngSize(out + "/r.png") == (2 * 16 + 3 * 2, 2 * 16 + 3 * 2))
        #expect(try pngSize(out + "/i.png") == (5 * 16 + 6 * 2, 16 + 2 * 2))
        r = try vae(["evaluate", run, sampleData, "--k", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("iwae_k3") && r.stdout.contains("a true likelihood of the data"), "\(r.stdout)")
        // A likelihood of the 8-bit values: bits/dim is the nats over D·ln 2, with nothing added.
        let bits = try #require(Self.figure(before: "bits/dim", in: r.stdout, line: "neg_elbo"))
        let nats = try #require(Self.figure(before: "nats", in: r.stdout, line: "neg_elbo"))
        #expect(bits > 0 && abs(bits - nats / (3 * 16 * 16 * log(2.0))) < 1e-3, "\(r.stdout)")

        r = try vae(["evaluate", run, sampleData, "--k", "0", "--json"])
        #expect(r.status == 0 && r.stdout.contains("\"likelihood\" : \"logistic\"") && r.stdout.contains("negativeELBODataBitsPerDim"))
    }

    /// 1 epoch then --resume to 2 equals 2 epochs straight, bit for bit; --mixtures is fixed with the run.
    @Test func resumeIsExact() throws {
        let base = temporaryFolder("vae-logistic-resume")
        var r = try vae(["train", sampleData, "--epochs", "2", "--out", base + "/straight"] + Self.model)
        #expect(r.status == 0, "\(r.stderr)")
        r = try vae(["train", sampleData, "--epochs", "1", "--out", base + "/split"] + Self.model)
        #expect(r.status == 0, "\(r.stderr)")
        r = try vae(["train", "--resume", base + "/split", "--mixtures", "3"])
        #expect(r.status != 0 && r.stderr.contains("--mixtures cannot change when resuming (saved 5, given 3)"), "\(r.stderr)")
        r = try vae(["train", "--resume", base + "/split", "--epochs", "2", "--likelihood", "logistic", "--mixtures", "5"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(bytes(base + "/straight/model.safetensors") == bytes(base + "/split/model.safetensors"), "weights differ after resuming")
        #expect(lossLines(base + "/straight") == lossLines(base + "/split"))
    }

    /// Gaussian: bits/dim of the 8-bit data is the density's nats plus ln 255 per dimension, over D·ln 2.
    /// Bernoulli: evaluate says its bits/dim is not a likelihood of the 8-bit data.
    @Test func evaluateSaysWhatBitsPerDimMeans() throws {
        let base = temporaryFolder("vae-bits")
        for likelihood in ["gaussian", "bernoulli"] {
            let run = base + "/" + likelihood
            var r = try vae(["train", sampleData, "--epochs", "1", "--likelihood", likelihood, "--out", run] + tinyModel)
            #expect(r.status == 0, "\(r.stderr)")
            r = try vae(["evaluate", run, sampleData, "--k", "0"])
            #expect(r.status == 0, "\(r.stderr)")
            let bits = try #require(Self.figure(before: "bits/dim", in: r.stdout, line: "neg_elbo"))
            let nats = try #require(Self.figure(before: "nats", in: r.stdout, line: "neg_elbo"))
            let D = 16.0 * 16
            if likelihood == "gaussian" {
                #expect(abs(bits - (nats + D * log(255.0)) / (D * log(2.0))) < 1e-3, "\(r.stdout)")
                #expect(r.stdout.contains("plus ln 255 per dimension"))
            } else {
                #expect(abs(bits - nats / (D * log(2.0))) < 1e-3, "\(r.stdout)")
                #expect(r.stdout.contains("NOT a likelihood of the 8-bit data"))
            }
        }
    }

    @Test func mixturesNeedTheLogisticLikelihood() throws {
        var r = try vae(["train", sampleData, "--likelihood", "bernoulli", "--mixtures", "3"])
        #expect(r.status != 0 && r.stderr.contains("--mixtures is for --likelihood logistic"), "\(r.stderr)")
        // Gray images get the Bernoulli likelihood by default: --mixtures alone is refused for them, naming it.
        r = try vae(["train", sampleData, "--channels", "1", "--mixtures", "3"])
        #expect(r.status != 0 && r.stderr.contains("these images get bernoulli unless you ask"), "\(r.stderr)")
        r = try vae(["train", sampleData, "--likelihood", "logistic", "--mixtures", "0"])
        #expect(r.status != 0 && r.stderr.contains("--mixtures must be between 1 and 64"), "\(r.stderr)")
    }

    /// The number before `unit` on the line of `output` that starts with `line`.
    static func figure(before unit: String, in output: String, line: String) -> Double? {
        guard let text = output.split(separator: "\n").first(where: { $0.hasPrefix(line) }) else { return nil }
        let words = text.split(separator: " ")
        guard let i = words.firstIndex(where: { $0 == unit }), i > 0 else { return nil }
        return Double(words[i - 1])
    }
}
