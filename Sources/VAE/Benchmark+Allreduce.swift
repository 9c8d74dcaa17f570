// Benchmark+Allreduce: under mpirun, the time to sum one step's gradient across the ranks (vae bench --allreduce).
import Foundation
import VAECore

public struct AllreduceTimes: Sendable {
    public var parameters: Int
    /// Seconds per sum, one entry per timed repeat: training's own exchange (GradientExchange: the
    /// rank's node sum and the sum across ranks),
    /// and MPI_Allreduce of the same floats (Open MPI's algorithm, order unspecified), for comparison.
    public var exchange: [Double]
    public var allreduce: [Double]
    /// With two ranks: the reduce-scatter and allgather by hand that more ranks use (training uses MPI_Allreduce).
    public var byHand: [Double]?
}

extension Benchmark {
    /// Times the gradient sum of `config` with `shards` shards over `cluster`'s ranks, each after
    /// 3 warm-up repeats. Every rank must call this with the same arguments.
    public static func allreduce(config: ModelConfig, shards: Int, repeats: Int, cluster: Cluster,
                                 threads: Int) throws -> AllreduceTimes {
        let network = Network(config: config)
        let n = network.parameterCount
        // Workspaces only for their gradient buffers: a batch of one image per shard.
        let trainer = Trainer(network: network, batch: shards, seed: 0, shards: shards, threads: threads)
        try trainer.attach(cluster)
        let rng = RandomStream(seed: UInt64(cluster.rank), purpose: .noise, detail: 0)
        for ws in trainer.workspaces { rng.fillNormal(ws.grads.pointer, count: n, start: 0) }
        let plain = Buffer(count: n)
        func time(_ body: () -> Void) -> [Double] {
            (0..<(3 + repeats)).compactMap { i in
                cluster.barrier()
                let start = DispatchTime.now().uptimeNanoseconds
                body()
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                return i < 3 ? nil : seconds
            }
        }
        let gradients = trainer.workspaces.map(\.grads.pointer), summed = Buffer(count: n)
        let exchange = time { trainer.exchange!.run(gradients: gradients, into: summed.pointer, threads: threads) }
        let allreduce = time { cluster.sum(plain.pointer, count: n) }
        var byHand: [Double]?
        if let e = trainer.exchange, e.allreduceOfTwo {
            e.allreduceOfTwo = false
            byHand = time { e.run(gradients: gradients, into: summed.pointer, threads: threads) }
        }
        return AllreduceTimes(parameters: n, exchange: exchange, allreduce: allreduce, byHand: byHand)
    }
}
