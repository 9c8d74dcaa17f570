// Train+MPI: `mpirun -np N vae train …`: rank 0 trains in the run folder; the other ranks train the same steps in a private scratch copy.
import Foundation
import VAE

/// Where one rank of an mpirun job trains. Every rank runs the whole session (it loads the data,
/// validates and keeps the same weights, since the Trainer exchanges every shard's gradient), but
/// only rank 0 touches the user's folder: the others write into a scratch folder removed at the end.
struct RankFolder {
    let cluster: Cluster
    /// The scratch folder of a rank other than 0; nil on rank 0.
    let scratch: String?

    init(cluster: Cluster) {
        self.cluster = cluster
        // Inside Open MPI's session directory for this job when it names one: mpirun deletes that
        // at the job's end even when this rank was killed (kill -9, the OOM killer) and could not
        // clean up itself. Elsewhere the temporary folder, removed by this rank when it ends.
        let env = ProcessInfo.processInfo.environment
        let base = env["OMPI_FILE_LOCATION"].flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
            ?? NSTemporaryDirectory()
        scratch = cluster.rank == 0 ? nil : (base as NSString).appendingPathComponent("vae-rank\(cluster.rank)-\(getpid())")
    }

    /// The folder this rank trains a new run in.
    func newRunPath(_ path: String) -> String { scratch ?? path }

    /// The folder this rank resumes: the others copy the run first (all ranks read the same
    /// checkpoint), and rank 0 writes nothing until they have.
    func resumePath(_ path: String) throws -> String {
        defer { cluster.barrier() }
        guard let scratch else { return path }
        try? FileManager.default.removeItem(atPath: scratch)
        do {
            try FileManager.default.copyItem(atPath: path, toPath: scratch)
        } catch {
            // Only this rank knows: it says so itself.
            let failure = RunFailure("\(path): cannot copy the run for rank \(cluster.rank): \(error.localizedDescription)")
            FileHandle.standardError.write(Data("Error: \(failure)\n".utf8))
            throw failure
        }
        return scratch
    }

    func cleanUp() { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }

    /// An error ends every rank (a rank left alone would wait for the others forever); rank 0 says why.
    func fail(_ error: Error) -> Never {
        if cluster.rank == 0 { FileHandle.standardError.write(Data("Error: \(error)\n".utf8)) }
        cleanUp()
        // Most errors (a refused flag, too many ranks) strike every rank at once: the others give
        // rank 0 a moment to print its message before one of their aborts ends the job.
        if cluster.rank != 0 { usleep(1_000_000) }
        cluster.abort(1)
    }
}
