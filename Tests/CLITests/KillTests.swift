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

/// Where a killed run had got to: the epoch and batch of its last checkpoint, from the training state's header.
func checkpointPosition(_ run: String) -> String {
    guard FileManager.default.fileExists(atPath: run + "/config.json") else { return "before config.json" }
    guard FileManager.default.fileExists(atPath: run + "/training_state.safetensors") else { return "before the first checkpoint" }
    guard let data = bytes(run + "/training_state.safetensors"), data.count > 8 else { return "unreadable state" }
    let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    guard n > 0, 8 + n <= data.count,
          let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any],
          let meta = header["__metadata__"] as? [String: String] else { return "unreadable state" }
    return "epoch \(meta["epoch"] ?? "?") batch \(meta["batch_in_epoch"] ?? "?")"
}

@Suite(.serialized) struct KillTests {
    /// Sixteen runs of 12 epochs on Datasets/sample, each killed up to three times at moments drawn
    /// from a fixed seed (spread over a whole run's length, so they land in start-up, loading,
    /// steps and the writes at epoch ends; one in three just after a Ctrl-C, so some land in the
    /// checkpoint it writes) and continued with --resume (or started again when the
    /// kill came before config.json). Every run that finishes must have the uninterrupted run's
    /// model.safetensors bytes and metrics, and no temporaries left; a refusal must be one line.
    @Test func killedAtRandomMomentsEveryRunEndsExactlyOrRefusesInOneLine() throws {
        let base = temporaryFolder("vae-kill")
        let settings = tinyModel + ["--epochs", "12", "--seed", "4"]
        let reference = try vae(["train", sampleData, "--out", base + "/reference", "--threads", "1"] + settings)
        #expect(reference.status == 0, "\(reference.stderr)")
        let expectedModel = try #require(bytes(base + "/reference/model.safetensors"))
        let expectedMetrics = lossLines(base + "/reference")
        var moments = KillMoments(state: 20261202)
        var kills = 0, interrupts = 0, finished = 0, refused = 0, restarts = 0, repairedModels = 0, cleanedLeftovers = 0
        var positions: [String: Int] = [:]
        let chains = 16
        for chain in 0..<chains {
            let run = base + "/run\(chain)"
            var killedHere = 0
            while true {
                let resuming = FileManager.default.fileExists(atPath: run + "/config.json")
                if !resuming && killedHere > 0 { restarts += 1 }
                let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []).filter { $0.contains(".tmp-") }
                let process = try VAEProcess(resuming ? ["train", "--resume", run] : ["train", sampleData, "--out", run] + settings)
                if killedHere < 3 {
                    usleep(moments.delay(below: 200_000))
                    // One stop in three is Ctrl-C first, then kill -9 while its checkpoint may be being written.
                    if moments.next() % 3 == 0 {
                        process.signal(SIGINT)
                        usleep(moments.delay(below: 20_000))
                    }
                    process.signal(SIGKILL)
                } else {
                    // A watchdog, not a timing: a run that hangs fails the test instead of blocking it.
                    DispatchQueue.global().asyncAfter(deadline: .now() + 300) { process.signal(SIGKILL) }
                }
                let r = process.wait()
                if r.killed || r.status == 130 {
                    // Ctrl-C before training starts (while loading) ends the process by SIGINT, as it should.
                    #expect(r.killed ? [SIGKILL, SIGINT].contains(r.status) : r.stdout.contains("Continue with: vae train --resume"),
                            "run\(chain) ended with \(r.killed ? "signal" : "status") \(r.status): \(r.stderr)")
                    if r.killed { kills += 1 } else { interrupts += 1 }
                    killedHere += 1
                    positions[checkpointPosition(run), default: 0] += 1
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
        print("kill test: \(kills) kills, \(interrupts) Ctrl-C stops that ended before the kill, \(finished) runs finished, \(refused) refused, \(restarts) restarted before "
              + "config.json, \(repairedModels) model files rewritten from their state, \(cleanedLeftovers) temporaries cleaned; "
              + "checkpoints the kills left: " + positions.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        #expect(finished + refused == chains && finished > 0)
        #expect(kills > 0)
    }
}
