// Cluster: the ranks of an mpirun job (Open MPI, loaded at run time through CMPI), or nil for a plain process.
import CMPI
import Foundation

public final class Cluster: @unchecked Sendable {
    public let rank: Int
    public let size: Int

    private init(rank: Int, size: Int) { (self.rank, self.size) = (rank, size) }

    /// True when mpirun started this process: only then is Open MPI loaded, so plain `vae`
    /// never touches libmpi and runs on machines without it.
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    /// Initialises MPI when launched by mpirun; nil otherwise. Throws with a one-line reason
    /// when mpirun started us but Open MPI cannot be loaded.
    public static func start() throws -> Cluster? {
        guard launchedByMPI else { return nil }
        var why = [CChar](repeating: 0, count: 512)
        guard vae_mpi_init(&why, why.count) == 0 else {
            throw RunError.invalid("mpirun started vae but " + String(cString: why))
        }
        return Cluster(rank: Int(vae_mpi_rank()), size: Int(vae_mpi_size()))
    }

    /// The shards of `shards` that this rank computes: a contiguous slice, so rank order is shard order.
    public func ownShards(of shards: Int) -> Range<Int> { Parallel.slice(shards, part: rank, of: size) }

    /// The rank that computes shard `s`.
    public func owner(ofShard s: Int, of shards: Int) -> Int {
        (0..<size).first { Parallel.slice(shards, part: $0, of: size).contains(s) } ?? 0
    }

    public func broadcast(_ data: UnsafeMutablePointer<Float>, count: Int, from root: Int) {
        check(vae_mpi_bcast_floats(data, count, Int32(root)), "broadcast")
    }

    public func broadcast(_ data: UnsafeMutablePointer<Double>, count: Int, from root: Int) {
        check(vae_mpi_bcast_doubles(data, count, Int32(root)), "broadcast")
    }

    /// Rank `root`'s `value`, on every rank (a whole number below 2⁵³).
    public func broadcast(_ value: Int, from root: Int) -> Int {
        var v = Double(value)
        broadcast(&v, count: 1, from: root)
        return Int(v)
    }

    /// Rank `root`'s `value`, on every rank.
    public func broadcast(_ value: Double, from root: Int) -> Double {
        var v = value
        broadcast(&v, count: 1, from: root)
        return v
    }

    /// The shards rank `q` computes.
    public func shards(ofRank q: Int, of shards: Int) -> Range<Int> { Parallel.slice(shards, part: q, of: size) }

    /// MPI_Alltoallv: `send[sendBlocks[q]]` goes to rank q, and rank q's block for this rank lands
    /// in `receive[receiveBlocks[q]]` (ranges in floats, one per rank).
    public func exchange(send: UnsafePointer<Float>, sendBlocks: [Range<Int>],
                         receive: UnsafeMutablePointer<Float>, receiveBlocks: [Range<Int>]) {
        let (sc, so) = mpiCounts(sendBlocks), (rc, ro) = mpiCounts(receiveBlocks)
        check(vae_mpi_alltoallv_floats(send, sc, so, receive, rc, ro), "alltoallv")
    }

    /// In-place MPI_Allgatherv: rank q's `data[blocks[q]]` reaches every rank.
    public func gather(_ data: UnsafeMutablePointer<Float>, blocks: [Range<Int>]) {
        let (c, o) = mpiCounts(blocks)
        check(vae_mpi_allgatherv_floats(data, c, o), "allgatherv")
    }

    public func gather(_ data: UnsafeMutablePointer<Double>, blocks: [Range<Int>]) {
        let (c, o) = mpiCounts(blocks)
        check(vae_mpi_allgatherv_doubles(data, c, o), "allgatherv")
    }

    /// In-place MPI_Allreduce (sum) of floats, in whatever order Open MPI picks: exact only where
    /// that cannot matter (two ranks: one commutative addition per float).
    public func sum(_ data: UnsafeMutablePointer<Float>, count: Int) {
        check(vae_mpi_allreduce_sum_floats(data, count), "allreduce")
    }

    /// MPI's int counts and offsets; Trainer.attach refuses exchanges that would not fit.
    private func mpiCounts(_ blocks: [Range<Int>]) -> ([Int32], [Int32]) {
        (blocks.map { Int32($0.count) }, blocks.map { Int32($0.lowerBound) })
    }

    /// True when any thread may call MPI (one at a time): Open MPI granted MPI_THREAD_SERIALIZED.
    /// Otherwise only the main thread does, and the gradient is summed after the backward pass.
    public var threadsMayCall: Bool { vae_mpi_serialized() != 0 }

    /// A started non-blocking collective (an MPI_Request). Its buffers, counts and offsets must stay
    /// as they are until `test` says it is done or `wait` returns.
    struct Request { var handle: UnsafeMutableRawPointer? }

    /// MPI_Iallreduce (sum) of `count` floats from `send` into `data`, or in place when `send` is nil.
    func startSum(from send: UnsafePointer<Float>?, into data: UnsafeMutablePointer<Float>, count: Int) -> Request {
        var r = Request(handle: nil)
        check(vae_mpi_iallreduce_sum_floats(send, data, Int32(count), &r.handle), "iallreduce")
        return r
    }

    /// MPI_Ialltoallv: as `exchange`, with counts and offsets (ranks each) that must outlive the request.
    func startExchange(send: UnsafePointer<Float>, counts: UnsafePointer<Int32>, offsets: UnsafePointer<Int32>,
                       receive: UnsafeMutablePointer<Float>, receiveCounts: UnsafePointer<Int32>,
                       receiveOffsets: UnsafePointer<Int32>) -> Request {
        var r = Request(handle: nil)
        check(vae_mpi_ialltoallv_floats(send, counts, offsets, receive, receiveCounts, receiveOffsets, &r.handle), "ialltoallv")
        return r
    }

    /// In-place MPI_Iallgatherv: as `gather`, with counts and offsets that must outlive the request.
    func startGather(_ data: UnsafeMutablePointer<Float>, counts: UnsafePointer<Int32>, offsets: UnsafePointer<Int32>) -> Request {
        var r = Request(handle: nil)
        check(vae_mpi_iallgatherv_floats(data, counts, offsets, &r.handle), "iallgatherv")
        return r
    }

    /// True when `request` has completed (MPI_Test, which also moves every pending collective on:
    /// Open MPI's TCP transport makes progress only inside MPI calls).
    func test(_ request: inout Request) -> Bool {
        var done: Int32 = 0
        check(vae_mpi_test(&request.handle, &done), "test")
        return done != 0
    }

    func wait(_ request: inout Request) { check(vae_mpi_wait(&request.handle), "wait") }

    /// True on every rank when any rank passes true (the stop request every rank must agree on).
    public func any(_ flag: Bool) -> Bool {
        var v: Int32 = flag ? 1 : 0
        check(vae_mpi_allreduce_max_ints(&v, 1), "allreduce")
        return v != 0
    }

    public func barrier() { check(vae_mpi_barrier(), "barrier") }

    /// Ends the whole job (every rank) with `code`.
    public func abort(_ code: Int32) -> Never {
        vae_mpi_abort(code)
        exit(code)
    }

    public func finish() { _ = vae_mpi_finalize() }

    // Open MPI's default error handler aborts the job on a failed call; a nonzero status here
    // means someone changed that, and going on would silently diverge the ranks.
    private func check(_ status: Int32, _ what: String) {
        guard status != 0 else { return }
        FileHandle.standardError.write(Data("error: MPI \(what) failed (status \(status)) on rank \(rank)\n".utf8))
        abort(1)
    }
}
