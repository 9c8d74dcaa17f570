// Edited and damaged run folders and flags that cost memory: every command refuses with one line, never a signal.
import Foundation
import Testing
import TestSupport

@Suite struct HostileRunFolderTests {
    /// A trained tiny run to spoil, made once per test.
    static func makeRun() throws -> (data: String, run: String) {
        let data = try makeImageFolder(count: 8)
        let run = temporaryFolder("vae-hostile") + "/run"
        let r = try vae(["train", data, "--size", "16", "--channels", "3", "--widths", "4,8", "--latent", "3",
                         "--batch", "4", "--epochs", "1", "--out", run])
        #expect(r.status == 0, "\(r.stderr)")
        return (data, run)
    }

    /// Sets `value` at `path` (keys) in the run's config.json.
    static func edit(_ run: String, _ path: [String], _ value: Any) throws {
        let url = URL(fileURLWithPath: run + "/config.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        func set(_ object: [String: Any], _ keys: ArraySlice<String>) -> [String: Any] {
            var o = object
            if keys.count == 1 { o[keys.first!] = value } else {
                o[keys.first!] = set(o[keys.first!] as? [String: Any] ?? [:], keys.dropFirst())
            }
            return o
        }
        try JSONSerialization.data(withJSONObject: set(json, path[...])).write(to: url)
    }

    /// Every command that reads the run refuses it: exit status 1 or 64, a message naming config.json, no signal.
    static func expectRefused(_ run: String, data: String, _ what: String) throws {
        let image = try #require(try FileManager.default.contentsOfDirectory(atPath: data).first { $0.hasSuffix(".png") })
        let commands: [[String]] = [["sample", run, "--count", "2", "--out", run + "/s.png"], ["evaluate", run, data],
                                    ["reconstruct", run, data + "/" + image, "--out", run + "/r.png"],
                                    ["interpolate", run, data + "/" + image, data + "/" + image, "--out", run + "/i.png"],
                                    ["train", "--resume", run, "--epochs", "3"]]
        for command in commands {
            let r = try vae(command, timeout: 60)
            #expect(r.status == 1 || r.status == 64, "\(what): vae \(command[0]) ended with \(r.status): \(r.stderr)")
            #expect(r.stderr.contains("config.json"), "\(what): vae \(command[0]) said \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage") && !$0.contains("--help") }.count == 1,
                    "\(what): vae \(command[0]) said \(r.stderr)")
        }
    }

    @Test(arguments: [
        (["model", "size"], 0 as Any), (["model", "size"], 100_000), (["model", "latent"], -1), (["model", "latent"], 1_000_000_000),
        (["model", "channels"], 2), (["model", "likelihood"], "poisson"), (["model", "encoder"], [] as [Any]),
        (["data", "size"], 32), (["data", "channels"], 1), (["training", "batch"], 0), (["training", "batch"], -5),
        (["training", "batch"], 1_000_000_000), (["training", "shards"], 0), (["training", "learningRate"], -1),
    ] as [([String], Any)])
    func anEditedConfigIsRefusedByEveryCommand(_ path: [String], _ value: Any) throws {
        let (data, run) = try Self.makeRun()
        try Self.edit(run, path, value)
        try Self.expectRefused(run, data: data, "\(path.joined(separator: ".")) = \(value)")
    }

    @Test func enormousWidthsAreRefused() throws {
        let (data, run) = try Self.makeRun()
        var blocks: [[String: Any]] = [["kind": "conv", "module": "enc", "channels": 60_000, "activation": "relu"],
                                       ["kind": "conv", "module": "enc", "channels": 60_000, "activation": "relu"],
                                       ["kind": "flatten", "module": "enc"]]
        try Self.edit(run, ["model", "encoder"], blocks)
        try Self.expectRefused(run, data: data, "widths 60000,60000")
        blocks[0]["channels"] = "many"
        try Self.edit(run, ["model", "encoder"], blocks)
        try Self.expectRefused(run, data: data, "a width that is not a number")
    }

    /// A FIFO in place of a run file would block a plain read for ever: refused at once.
    @Test(arguments: ["config.json", "model.safetensors"])
    func aFIFOInARunFolderIsRefused(_ name: String) throws {
        let (_, run) = try Self.makeRun()
        try FileManager.default.removeItem(atPath: run + "/" + name)
        #expect(mkfifo(run + "/" + name, 0o644) == 0)
        let r = try vae(["sample", run, "--count", "2", "--out", run + "/s.png"], timeout: 30)
        #expect(r.status == 1 && r.stderr.contains(name) && r.stderr.contains("not a regular file"), "\(r.stderr)")
    }

    @Test func flagsThatCostMemoryAreRefusedBeforeAllocating() throws {
        let data = try makeImageFolder(count: 4)
        let out = temporaryFolder("vae-memory-flags")
        let cases: [([String], String)] = [
            (["--batch", "65536", "--size", "4096", "--channels", "3", "--likelihood", "bernoulli"], "over the"),
            (["--size", "512", "--channels", "3", "--batch", "4096"], "--batch"),
            (["--latent", "100000"], "--latent must be between 1 and 65536"),
            (["--threads", "1000"], "--threads must be between 1 and"),
            (["--clip-norm", "nan"], "--clip-norm"),
            (["--size", "16", "--memory", "0.001"], "raise --memory"),
            (["--memory", "-1"], "--memory"),
        ]
        for (flags, message) in cases {
            let r = try vae(["train", data, "--out", out + "/run"] + flags, timeout: 60)
            #expect(r.status == 1 || r.status == 64, "\(flags): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(message), "\(flags): \(r.stderr)")
        }
    }
}

/// Training states that do not belong to the run, or whose position is damage.
@Suite struct ForeignStateTests {
    @Test func aTrainingStateFromAnotherRunIsRefused() throws {
        let data = try makeImageFolder(count: 8)
        let out = temporaryFolder("vae-foreign")
        let flags = ["--size", "16", "--channels", "3", "--widths", "4,8", "--latent", "3", "--batch", "4", "--epochs", "1",
                     "--schedule", "constant"]
        for name in ["a", "b"] {
            let r = try vae(["train", data, "--out", out + "/" + name] + flags)
            #expect(r.status == 0, "\(r.stderr)")
        }
        try FileManager.default.removeItem(atPath: out + "/a/training_state.safetensors")
        try FileManager.default.copyItem(atPath: out + "/b/training_state.safetensors", toPath: out + "/a/training_state.safetensors")
        let r = try vae(["train", "--resume", out + "/a", "--epochs", "2"])
        #expect(r.status == 1 && r.stderr.contains("belongs to another run"), "\(r.stderr)")
    }
}
