// Trainer+Losses: under mpirun, each rank's per-image losses and per-dimension KL sums shared with every rank (MPI_Allgatherv).
import VAECore

extension Trainer {
    /// Each shard's per-dimension KL sums (free bits), from the rank that computed them.
    func exchangeKLSums(count: Int) {
        guard let cluster else { return }
        let latent = network.config.latent
        cluster.gather(klSums, blocks: (0..<cluster.size).map {
            let s = cluster.shards(ofRank: $0, of: shards)
            return (s.lowerBound * latent)..<(s.upperBound * latent)
        })
    }

    /// Each image's reconstruction NLL and KL, from the rank that computed them, into every shard's workspace.
    func exchangeLosses(count: Int) {
        guard let cluster else { return }
        // [image][reconstruction, kl]: a rank's shards are contiguous, and so are its images.
        var both = [Double](repeating: 0, count: 2 * count)
        let own = cluster.shards(ofRank: cluster.rank, of: shards)
        for s in own {
            let range = shardRange(s, count: count), ws = workspaces[s]
            for (i, image) in range.enumerated() { (both[2 * image], both[2 * image + 1]) = (ws.reconstruction[i], ws.kl[i]) }
        }
        let blocks = (0..<cluster.size).map { q -> Range<Int> in
            let s = cluster.shards(ofRank: q, of: shards)
            return (2 * shardRange(s.lowerBound, count: count).lowerBound)..<(2 * shardRange(s.upperBound - 1, count: count).upperBound)
        }
        both.withUnsafeMutableBufferPointer { cluster.gather($0.baseAddress!, blocks: blocks) }
        for s in 0..<shards where !own.contains(s) {
            let range = shardRange(s, count: count), ws = workspaces[s]
            for (i, image) in range.enumerated() { (ws.reconstruction[i], ws.kl[i]) = (both[2 * image], both[2 * image + 1]) }
        }
    }
}
