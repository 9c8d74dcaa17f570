// Tests of ShardTree: the order of the gradient sum over shards, and that ranks summing their own subtrees reach its bits.
import Foundation
import Testing
import TestSupport
@testable import VAE
@testable import VAECore

@Suite struct ShardTreeTests {
    /// The tree's sum written out independently: split the shard range at Parallel.slice's
    /// halves, recursively, in plain Float.
    func naiveSum(_ g: [[Float]], _ range: Range<Int>, level: Int, index: Int, element i: Int) -> Float {
        if range.count == 1 { return g[range.lowerBound][i] }
        let shards = g.count
        let left = (shards * 2 * index / (1 << (level + 1)))..<(shards * (2 * index + 1) / (1 << (level + 1)))
        let right = left.upperBound..<range.upperBound
        return naiveSum(g, left, level: level + 1, index: 2 * index, element: i)
            + naiveSum(g, right, level: level + 1, index: 2 * index + 1, element: i)
    }

    func gradients(shards: Int, count: Int, seed: UInt64) -> [[Float]] {
        var rng = TestRandom(seed)
        // Mixed magnitudes, so that a different order of additions shows in the last bits.
        return (0..<shards).map { _ in rng.floats(count).map { $0 * Float(1 << Int(rng.next() % 12)) } }
    }

    func treeSum(_ tree: ShardTree, _ g: [[Float]], start: Int = 0, count: Int,
                 known: [ShardTree.Node: [Float]] = [:]) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        precondition(start + count <= g[0].count)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: ShardTree.scratchCount)
        defer { scratch.deallocate() }
        let pointers = g.map { a in a.withUnsafeBufferPointer { UnsafePointer(UnsafeMutablePointer(mutating: $0.baseAddress!)) } }
        let knownPointers = known.mapValues { a in a.withUnsafeBufferPointer { UnsafePointer(UnsafeMutablePointer(mutating: $0.baseAddress!)) } }
        withExtendedLifetime((g, known)) {
            out.withUnsafeMutableBufferPointer { o in
                tree.sum(start: start, count: count, into: o.baseAddress!, scratch: scratch) { node, at in
                    if let p = knownPointers[node] { return p + at }
                    let s = tree.shards(of: node)
                    return known.isEmpty && s.count == 1 ? pointers[s.lowerBound] + at : nil
                }
            }
        }
        return out
    }

    @Test func theSumFollowsTheTreeBitForBit() {
        for shards in [1, 2, 3, 4, 5, 7, 8, 13, 64] {
            let g = gradients(shards: shards, count: 2500, seed: UInt64(shards))
            let tree = ShardTree(shards: shards)
            let sum = treeSum(tree, g, count: 2500)
            for i in 0..<2500 {
                let expected = naiveSum(g, 0..<shards, level: 0, index: 0, element: i)
                #expect(sum[i].bitPattern == expected.bitPattern, "\(shards) shards, element \(i)")
                let exact = g.reduce(0.0) { $0 + Double($1[i]) }
                #expect(abs(Double(sum[i]) - exact) <= 1e-5 * g.reduce(0.0) { $0 + abs(Double($1[i])) })
            }
            if shards == 2 { #expect(sum == zip(g[0], g[1]).map { $0 + $1 }, "two shards: g0 + g1, as before the tree") }
        }
    }

    /// What GradientExchange does across ranks, without MPI: each rank sums the nodes covering its
    /// own shards, and the root is summed from those node sums alone. The bits equal one process's.
    @Test func ranksSummingTheirOwnNodesReachOneProcessBits() {
        for (shards, ranks) in [(2, 2), (4, 2), (4, 4), (5, 2), (5, 3), (8, 4), (12, 5), (16, 3), (64, 8)] {
            let g = gradients(shards: shards, count: 1500, seed: UInt64(100 * shards + ranks))
            let tree = ShardTree(shards: shards)
            let one = treeSum(tree, g, count: 1500)
            var known: [ShardTree.Node: [Float]] = [:]
            var covered: [Int] = []
            for q in 0..<ranks {
                let own = Parallel.slice(shards, part: q, of: ranks)
                let nodes = tree.cover(own)
                covered += nodes.flatMap { Array(tree.shards(of: $0)) }
                if ranks & (ranks - 1) == 0 && shards % ranks == 0 { #expect(nodes.count == 1, "a power of two of ranks sends one node each") }
                for node in nodes {
                    let sub = tree.shards(of: node)
                    known[node] = nodeSum(tree, node, g)
                    #expect(sub.allSatisfy(own.contains))
                }
            }
            #expect(covered == Array(0..<shards), "\(shards) shards over \(ranks) ranks: the nodes cover each shard once, in order")
            // The root from the ranks' node sums, in two chunks, as two ranks would each sum one.
            let first = treeSum(tree, g, start: 0, count: 700, known: known)
            let second = treeSum(tree, g, start: 700, count: 800, known: known)
            #expect(first + second == one, "\(shards) shards over \(ranks) ranks")
        }
    }

    /// The sum of one node, by the tree from its leaves.
    func nodeSum(_ tree: ShardTree, _ node: ShardTree.Node, _ g: [[Float]]) -> [Float] {
        (0..<g[0].count).map { i in naiveSum(g, tree.shards(of: node), level: node.level, index: node.index, element: i) }
    }
}
