// ShardTree: the fixed binary tree in which shard gradients are summed, so that ranks owning whole subtrees meet in one process's bits.
import VAECore

/// Node (level, index) holds the shards `Parallel.slice(shards, part: index, of: 2^level)`; its
/// children are (level + 1, 2·index) and (level + 1, 2·index + 1), whose slices split it exactly.
/// A node of one shard is a leaf; a node of two or more shards has two non-empty children. The sum
/// of a node is sum(left) + sum(right), in Float, element by element.
///
/// Why a tree and not shard order ((g0 + g1) + g2) + …: under mpirun rank q owns the shards
/// `Parallel.slice(shards, part: q, of: ranks)`, which for a power-of-two rank count is one node.
/// Each rank then sums its own node locally and sends one gradient's worth, as a ring allreduce
/// does; with shard order a rank's partial sum could not be reused, since floating-point addition
/// does not reassociate, and every shard's gradient would have to travel. With two shards (the
/// default) the tree is g0 + g1, the sum in shard order.
public struct ShardTree: Sendable {
    public struct Node: Hashable, Sendable {
        public let level: Int, index: Int
        public init(level: Int, index: Int) { (self.level, self.index) = (level, index) }
    }

    public let shards: Int
    public init(shards: Int) { self.shards = Swift.max(1, shards) }

    public static let root = Node(level: 0, index: 0)
    /// Elements summed per pass through the tree: one scratch block per level stays in cache.
    static let block = 1024
    /// Levels below the root at most (1,024 shards at most: 10; one to spare).
    static let maxDepth = 12

    public func shards(of n: Node) -> Range<Int> { Parallel.slice(shards, part: n.index, of: 1 << n.level) }

    func children(_ n: Node) -> (Node, Node) {
        (Node(level: n.level + 1, index: 2 * n.index), Node(level: n.level + 1, index: 2 * n.index + 1))
    }

    /// The largest nodes inside `block` that together cover it, in shard order.
    public func cover(_ block: Range<Int>, from n: Node = ShardTree.root) -> [Node] {
        let r = shards(of: n)
        guard r.overlaps(block) else { return [] }
        if block.lowerBound <= r.lowerBound && r.upperBound <= block.upperBound { return [n] }
        let (left, right) = children(n)
        return cover(block, from: left) + cover(block, from: right)
    }

    /// dst[0..<count] = the sum of node `n` over elements start..<start+count. `source(node, start)`
    /// gives a node's value when it is known (a shard's gradient, a sum another rank sent) as a
    /// pointer to its element `start`, or nil to recurse; every leaf must be known.
    /// `scratch` holds (maxDepth + 1) · block floats.
    public func sum(_ n: Node = ShardTree.root, start: Int, count: Int, into dst: UnsafeMutablePointer<Float>,
                    scratch: UnsafeMutablePointer<Float>, source: (Node, Int) -> UnsafePointer<Float>?) {
        var done = 0
        while done < count {
            let m = Swift.min(ShardTree.block, count - done)
            evaluate(n, start + done, m, dst + done, scratch, source)
            done += m
        }
    }

    private func evaluate(_ n: Node, _ start: Int, _ count: Int, _ dst: UnsafeMutablePointer<Float>,
                          _ scratch: UnsafeMutablePointer<Float>, _ source: (Node, Int) -> UnsafePointer<Float>?) {
        if let p = source(n, start) { dst.update(from: p, count: count); return }
        precondition(shards(of: n).count > 1, "ShardTree: no value for shard \(shards(of: n).lowerBound)")
        let (left, right) = children(n)
        evaluate(left, start, count, dst, scratch + ShardTree.block, source)
        let r: UnsafePointer<Float>
        if let p = source(right, start) {
            r = p
        } else {
            evaluate(right, start, count, scratch, scratch + ShardTree.block, source)
            r = UnsafePointer(scratch)
        }
        for i in 0..<count { dst[i] += r[i] }
    }

    /// Floats `sum` needs as scratch.
    public static var scratchCount: Int { (maxDepth + 1) * block }
}
