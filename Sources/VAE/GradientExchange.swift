// GradientExchange: under mpirun, the shards' gradients summed across ranks in ShardTree order, bit for bit one process's sum.
import Foundation
import VAECore

/// An allreduce built by hand from its two halves, as Rabenseifner's (and a ring's) is: a
/// reduce-scatter (MPI_Ialltoallv, then each rank sums its chunk of the parameters) and an
/// MPI_Iallgatherv of the summed chunks. MPI_Allreduce itself is not used because the MPI standard
/// leaves its order of additions to the library: Open MPI's ring and recursive-doubling algorithms
/// add the ranks' values in a different order for each chunk, so the result would differ from one
/// process's sum in the last bits (for two ranks a + b = b + a, but not beyond). Here the order is
/// ShardTree's on every rank and in one process alike.
///
/// Two ranks are the exception: each owns one child of the root, and the root is their sum, a
/// single addition per parameter, which is commutative in IEEE arithmetic; whatever algorithm
/// MPI_Iallreduce picks, both ranks get left + right, the tree's bits. There it is used (measured
/// 2–3× faster than the exchange by hand: docs/SCALING.md).
///
/// Each rank sends the sums of the tree nodes that cover its shards: one node when the rank count
/// is a power of two (then a rank sends and receives 2·(N − 1)/N of the gradient per step, what a
/// ring allreduce moves), a few more otherwise.
///
/// The gradient goes in buckets, as PyTorch DDP's does: runs of whole layers of at least
/// `bucketFloats` parameters. The backward pass finishes the parameters from the last layer's
/// down (the layout is encoder, heads, decoder, likelihood), so a bucket is complete once every
/// shard of this rank has gone below its first layer (`reached`); its sum across ranks starts
/// there, while the backward pass goes on. Buckets start in the same order on every rank, as MPI
/// requires of non-blocking collectives. The sum of each parameter is the same tree whichever
/// bucket it is in, so the bits do not depend on the buckets.
///
/// Open MPI's TCP transport moves data only inside MPI calls (it has no progress thread of its own
/// by default), so a started sum would wait for the end of the backward pass; a thread of ours
/// calls MPI_Test every `pollInterval` while sums are under way, as Horovod's background thread does.
final class GradientExchange: @unchecked Sendable {
    /// A contiguous run of parameters summed as one unit.
    struct Bucket {
        let range: Range<Int>
        /// The parameters of the bucket that each rank sums: rank q sums chunks[q] of every node and sends it to all.
        let chunks: [Range<Int>]
        /// Where the bucket's blocks start in `send` and `received`.
        let sendStart: Int, receivedStart: Int
        /// Where each rank's node sum over this rank's chunk lands in `received`.
        let receivedAt: [ShardTree.Node: Int]
        /// MPI counts and offsets, which must outlive the non-blocking calls: send counts, send
        /// offsets, receive counts, receive offsets, gather counts, gather offsets, `ranks` each.
        let counts: UnsafeMutablePointer<Int32>
    }

    let cluster: Cluster
    let tree: ShardTree
    let parameters: Int
    /// In the order they complete: from the top of the parameter buffer down.
    let buckets: [Bucket]
    /// The nodes covering each rank's shards, in shard order.
    let nodes: [[ShardTree.Node]]
    /// This rank's shards.
    let own: Range<Int>
    /// This rank's node sums, per bucket [destination rank][node][that rank's chunk]; nil when this
    /// rank's shards are one leaf, whose gradient is already laid out that way.
    let send: Buffer?
    /// Every rank's node sums over this rank's chunks, per bucket [rank][node][chunk].
    let received: Buffer
    /// Two ranks: this rank's node sum, then MPI_Iallreduce (see above). The bench sets it false to time the other way.
    var allreduceOfTwo: Bool

    // One step's state, guarded by `lock` while the backward pass runs.
    private let lock = NSLock()
    private var gradients: [UnsafeMutablePointer<Float>] = []
    private var summed: UnsafeMutablePointer<Float>?
    /// Per shard of this rank (indexed by shard): the parameters from this offset up have their final gradient.
    private var finalFrom: [Int]
    private var started = 0, tested = 0
    /// Buckets whose sum started during the last step's backward pass (the rest started after it).
    private(set) var startedEarly = 0
    private var sums: [Cluster.Request], gathers: [Cluster.Request]

    /// `boundaries`: the offsets the backward pass reports through `reached`, from the top down,
    /// ending at 0. `bucketFloats`: a bucket's least size (the last one may be smaller).
    init(cluster: Cluster, shards: Int, parameters: Int, boundaries: [Int], bucketFloats: Int) throws {
        self.cluster = cluster
        self.parameters = parameters
        let tree = ShardTree(shards: shards)
        self.tree = tree
        let ranks = cluster.size, me = cluster.rank
        nodes = (0..<ranks).map { tree.cover(cluster.shards(ofRank: $0, of: shards)) }
        own = cluster.ownShards(of: shards)
        let mine = nodes[me].count
        var ranges: [Range<Int>] = [], top = parameters
        for offset in boundaries + [0] where offset < top && (top - offset >= bucketFloats || offset == 0) {
            ranges.append(offset..<top)
            top = offset
        }
        var buckets: [Bucket] = [], receivedTotal = 0
        for range in ranges {
            let chunks = (0..<ranks).map { q in
                let c = Parallel.slice(range.count, part: q, of: ranks)
                return (range.lowerBound + c.lowerBound)..<(range.lowerBound + c.upperBound)
            }
            let myChunk = chunks[me].count
            var receiveBlocks: [Range<Int>] = [], at: [ShardTree.Node: Int] = [:], offset = 0
            for q in 0..<ranks {
                for (k, node) in nodes[q].enumerated() { at[node] = receivedTotal + offset + k * myChunk }
                receiveBlocks.append(offset..<(offset + nodes[q].count * myChunk))
                offset += nodes[q].count * myChunk
            }
            // MPI counts and offsets are ints.
            guard mine * range.count <= Int(Int32.max), offset <= Int(Int32.max) else {
                throw RunError.invalid("mpirun -np \(ranks): \(shards) shards of \(parameters) parameters need more than 2^31 floats "
                                       + "in one exchange; run a power of two of ranks, or fewer shards")
            }
            let sendBlocks = chunks.map { (mine * ($0.lowerBound - range.lowerBound))..<(mine * ($0.upperBound - range.lowerBound)) }
            let gatherBlocks = chunks.map { ($0.lowerBound - range.lowerBound)..<($0.upperBound - range.lowerBound) }
            let counts = UnsafeMutablePointer<Int32>.allocate(capacity: 6 * ranks)
            for (k, blocks) in [sendBlocks, receiveBlocks, gatherBlocks].enumerated() {
                for q in 0..<ranks {
                    counts[2 * k * ranks + q] = Int32(blocks[q].count)
                    counts[(2 * k + 1) * ranks + q] = Int32(blocks[q].lowerBound)
                }
            }
            buckets.append(Bucket(range: range, chunks: chunks, sendStart: mine * range.lowerBound,
                                  receivedStart: receivedTotal, receivedAt: at, counts: counts))
            receivedTotal += offset
        }
        self.buckets = buckets
        allreduceOfTwo = ranks == 2
        let leaf = mine == 1 && tree.shards(of: nodes[me][0]).count == 1
        send = leaf ? nil : Buffer(count: mine * parameters)
        received = Buffer(count: receivedTotal)
        finalFrom = Array(repeating: parameters, count: shards)
        sums = Array(repeating: Cluster.Request(handle: nil), count: buckets.count)
        gathers = sums
        poller = Poller { [weak self] in self?.poll() ?? false }
    }

    deinit {
        poller?.stop()
        for b in buckets { b.counts.deallocate() }
    }

    /// How often the progress thread moves started sums on: 0.1 ms, ~25 KB at the 0.25 GB/s
    /// measured between two namespaces (docs/SCALING.md), well under a TCP socket's buffer.
    static let pollInterval: useconds_t = 100
    private var poller: Poller?

    /// Moves the started sums on, from the progress thread; true while some are still under way.
    private func poll() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return moveOn()
    }

    /// Tests the started sums in order (each MPI_Test moves all of them on); true while some are
    /// still under way. The caller holds `lock`.
    private func moveOn() -> Bool {
        while tested < started && cluster.test(&sums[tested]) { tested += 1 }
        return tested < started
    }

    /// Starts a step: this rank's shard gradients (indexed by shard) are to be summed into `summed`.
    /// `empty` shards have no images this step: their gradient is final (zero) already.
    func begin(gradients: [UnsafeMutablePointer<Float>], into summed: UnsafeMutablePointer<Float>, empty: [Int] = []) {
        lock.lock()
        defer { lock.unlock() }
        precondition(started == 0, "GradientExchange: a step began before the last one finished")
        self.gradients = gradients
        self.summed = summed
        for s in finalFrom.indices { finalFrom[s] = empty.contains(s) ? 0 : parameters }
        tested = 0
    }

    /// Called by the thread of `shard` as its backward pass finishes parameters `offset` and up:
    /// starts the sums of the buckets every shard of this rank has now finished, and moves the
    /// started ones on. Threads take turns (MPI is initialised serialized).
    func reached(_ offset: Int, shard: Int) {
        lock.lock()
        defer { lock.unlock() }
        finalFrom[shard] = offset
        let frontier = own.map { finalFrom[$0] }.max() ?? 0
        while started < buckets.count && buckets[started].range.lowerBound >= frontier {
            nodeSum(started)
            post(started)
            started += 1
        }
        if moveOn() { poller?.wake() }
    }

    /// Finishes the step: starts what the backward pass did not (all of it without `reached`),
    /// waits, and leaves the sum of every shard of every rank in `summed`.
    func finish(threads: Int) {
        lock.lock()
        defer { lock.unlock() }
        startedEarly = started
        let rest = started..<buckets.count
        Parallel.run(items: rest.count, threads: threads) { nodeSum(rest.lowerBound + $0) }
        for b in rest { post(b) }
        for b in buckets.indices { cluster.wait(&sums[b]) }
        if !allreduceOfTwo {
            Parallel.run(items: buckets.count, threads: threads) { chunkSum($0) }
            let summed = self.summed!
            for (b, bucket) in buckets.enumerated() {
                let r = cluster.size
                gathers[b] = cluster.startGather(summed + bucket.range.lowerBound, counts: bucket.counts + 4 * r,
                                                 offsets: bucket.counts + 5 * r)
            }
            for b in buckets.indices { cluster.wait(&gathers[b]) }
        }
        started = 0
    }

    /// The whole exchange at once, after the backward pass: summed = the tree sum of every shard's
    /// gradient (this rank's are in `gradients`, indexed by shard).
    func run(gradients: [UnsafeMutablePointer<Float>], into summed: UnsafeMutablePointer<Float>, threads: Int) {
        begin(gradients: gradients, into: summed)
        finish(threads: threads)
    }

    private var mine: [ShardTree.Node] { nodes[cluster.rank] }

    /// A shard's gradient as a tree node's value; nil for a node of several shards.
    private func leaf(_ node: ShardTree.Node, _ start: Int) -> UnsafePointer<Float>? {
        let s = tree.shards(of: node)
        return s.count == 1 ? UnsafePointer(gradients[s.lowerBound] + start) : nil
    }

    /// This rank's node sums over bucket `b`: into `summed` for two ranks (unless the one node is a
    /// leaf), else into `send`, one (destination, node) block at a time.
    private func nodeSum(_ b: Int) {
        let bucket = buckets[b], mine = self.mine
        withUnsafeTemporaryAllocation(of: Float.self, capacity: ShardTree.scratchCount) { scratch in
            let scratch = scratch.baseAddress!
            if allreduceOfTwo {
                guard leaf(mine[0], 0) == nil else { return }
                tree.sum(mine[0], start: bucket.range.lowerBound, count: bucket.range.count,
                         into: summed! + bucket.range.lowerBound, scratch: scratch, source: leaf)
                return
            }
            guard let send else { return }
            for c in bucket.chunks {
                for (k, node) in mine.enumerated() {
                    let at = bucket.sendStart + mine.count * (c.lowerBound - bucket.range.lowerBound) + k * c.count
                    tree.sum(node, start: c.lowerBound, count: c.count, into: send.pointer + at, scratch: scratch, source: leaf)
                }
            }
        }
    }

    /// Starts bucket `b`'s sum across ranks (the first half, when by hand).
    private func post(_ b: Int) {
        let bucket = buckets[b], range = bucket.range, r = cluster.size
        if allreduceOfTwo {
            let out = summed! + range.lowerBound
            sums[b] = cluster.startSum(from: leaf(mine[0], range.lowerBound), into: out, count: range.count)
            return
        }
        let source = send.map { UnsafePointer($0.pointer + bucket.sendStart) }
            ?? UnsafePointer(gradients[tree.shards(of: mine[0]).lowerBound] + range.lowerBound)
        sums[b] = cluster.startExchange(send: source, counts: bucket.counts, offsets: bucket.counts + r,
                                        receive: received.pointer + bucket.receivedStart,
                                        receiveCounts: bucket.counts + 2 * r, receiveOffsets: bucket.counts + 3 * r)
    }

    /// By hand: this rank's chunk of bucket `b`, summed from every rank's node sums.
    private func chunkSum(_ b: Int) {
        let bucket = buckets[b], chunk = bucket.chunks[cluster.rank], received = self.received.pointer, at = bucket.receivedAt
        withUnsafeTemporaryAllocation(of: Float.self, capacity: ShardTree.scratchCount) { scratch in
            tree.sum(start: chunk.lowerBound, count: chunk.count, into: summed! + chunk.lowerBound,
                     scratch: scratch.baseAddress!) { node, start in
                at[node].map { UnsafePointer(received + $0 + (start - chunk.lowerBound)) }
            }
        }
    }
}

/// A thread that calls `poll` every `GradientExchange.pollInterval` from `wake()` until it returns
/// false, then sleeps until the next `wake()`; it ends after `stop()` (and holds the Poller till then).
private final class Poller: @unchecked Sendable {
    private let condition = NSCondition()
    private var awake = false, stopped = false

    init(_ poll: @escaping @Sendable () -> Bool) {
        let thread = Thread { [condition = self.condition, self] in
            // Open MPI sums the floats of a non-blocking allreduce in whichever thread moves it on:
            // this one must round denormals as the training threads do (Parallel).
            FloatEnvironment.flushDenormals()
            while true {
                condition.lock()
                while !awake && !stopped { condition.wait() }
                let stop = stopped
                condition.unlock()
                if stop { return }
                if poll() {
                    usleep(GradientExchange.pollInterval)
                } else {
                    condition.lock()
                    awake = false
                    condition.unlock()
                }
            }
        }
        thread.name = "vae gradient exchange"
        thread.start()
    }

    func wake() {
        condition.lock()
        awake = true
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }
}
