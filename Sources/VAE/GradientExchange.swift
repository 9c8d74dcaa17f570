// GradientExchange: under mpirun, the shards' gradients summed across ranks in ShardTree order, bit for bit one process's sum.
import Foundation
import VAECore

/// An allreduce built by hand from its two halves, as Rabenseifner's (and a ring's) is: a
/// reduce-scatter (MPI_Alltoallv, then each rank sums its chunk of the parameters) and an
/// MPI_Allgatherv of the summed chunks. MPI_Allreduce itself is not used because the MPI standard
/// leaves its order of additions to the library: Open MPI's ring and recursive-doubling algorithms
/// add the ranks' values in a different order for each chunk, so the result would differ from one
/// process's sum in the last bits (for two ranks a + b = b + a, but not beyond). Here the order is
/// ShardTree's on every rank and in one process alike.
///
/// Two ranks are the exception: each owns one child of the root, and the root is their sum, a
/// single addition per parameter, which is commutative in IEEE arithmetic; whatever algorithm
/// MPI_Allreduce picks, both ranks get left + right, the tree's bits. There it is used (measured
/// 2–3× faster than the exchange by hand: docs/SCALING.md).
///
/// Each rank sends the sums of the tree nodes that cover its shards: one node when the rank count
/// is a power of two (then a rank sends and receives 2·(N − 1)/N of the gradient per step, what a
/// ring allreduce moves), a few more otherwise.
final class GradientExchange: @unchecked Sendable {
    let cluster: Cluster
    let tree: ShardTree
    let parameters: Int
    /// The parameters each rank sums: rank q sums chunks[q] of every node and sends it to all.
    let chunks: [Range<Int>]
    /// The nodes covering each rank's shards, in shard order.
    let nodes: [[ShardTree.Node]]
    /// This rank's node sums laid out [destination rank][node][that rank's chunk]; nil when this
    /// rank's shards are one leaf, whose gradient is already laid out that way.
    let send: Buffer?
    /// Every rank's node sums over this rank's chunk, [rank][node][chunk].
    let received: Buffer
    let receivedAt: [ShardTree.Node: Int]
    let sendBlocks: [Range<Int>], receiveBlocks: [Range<Int>]
    /// Two ranks: this rank's node sum, then MPI_Allreduce (see above). The bench sets it false to time the other way.
    var allreduceOfTwo: Bool

    init(cluster: Cluster, shards: Int, parameters: Int) throws {
        self.cluster = cluster
        self.parameters = parameters
        let tree = ShardTree(shards: shards)
        self.tree = tree
        let ranks = cluster.size, me = cluster.rank
        chunks = (0..<ranks).map { Parallel.slice(parameters, part: $0, of: ranks) }
        nodes = (0..<ranks).map { tree.cover(cluster.shards(ofRank: $0, of: shards)) }
        let mine = nodes[me].count, myChunk = chunks[me]
        sendBlocks = chunks.map { (mine * $0.lowerBound)..<(mine * $0.upperBound) }
        var blocks: [Range<Int>] = [], at: [ShardTree.Node: Int] = [:], offset = 0
        for q in 0..<ranks {
            for (k, node) in nodes[q].enumerated() { at[node] = offset + k * myChunk.count }
            blocks.append(offset..<(offset + nodes[q].count * myChunk.count))
            offset += nodes[q].count * myChunk.count
        }
        (receiveBlocks, receivedAt) = (blocks, at)
        // MPI counts and offsets are ints.
        guard mine * parameters <= Int(Int32.max), offset <= Int(Int32.max) else {
            throw RunError.invalid("mpirun -np \(ranks): \(shards) shards of \(parameters) parameters need more than 2^31 floats "
                                   + "in one exchange; run a power of two of ranks, or fewer shards")
        }
        allreduceOfTwo = ranks == 2
        let leaf = mine == 1 && tree.shards(of: nodes[me][0]).count == 1
        send = leaf ? nil : Buffer(count: mine * parameters)
        received = Buffer(count: offset)
    }

    /// summed = the tree sum of every shard's gradient (this rank's are in `gradients`, indexed by shard).
    func run(gradients: [UnsafeMutablePointer<Float>], into summed: UnsafeMutablePointer<Float>, threads: Int) {
        let me = cluster.rank, mine = nodes[me], tree = self.tree, chunks = self.chunks
        let leafSource = { (node: ShardTree.Node, start: Int) -> UnsafePointer<Float>? in
            let s = tree.shards(of: node)
            return s.count == 1 ? UnsafePointer(gradients[s.lowerBound] + start) : nil
        }
        if allreduceOfTwo {
            let n = parameters, pieces = Swift.max(1, Swift.min(16, n / ShardTree.block))
            Parallel.run(items: pieces, threads: threads) { piece in
                let part = Parallel.slice(n, part: piece, of: pieces)
                withUnsafeTemporaryAllocation(of: Float.self, capacity: ShardTree.scratchCount) { scratch in
                    tree.sum(mine[0], start: part.lowerBound, count: part.count, into: summed + part.lowerBound,
                             scratch: scratch.baseAddress!, source: leafSource)
                }
            }
            cluster.sum(summed, count: n)
            return
        }
        let sendPointer: UnsafePointer<Float>
        if let send {
            // This rank's node sums, one (destination, node) block per item.
            let base = send.pointer
            Parallel.run(items: chunks.count * mine.count, threads: threads) { item in
                let c = chunks[item / mine.count], k = item % mine.count
                withUnsafeTemporaryAllocation(of: Float.self, capacity: ShardTree.scratchCount) { scratch in
                    tree.sum(mine[k], start: c.lowerBound, count: c.count,
                             into: base + mine.count * c.lowerBound + k * c.count, scratch: scratch.baseAddress!,
                             source: leafSource)
                }
            }
            sendPointer = UnsafePointer(base)
        } else {
            sendPointer = UnsafePointer(gradients[tree.shards(of: mine[0]).lowerBound])
        }
        cluster.exchange(send: sendPointer, sendBlocks: sendBlocks, receive: received.pointer, receiveBlocks: receiveBlocks)
        // This rank's chunk of the sum, from every rank's node sums, in pieces that do not change the bits.
        let chunk = chunks[me], received = self.received.pointer, at = receivedAt
        let pieces = Swift.max(1, Swift.min(16, chunk.count / ShardTree.block))
        Parallel.run(items: pieces, threads: threads) { piece in
            let part = Parallel.slice(chunk.count, part: piece, of: pieces)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: ShardTree.scratchCount) { scratch in
                tree.sum(start: chunk.lowerBound + part.lowerBound, count: part.count, into: summed + chunk.lowerBound + part.lowerBound,
                         scratch: scratch.baseAddress!) { node, start in
                    at[node].map { UnsafePointer(received + $0 + (start - chunk.lowerBound)) }
                }
            }
        }
        cluster.gather(summed, blocks: chunks)
    }
}
