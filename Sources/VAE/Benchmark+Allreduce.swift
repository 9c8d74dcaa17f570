// Benchmark+Allreduce: under mpirun, the time to sum one step's gradient across the ranks, and a training step's with and without overlap (vae bench --allreduce).
import Foundation
import VAECore

public struct AllreduceTimes: Sendable {
    public var parameters: Int
    /// Seconds per sum, one entry per timed repeat: training's own exchange (GradientExchange: the
    /// rank's node sum and the sum across ranks, all buckets after the backward pass),
    /// and MPI_Allreduce of the same floats (Open MPI's algorithm, order unspecified), for comparison.
    public var exchange: [Double]
    public var allreduce: [Double]
    /// With two ranks: the reduce-scatter and allgather by hand that more ranks use (training uses MPI_Allreduce).
    public var byHand: [Double]?
    /// Seconds per training step of the batch, its gradient summed after the backward pass, and
    /// in buckets overlapped with it (what `vae train` does), timed in alternation.
    public var stepAfter: [Double]
    public var stepOverlapped: [Double]
    /// The overlapped trainer's bucket sizes (parameters), and how many started during the last step's backward pass.
    public var buckets: [Int]
    public var startedEarly: Int
}

extension Benchmark {
    /// Times the gradient sum of `config` with `shards` shards over `cluster`'s ranks, each after
    /// 3 warm-up repeats, then training steps of a random `batch`. Every rank must call this with
    /// the same arguments.
    public static func allreduce(config: ModelConfig, batch: Int, shards: Int, repeats: Int, cluster: Cluster,
                                 threads: Int, precision: Precision, bucketFloats: Int) throws -> AllreduceTimes {
        let network = Network(config: config)
        let n = network.parameterCount
        func trainer(bucketFloats: Int) throws -> Trainer {
            let t = Trainer(network: network, batch: batch, seed: 0, shards: shards, threads: threads)
            t.precision = precision
            try t.attach(cluster, bucketFloats: bucketFloats)
            return t
        }
        let after = try trainer(bucketFloats: Int.max), overlapped = try trainer(bucketFloats: bucketFloats)
        let rng = RandomStream(seed: UInt64(cluster.rank), purpose: .noise, detail: 0)
        for ws in after.workspaces { rng.fillNormal(ws.grads.pointer, count: n, start: 0) }
        let plain = Buffer(count: n)
        func seconds(_ body: () -> Void) -> Double {
            cluster.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        func time(_ body: () -> Void) -> [Double] {
            (0..<(3 + repeats)).compactMap { i in
                let s = seconds(body)
                return i < 3 ? nil : s
            }
        }
        let gradients = after.workspaces.map(\.grads.pointer), summed = Buffer(count: n)
        let exchange = time { after.exchange!.run(gradients: gradients, into: summed.pointer, threads: threads) }
        let allreduce = time { cluster.sum(plain.pointer, count: n) }
        var byHand: [Double]?
        if let e = after.exchange, e.allreduceOfTwo {
            e.allreduceOfTwo = false
            byHand = time { e.run(gradients: gradients, into: summed.pointer, threads: threads) }
            e.allreduceOfTwo = true
        }
        // Training steps, the two ways in turn, so that a noisy minute hits both alike.
        after.configureBLAS()
        let images = Buffer(count: batch * config.imageFloats)
        RandomStream(seed: 1, purpose: .sampling).fillUniform(images.pointer, count: images.count, low: 0, high: 1)
        var stepAfter: [Double] = [], stepOverlapped: [Double] = []
        for i in 0..<(3 + repeats) {
            let a = seconds { _ = after.step(images.pointer, count: batch, noiseIndex: UInt64(i)) }
            let o = seconds { _ = overlapped.step(images.pointer, count: batch, noiseIndex: UInt64(i)) }
            if i >= 3 { stepAfter.append(a); stepOverlapped.append(o) }
        }
        return AllreduceTimes(parameters: n, exchange: exchange, allreduce: allreduce, byHand: byHand,
                              stepAfter: stepAfter, stepOverlapped: stepOverlapped,
                              buckets: overlapped.bucketSizes, startedEarly: overlapped.bucketsStartedEarly)
    }
}
