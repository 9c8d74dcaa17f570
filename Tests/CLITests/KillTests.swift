// Fault injection: `vae train` killed with SIGKILL at random moments, resumed each time, must end where an uninterrupted run ends.
import Foundation
import Testing
import TestSupport

/// SplitMix64: the kill moments come from a fixed seed.
struct KillMoments {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Microseconds in 0..<bound.
    mutating func delay(below bound: UInt64) -> useconds_t { useconds_t(next() % bound) }
}

@Suite(.serialized) struct KillTests {
    /// Twelve runs of 8 epochs on Datasets/sample, each killed up to three times at moments drawn
    /// from a fixed seed (spread over a whole run's length, so they land in start-up, loading,
    /// steps and the writes at epoch ends) and continued with --resume (or started again when the
    /// kill came before config.json). Every run that finishes must have the uninterrupted run's
    /// model.safetensors bytes and metrics, and no temporaries left; a refusal must be one line.
    @Test func killedAtRandomMomentsEveryRunEndsExactlyOrRefusesInOneLine() throws {
        let base = temporaryFolder("vae-kill")
        let settings = tinyModel + ["--epochs", "8", "--seed", "4"]
        let reference = try vae(["train", sampleData, "--out", base + "/reference", "--threads", "1"] + settings)
        #expect(reference.status == 0, "\(reference.stderr)")
        let expectedModel = try #require(bytes(base + "/reference/model.safetensors"))
        let expectedMetrics = lossLines(base + "/reference")
        var moments = KillMoments(state: 20261202)
        var kills = 0, finished = 0, refused = 0, restarts = 0, repairedModels = 0, cleanedLeftovers = 0
        for chain in 0..<12 {
            let run = base + "/run\(chain)"
            var killedHere = 0
            while true {
                let resuming = FileManager.default.fileExists(atPath: run + "/config.json")
                if !resuming && killedHere > 0 { restarts += 1 }
                let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []).filter { $0.contains(".tmp-") }
                let process = try VAEProcess(resuming ? ["train", "--resume", run] : ["train", sampleData, "--out", run] + settings)
                if killedHere < 3 {
                    usleep(moments.delay(below: 250_000))
                    process.signal(SIGKILL)
                } else {
                    // A watchdog, not a timing: a run that hangs fails the test instead of blocking it.
                    DispatchQueue.global().asyncAfter(deadline: .now() + 300) { process.signal(SIGKILL) }
                }
                let r = process.wait()
                if r.killed {
                    #expect(r.status == SIGKILL && killedHere < 3, "run\(chain) ended on signal \(r.status): \(r.stderr)")
                    kills += 1
                    killedHere += 1
                    continue
                }
                cleanedLeftovers += leftovers.count
                if r.stderr.contains("written again from it") { repairedModels += 1 }
                if r.status == 0 {
                    finished += 1
                    #expect(bytes(run + "/model.safetensors") == expectedModel, "run\(chain): weights differ after \(killedHere) kills")
                    #expect(lossLines(run) == expectedMetrics, "run\(chain): metrics differ after \(killedHere) kills")
                    let left = try FileManager.default.contentsOfDirectory(atPath: run).filter { $0.contains(".tmp-") }
                    #expect(left.isEmpty, "run\(chain): temporaries left: \(left)")
                } else {
                    refused += 1
                    let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("loading images") }
                    #expect(lines.count == 1 && lines[0].hasPrefix("Error: "), "run\(chain) refused: \(r.stderr)")
                }
                break
            }
        }
        print("kill test: \(kills) kills, \(finished) runs finished, \(refused) refused, \(restarts) restarted before "
              + "config.json, \(repairedModels) model files rewritten from their state, \(cleanedLeftovers) temporaries cleaned")
        #expect(finished + refused == 12 && finished > 0)
        #expect(kills > 0)
    }
}
