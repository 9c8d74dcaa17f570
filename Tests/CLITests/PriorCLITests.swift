// The fitted prior end to end: train writes it and both grids, sample draws from either prior, fit-prior refits.
import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct PriorCLITests {
    @Test func trainingFitsAPriorThatSampleUsesByDefault() throws {
        let run = temporaryFolder("vae-prior") + "/run"
        let r = try vae(["train", sampleData, "--epochs", "2", "--prior-mixture", "0", "--out", run] + tinyModel)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("prior: ") && r.stdout.contains("held-out log-likelihood of the codes"), "\(r.stdout)")
        for file in ["prior.safetensors", "samples.png", "samples-standard.png"] {
            #expect(FileManager.default.fileExists(atPath: run + "/" + file), "\(file)")
        }
        #expect(bytes(run + "/samples.png") != bytes(run + "/samples-standard.png"))
        let report = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        #expect(report.contains("samples-standard.png") && report.contains("under N(0, I)"))

        // evaluate bounds the model with the fitted prior too when asked, from the same samples.
        let evaluated = try vae(["evaluate", run, sampleData, "--k", "5", "--prior", "fitted"])
        #expect(evaluated.status == 0 && evaluated.stdout.contains("fitted_neg_elbo") && evaluated.stdout.contains("fitted_iwae_k5"),
                "\(evaluated.stdout) \(evaluated.stderr)")
        let plain = try vae(["evaluate", run, sampleData, "--k", "5"])
        #expect(plain.status == 0 && !plain.stdout.contains("fitted_"), "N(0, I) alone by default: \(plain.stdout)")
        // The N(0, I) lines are the same either way.
        let lines = { (r: Result) in r.stdout.split(separator: "\n").filter { $0.hasPrefix("neg_elbo") || $0.hasPrefix("iwae_k") } }
        #expect(lines(evaluated) == lines(plain) && lines(plain).count == 2)
        #expect(try vae(["evaluate", run, sampleData, "--k", "0", "--prior", "fitted"]).stderr.contains("give --k 1 or more"))

        func sample(_ name: String, _ flags: [String]) throws -> Result {
            try vae(["sample", run, "--count", "9", "--seed", "3", "--out", run + "/" + name] + flags)
        }
        let standard = try sample("s1.png", ["--prior", "standard"]), fitted = try sample("f1.png", ["--prior", "fitted"])
        #expect(standard.status == 0 && standard.stdout.contains("from N(0, I)"), "\(standard.stderr)")
        #expect(fitted.status == 0 && fitted.stdout.contains("from the fitted prior"), "\(fitted.stderr)")
        #expect(try sample("s2.png", ["--prior", "standard"]).status == 0)
        #expect(try sample("f2.png", []).stdout.contains("from the fitted prior"), "fitted is the default")
        #expect(bytes(run + "/s1.png") == bytes(run + "/s2.png"))
        #expect(bytes(run + "/f1.png") == bytes(run + "/f2.png"))
        #expect(bytes(run + "/s1.png") != bytes(run + "/f1.png"))
        #expect(try sample("f3.png", ["--temperature", "0.5"]).status == 0)
        #expect(bytes(run + "/f3.png") != bytes(run + "/f1.png"))

        // fit-prior refits the same way (same bytes, whatever the threads), or with the components asked for.
        let before = bytes(run + "/prior.safetensors")
        var f = try vae(["fit-prior", run, "--threads", "1"])
        #expect(f.status == 0 && f.stdout.contains("prior: "), "\(f.stderr)")
        #expect(bytes(run + "/prior.safetensors") == before)
        f = try vae(["fit-prior", run, "--components", "2"])
        #expect(f.status == 0 && f.stdout.contains("prior: 2 components"), "\(f.stdout) \(f.stderr)")
        #expect(try vae(["fit-prior", run, "--components", "0"]).stderr.contains("--components must be between 1 and 64"))

        // A prior of an earlier state of the model: the default falls back with a note, --prior fitted is refused.
        let old = try #require(bytes(run + "/prior.safetensors"))
        #expect(try vae(["train", "--resume", run, "--epochs", "3"]).status == 0)
        try old.write(to: URL(fileURLWithPath: run + "/prior.safetensors"))
        let fallback = try sample("d.png", [])
        #expect(fallback.status == 0 && fallback.stdout.contains("from N(0, I)"))
        #expect(fallback.stderr.contains("note: \(run)/prior.safetensors was fitted to the model at epoch 2"), "\(fallback.stderr)")
        let stale = try sample("e.png", ["--prior", "fitted"])
        #expect(stale.status != 0 && stale.stderr.contains("prior.safetensors was fitted to the model at epoch 2"))
        #expect(stale.stderr.split(separator: "\n").count == 1, "\(stale.stderr)")

        // A damaged prior is refused in one line naming it; --prior standard still samples.
        try old.prefix(old.count / 2).write(to: URL(fileURLWithPath: run + "/prior.safetensors"))
        let damaged = try sample("g.png", [])
        #expect(damaged.status != 0 && damaged.stderr.contains("\(run)/prior.safetensors: not a valid prior"), "\(damaged.stderr)")
        #expect(damaged.stderr.split(separator: "\n").count == 1, "\(damaged.stderr)")
        #expect(try sample("h.png", ["--prior", "standard"]).status == 0)

        // Without a prior file: --prior fitted says so in one line; the default is N(0, I).
        try FileManager.default.removeItem(atPath: run + "/prior.safetensors")
        let missing = try sample("i.png", ["--prior", "fitted"])
        #expect(missing.status != 0 && missing.stderr.contains("no fitted prior here") && missing.stderr.contains("vae fit-prior"))
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        #expect(try sample("j.png", []).stdout.contains("from N(0, I)"))
        let noPrior = try vae(["evaluate", run, sampleData, "--k", "5", "--prior", "fitted"])
        #expect(noPrior.status != 0 && noPrior.stderr.contains("no fitted prior here"), "\(noPrior.stderr)")
    }

    /// fit-prior on a folder that changed since training warns that the held-out images differ.
    @Test func fitPriorWarnsWhenTheImagesChanged() throws {
        let data = try makeImageFolder(count: 12), run = temporaryFolder("vae-prior-data") + "/run"
        #expect(try vae(["train", data, "--epochs", "1", "--out", run] + tinyModel).status == 0)
        var r = try vae(["fit-prior", run])
        #expect(r.status == 0 && !r.stderr.contains("warning"), "\(r.stderr)")
        try FileManager.default.removeItem(atPath: data + "/img-003.png")
        r = try vae(["fit-prior", run])
        #expect(r.status == 0 && r.stderr.contains("warning: the image folder changed since this run was trained"), "\(r.stderr)")
    }

    /// A run ended by --time-limit fits its prior too; a latent too wide for one says so and trains on.
    @Test func timeLimitedRunsFitAPriorAndWideLatentsSkipIt() throws {
        let base = temporaryFolder("vae-prior-end")
        let timed = try vae(["train", sampleData, "--time-limit", "0.05s", "--out", base + "/timed"] + tinyModel)
        #expect(timed.status == 0 && timed.stdout.contains("time limit reached") && timed.stdout.contains("prior: "), "\(timed.stdout)")
        #expect(FileManager.default.fileExists(atPath: base + "/timed/prior.safetensors"))
        let wide = try vae(["train", sampleData, "--epochs", "1", "--size", "16", "--channels", "1", "--widths", "8",
                            "--latent", "513", "--out", base + "/wide"])
        #expect(wide.status == 0 && wide.stdout.contains("no prior fitted: the latent has 513 dimensions, above 512"), "\(wide.stdout)")
        #expect(!FileManager.default.fileExists(atPath: base + "/wide/prior.safetensors"))
        // Without a prior the end of the run still draws the latent views and their report section.
        #expect(FileManager.default.fileExists(atPath: base + "/wide/traversal.png"))
        let report = try String(contentsOfFile: base + "/wide/report.html", encoding: .utf8)
        #expect(report.components(separatedBy: "class=\"kl-bar\"").count - 1 == 513)
        let refused = try vae(["fit-prior", base + "/wide"])
        #expect(refused.status != 0 && refused.stderr.contains("no prior is fitted for a latent of 513 dimensions"), "\(refused.stderr)")
    }
}
