// The image cache from the command line: vae cache, then train and evaluate reading it; --no-cache writing nothing.
import Foundation
import Testing
import TestSupport
import VAE

@Suite struct CacheCLITests {
    static func cacheFiles(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".vaecache") }
    }

    @Test func vaeCachePreparesWhatTrainAndEvaluateThenRead() throws {
        let data = try makeImageFolder(count: 12), base = temporaryFolder("vae-cli-cache")
        let cache = base + "/cache"
        var r = try vae(["cache", data, "--size", "16", "--channels", "1", "--cache", cache])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("written (12 decoded, 0 from the cache, 0 removed files dropped)"), "\(r.stdout)")
        let files = Self.cacheFiles(cache)
        #expect(files.count == 1)
        // A training run with the same preparation decodes nothing.
        r = try vae(["train", data, "--epochs", "1", "--out", base + "/run", "--cache", cache] + tinyModel)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("image cache: 12 images from \(cache)/\(files[0])"), "\(r.stdout)")
        #expect(!r.stderr.contains("loading images"))
        // Nor does evaluating on the same folder; the cache lines go to stderr, not into --json's output.
        r = try vae(["evaluate", base + "/run", data, "--k", "0", "--json", "--cache", cache])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("image cache: 12 images from"), "\(r.stderr)")
        #expect(!r.stdout.contains("cache"))
        // A truncated cache: one warning line naming it, then rebuilt, and training goes on.
        let path = cache + "/" + files[0]
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(whole.count - 100).write(to: URL(fileURLWithPath: path))
        r = try vae(["train", data, "--epochs", "1", "--out", base + "/run2", "--cache", cache] + tinyModel)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("warning: \(path): truncated or damaged image cache (\(whole.count - 100) bytes; its header says \(whole.count)); rebuilding it\n"),
                "\(r.stderr)")
        #expect(r.stdout.contains("image cache: \(path) written (12 decoded"), "\(r.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count == whole.count)
        // The default folder comes from VAE_CACHE (the tests' own), or Output/cache.
        r = try vae(["cache", data, "--size", "16", "--channels", "1"])
        #expect(r.status == 0 && r.stdout.contains(testCacheFolder + "/"), "\(r.stdout)")
    }

    /// Two runs writing one cache at once leave a whole file (one or the other), never a mix.
    @Test func twoRunsSharingACacheNeverCorruptIt() throws {
        let data = try makeImageFolder(count: 60), cache = temporaryFolder("vae-cli-cache-shared")
        for round in 0..<3 {
            // A changed file makes both runs rewrite the cache.
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(Double(round + 1))],
                                                  ofItemAtPath: data + "/img-000.png")
            let runs = try (0..<2).map { _ in try VAEProcess(["cache", data, "--size", "16", "--channels", "3", "--cache", cache]) }
            for run in runs {
                let r = run.wait()
                #expect(r.status == 0 && !r.stderr.contains("warning"), "\(r.stderr)")
            }
            #expect(Self.cacheFiles(cache).count == 1)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []).count == 1, "a temporary was left")
            let r = try vae(["cache", data, "--size", "16", "--channels", "3", "--cache", cache])
            #expect(r.status == 0 && r.stdout.contains("image cache: 60 images from") && r.stderr.isEmpty, "\(r.stdout)\(r.stderr)")
        }
    }

    @Test func noCacheWritesNothing() throws {
        let data = try makeImageFolder(count: 6), base = temporaryFolder("vae-cli-nocache")
        // Run where Output/cache would be the default, without VAE_CACHE.
        var environment = ProcessInfo.processInfo.environment
        environment["VAE_CACHE"] = nil
        let process = Process()
        process.executableURL = try vaeBinary()
        process.arguments = ["train", data, "--epochs", "1", "--out", base + "/run", "--no-cache"] + tinyModel
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: base)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: base + "/run/model.safetensors"))
        #expect(!FileManager.default.fileExists(atPath: base + "/Output"))
        let r = try vae(["train", data, "--out", base + "/two", "--no-cache", "--cache", base + "/c"] + tinyModel)
        #expect(r.status != 0 && r.stderr.contains("--no-cache and --cache contradict each other"), "\(r.stderr)")
    }

    /// The cache changes where the images come from, nothing else: a run from a cache hit, and one
    /// resumed from it, end with the weights and data fingerprint of a run that decoded every file.
    @Test func aRunFromTheCacheTrainsBitForBitAsOneThatDecoded() throws {
        let data = try makeImageFolder(count: 12), base = temporaryFolder("vae-cli-cache-exact")
        let cache = base + "/cache"
        #expect(try vae(["train", data, "--epochs", "2", "--out", base + "/fresh", "--no-cache"] + tinyModel).status == 0)
        #expect(try vae(["cache", data, "--size", "16", "--channels", "1", "--cache", cache]).status == 0)
        var r = try vae(["train", data, "--epochs", "1", "--out", base + "/cached", "--cache", cache] + tinyModel)
        #expect(r.status == 0 && r.stdout.contains("image cache: 12 images from"), "\(r.stdout)")
        r = try vae(["train", "--resume", base + "/cached", "--epochs", "2", "--cache", cache])
        #expect(r.status == 0 && r.stdout.contains("image cache: 12 images from") && !r.stderr.contains("changed"), "\(r.stdout)\(r.stderr)")
        for file in ["model.safetensors", "training_state.safetensors"] {
            let fresh = try Safetensors.read(base + "/fresh/" + file), cached = try Safetensors.read(base + "/cached/" + file)
            #expect(fresh.tensors.map(\.name) == cached.tensors.map(\.name))
            for t in fresh.tensors { #expect(t.values.map(\.bitPattern) == cached[t.name]?.values.map(\.bitPattern), "\(file) \(t.name)") }
            #expect(fresh.metadata["data_fingerprint"] == cached.metadata["data_fingerprint"])
        }
        let state = try Safetensors.read(base + "/cached/training_state.safetensors")
        #expect(state.metadata["data_fingerprint"]?.hasPrefix("v2-") == true)
    }
}
