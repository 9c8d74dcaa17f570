// `mpirun -np 2 vae train` against one process: the same weights and training state, bit for bit; resume, Ctrl-C and a dying rank under MPI.
import Foundation
import Testing
import TestSupport

/// mpirun on the PATH, or nil (the tests then skip and say why; CI installs Open MPI).
func mpirunPath() -> String? {
    let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
    return paths.map { "\($0)/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// A started `mpirun -np 2 vae …` (as root, on however few cores), with its output collected.
final class MPIJob: @unchecked Sendable {
    let process = Process()
    private let out = Pipe(), err = Pipe()
    private var outData = Data(), errData = Data()
    private let group = DispatchGroup()

    convenience init(_ mpirun: String, ranks: Int = 2, _ arguments: [String]) throws {
        try self.init(mpirun, mpirunArguments: ["-np", "\(ranks)", try vaeBinary().path] + arguments)
    }

    /// Two ranks, each with arguments of its own (mpirun's "A : B" form).
    convenience init(_ mpirun: String, rank0: [String], rank1: [String]) throws {
        let vae = try vaeBinary().path
        try self.init(mpirun, mpirunArguments: ["-np", "1", vae] + rank0 + [":", "-np", "1", vae] + rank1)
    }

    private init(_ mpirun: String, mpirunArguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ["--allow-run-as-root", "--oversubscribe"] + mpirunArguments
        process.environment = vaeEnvironment()
        (process.standardOutput, process.standardError) = (out, err)
        try process.run()
        group.enter()
        DispatchQueue.global().async { self.outData = self.out.fileHandleForReading.readDataToEndOfFile(); self.group.leave() }
        group.enter()
        DispatchQueue.global().async { self.errData = self.err.fileHandleForReading.readDataToEndOfFile(); self.group.leave() }
    }

    /// The job's status and output, or nil when it has not ended after `timeout` seconds (it is then killed).
    func wait(timeout: Double = 120) -> Result? {
        guard group.wait(timeout: .now() + timeout) == .success else {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// The pid of rank `rank` (a child of mpirun, told by the environment Open MPI gives it).
    func pid(ofRank rank: Int) -> pid_t? {
        let children = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children",
                                    encoding: .utf8)) ?? ""
        return children.split(separator: " ").compactMap { pid_t($0) }.first { pid in
            let environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            return environ.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=\(rank)" }
        }
    }
}

/// A safetensors file as (header with the run id and the wall-clock seconds blanked, tensor bytes):
/// everything two runs of the same training must share.
func comparableState(_ path: String) throws -> (String, Data) {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    var header = String(decoding: data.subdata(in: 8..<(8 + n)), as: UTF8.self)
    for key in ["run_id", "train_seconds"] {
        header = header.replacingOccurrences(of: "\"\(key)\":\"[^\"]*\"", with: "\"\(key)\":\"\"", options: .regularExpression)
    }
    // The header's padding follows its length, which the blanked values changed.
    header = header.trimmingCharacters(in: .whitespaces)
    return (header, data.subdata(in: (8 + n)..<data.count))
}

/// metrics.jsonl without the timings.
func metricsWithoutTimings(_ run: String) throws -> [String] {
    try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { line in
        line.split(separator: ",").filter { !$0.contains("imagesPerSecond") && !$0.contains("elapsedSeconds") }.joined(separator: ",")
    }
}

@Suite(.serialized) struct MPITests {
    let tiny = ["--size", "16", "--widths", "8,16", "--latent", "4", "--batch", "6", "--seed", "3"]

    func expectSameTraining(_ a: String, _ b: String, _ what: String) throws {
        let modelA = try Data(contentsOf: URL(fileURLWithPath: a + "/model.safetensors"))
        let modelB = try Data(contentsOf: URL(fileURLWithPath: b + "/model.safetensors"))
        // Compared to Bools first: on a mismatch, #expect would diff the megabytes byte by byte for minutes.
        let sameModel = modelA == modelB
        #expect(sameModel, "\(what): model.safetensors differs")
        let stateA = try comparableState(a + "/training_state.safetensors")
        let stateB = try comparableState(b + "/training_state.safetensors")
        #expect(stateA.0 == stateB.0, "\(what): the training state's header differs")
        let sameTensors = stateA.1 == stateB.1
        #expect(sameTensors, "\(what): the training state's tensors differ")
        #expect(try metricsWithoutTimings(a) == metricsWithoutTimings(b), "\(what): metrics differ")
    }

    /// Two ranks train what one process trains, bit for bit; rank 0 alone speaks and writes; a
    /// run stopped after epoch 1 and resumed under MPI to epoch 2 ends the same way too.
    @Test func twoRanksEqualOneProcessAndResumeExactly() throws {
        guard let mpirun = mpirunPath() else {
            print("MPITests skipped: mpirun is not on the PATH (Debian: apt-get install openmpi-bin)")
            return
        }
        let base = temporaryFolder("vae-mpi")
        let scratch = { Set(try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("vae-rank") }) }
        let before = try scratch()
        let data = FileManager.default.currentDirectoryPath + "/Datasets/sample"
        // --bucket-mb means nothing to one process: it says so and trains as without it.
        let one = try vae(["train", data, "--epochs", "2", "--out", base + "/one", "--bucket-mb", "1"] + tiny)
        #expect(one.status == 0, "\(one.stderr)")
        #expect(one.stderr.contains("--bucket-mb applies under mpirun only"), "\(one.stderr)")
        let two = try MPIJob(mpirun, ["train", data, "--epochs", "2", "--out", base + "/two"] + tiny).wait()
        #expect(two?.status == 0, "\(two?.stderr ?? "mpirun did not finish")")
        #expect(two?.stdout.components(separatedBy: "training in ").count == 2, "one rank speaks: \(two?.stdout ?? "")")
        try expectSameTraining(base + "/one", base + "/two", "2 ranks against 1 process")
        let first = try MPIJob(mpirun, ["train", data, "--epochs", "1", "--out", base + "/split"] + tiny).wait()
        #expect(first?.status == 0, "\(first?.stderr ?? "mpirun did not finish")")
        let second = try MPIJob(mpirun, ["train", "--resume", base + "/split", "--epochs", "2"]).wait()
        #expect(second?.status == 0, "\(second?.stderr ?? "mpirun did not finish")")
        try expectSameTraining(base + "/one", base + "/split", "resumed under MPI")
        // The other rank's scratch copies are gone.
        let left = try scratch().subtracting(before)
        #expect(left.isEmpty, "scratch folders left: \(left)")
    }

    /// More shards than ranks: with a power of two of ranks each sends one subtree's sum; with three
    /// ranks over five shards some send two (GradientExchange); free bits share the KL sums too.
    /// Either way the weights are one process's, bit for bit, with the gradient summed in one
    /// bucket after the backward pass (this model is smaller than the default bucket) or in a bucket
    /// per layer or two, overlapped with it.
    @Test func ranksOwningSeveralShardsEqualOneProcess() throws {
        guard let mpirun = mpirunPath() else {
            print("MPITests skipped: mpirun is not on the PATH (Debian: apt-get install openmpi-bin)")
            return
        }
        let base = temporaryFolder("vae-mpi-shards")
        let data = FileManager.default.currentDirectoryPath + "/Datasets/sample"
        for (ranks, extra) in [(2, ["--shards", "4"]), (3, ["--shards", "5", "--free-bits", "0.1"]), (4, ["--shards", "4"])] {
            let name = "\(ranks)ranks"
            let one = try vae(["train", data, "--epochs", "1", "--out", base + "/one-" + name] + tiny + extra)
            #expect(one.status == 0, "\(one.stderr)")
            for bucket in ["1", "0.002"] {
                let job = try MPIJob(mpirun, ranks: ranks, ["train", data, "--epochs", "1", "--out", base + "/" + name + bucket,
                                                            "--bucket-mb", bucket] + tiny + extra).wait()
                #expect(job?.status == 0, "\(job?.stderr ?? "mpirun did not finish")")
                try expectSameTraining(base + "/one-" + name, base + "/" + name + bucket, "\(ranks) ranks with \(extra), \(bucket) MiB buckets")
            }
        }
        let tooMany = try MPIJob(mpirun, ranks: 3, ["train", data, "--epochs", "1", "--out", base + "/tooMany"] + tiny).wait()
        #expect(tooMany?.status != 0 && tooMany?.stderr.contains("run at most 2 ranks") == true, "\(tooMany?.stderr ?? "")")
    }

    /// --time-limit under mpirun: every rank reads rank 0's clock, so all stop at the same step
    /// (a rank that went on alone would wait for the others forever) and the cosine schedule is
    /// laid over one step count; a resume says the budget is spent.
    @Test func timeLimitedRunsStopEveryRankTogether() throws {
        guard let mpirun = mpirunPath() else {
            print("MPITests skipped: mpirun is not on the PATH (Debian: apt-get install openmpi-bin)")
            return
        }
        let base = temporaryFolder("vae-mpi-time"), data = FileManager.default.currentDirectoryPath + "/Datasets/sample"
        let job = try MPIJob(mpirun, ["train", data, "--time-limit", "3s", "--schedule", "cosine", "--warmup-steps", "10",
                                      "--out", base + "/run"] + tiny).wait()
        #expect(job?.status == 0, "\(job?.stderr ?? "mpirun did not finish")")
        #expect(job?.stdout.contains("time limit reached") == true, "\(job?.stdout ?? "")")
        let schedule = try trainingSettings(base + "/run")["schedule"] as? [String: Any]
        #expect(schedule?["totalSteps"] as? Int != nil, "the cosine's step count was fixed: \(String(describing: schedule))")
        let again = try MPIJob(mpirun, ["train", "--resume", base + "/run"]).wait()
        #expect(again?.status == 0 && again?.stdout.contains("has already used its time limit") == true,
                "\(again?.stdout ?? "") \(again?.stderr ?? "")")
    }

    /// `vae bench --allreduce` times the exchange and training steps with and without overlap; with
    /// buckets smaller than the layers each bucket's sum starts during the backward pass.
    @Test func benchAllreduceStartsBucketsDuringTheBackwardPass() throws {
        guard let mpirun = mpirunPath() else {
            print("MPITests skipped: mpirun is not on the PATH (Debian: apt-get install openmpi-bin)")
            return
        }
        let job = try MPIJob(mpirun, ["bench", "--allreduce", "--preset", "fmnist", "--steps", "2", "--threads", "1",
                                      "--bucket-mb", "0.5"]).wait()
        #expect(job?.status == 0, "\(job?.stderr ?? "mpirun did not finish")")
        let out = job?.stdout ?? ""
        let line = out.split(separator: "\n").first { $0.contains("buckets of") }.map(String.init) ?? ""
        // The word before `suffix`, as a number.
        let number = { (suffix: String) in line.range(of: suffix).flatMap { Int(line[..<$0.lowerBound].split(separator: " ").last ?? "") } }
        let buckets = number(" buckets of") ?? 0, early = number(" started during the backward pass") ?? -1
        #expect(buckets >= 3 && early == buckets, "\(out)")
        for label in ["exchange", "mpi_allreduce", "by_hand", "step_after", "step_overlap", "overlap speed-up"] {
            #expect(out.contains(label), "\(label) missing: \(out)")
        }
    }

    /// Streamed under mpirun: every rank takes rank 0's window, even one whose own budget would
    /// hold the images (rank 1 here), so the two ranks train what one process with rank 0's
    /// budget trains, bit for bit.
    @Test func streamedRanksTakeRankZerosWindow() throws {
        guard let mpirun = mpirunPath() else {
            print("MPITests skipped: mpirun is not on the PATH (Debian: apt-get install openmpi-bin)")
            return
        }
        let data = try makeImageFolder(count: 600, size: 64), base = temporaryFolder("vae-mpi-stream")
        let budget = String((try StreamingCLITests.baseMegabytes(data, base) + 4.5) / 1000)
        let common = ["train", data, "--epochs", "1", "--cache", base + "/cache"] + StreamingCLITests.model
        let one = try vae(common + ["--out", base + "/one", "--memory", budget])
        #expect(one.status == 0 && one.stdout.contains("streaming the images"), "\(one.stdout)\(one.stderr)")
        let job = try MPIJob(mpirun, rank0: common + ["--out", base + "/two", "--memory", budget],
                             rank1: common + ["--out", base + "/two", "--memory", "8"]).wait()
        #expect(job?.status == 0, "\(job?.stderr ?? "mpirun did not finish")")
        try expectSameTraining(base + "/one", base + "/two", "2 streamed ranks against 1 process")
    }

    /// A rank killed mid-run ends the whole job with mpirun's message, not a hang. SIGTERM to one
    /// rank alone (rank 1, which writes nothing) stops every rank at the same step, with rank 0's
    /// checkpoint, which resumes: the ranks agree on the stop after every step.
    @Test func aKilledRankEndsTheJobAndSIGTERMToOneRankStopsAll() throws {
        guard let mpirun = mpirunPath() else {
            print("MPITests skipped: mpirun is not on the PATH (Debian: apt-get install openmpi-bin)")
            return
        }
        let base = temporaryFolder("vae-mpi-kill")
        let data = FileManager.default.currentDirectoryPath + "/Datasets/sample"
        for (name, stop) in [("killed", "kill -9"), ("interrupted", "SIGTERM")] {
            let job = try MPIJob(mpirun, ["train", data, "--epochs", "1000", "--out", base + "/" + name] + tiny)
            // Wait for the first checkpoint: both ranks are then in the training loop.
            let start = Date()
            while !FileManager.default.fileExists(atPath: base + "/\(name)/training_state.safetensors"),
                  Date().timeIntervalSince(start) < 60 { usleep(50_000) }
            if stop == "kill -9" {
                let victim = try #require(job.pid(ofRank: 1), "rank 1's process not found")
                // Its scratch copy of the run, in Open MPI's session directory for the job.
                let environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(victim)/environ"))) ?? Data()
                let session = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                    .first { $0.hasPrefix("OMPI_FILE_LOCATION=") }.map { String($0.dropFirst("OMPI_FILE_LOCATION=".count)) }
                let scratch = (session ?? NSTemporaryDirectory()) + "/vae-rank1-\(victim)"
                #expect(FileManager.default.fileExists(atPath: scratch), "rank 1 trains in \(scratch)")
                kill(victim, SIGKILL)
                let r = try #require(job.wait(timeout: 30), "the job hung after rank 1 died")
                #expect(r.status != 0)
                #expect(r.stderr.contains("rank 1") && r.stderr.contains("signal 9"), "\(r.stderr)")
                // A rank killed outright cannot remove its scratch copy: mpirun removes the session directory.
                #expect(!FileManager.default.fileExists(atPath: scratch), "\(scratch) is left behind")
            } else {
                let signalled = try #require(job.pid(ofRank: 1), "rank 1's process not found")
                kill(signalled, SIGTERM)
                let r = try #require(job.wait(timeout: 30), "the job hung after SIGTERM")
                #expect(r.stdout.contains("interrupted: checkpoint saved"), "\(r.stdout)\n\(r.stderr)")
                let resumed = try MPIJob(mpirun, ["train", "--resume", base + "/" + name, "--epochs", "1000"])
                var rank1: pid_t?
                for _ in 0..<200 where rank1 == nil { usleep(50_000); rank1 = resumed.pid(ofRank: 1) }
                if let rank1 { usleep(500_000); kill(rank1, SIGTERM) } else { kill(resumed.process.processIdentifier, SIGKILL) }
                let again = try #require(resumed.wait(timeout: 30), "the resumed job hung after SIGTERM")
                #expect(again.stdout.contains("resuming in"), "\(again.stdout)\n\(again.stderr)")
            }
        }
    }
}
