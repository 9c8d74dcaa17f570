// Trainer: one optimisation step (forward, backward, gradient reduction, Adam) split over shards.
import Foundation
import VAECore

public struct StepResult: Sendable {
    /// Mean over the batch, in nats per image.
    public var reconstruction: Double
    public var kl: Double
    /// The optimised loss: reconstruction + beta · KL (with free bits, the floored KL).
    public var loss: Double
    public var gradientNorm: Double
    /// False when the loss or a gradient was NaN or infinite: the update was not applied.
    public var applied: Bool
    /// True when --clip-norm scaled this step's gradient down.
    public var clipped = false
    /// True when the update was left out for a gradient norm above `Trainer.skipAboveNorm` (SpikeGuard).
    public var spike = false
}

public final class Trainer: @unchecked Sendable {
    public let network: Network
    public let params: Buffer
    public let adam: Adam
    /// Exponential moving average of the weights after each update (Polyak averaging), or nil.
    /// Averaged weights give a better test bound than the last iterate: this is what gets
    /// validated, drawn and saved as model.safetensors.
    public let average: Buffer?
    /// The average's decay per step; early steps use min(decay, (1 + t) / (10 + t)) so the
    /// starting weights are forgotten quickly.
    public let averageDecay: Float
    public var beta: Float
    /// Clip the gradient to this global norm before the update; nil (the default) does not clip.
    public var clipNorm: Float?
    /// A finite step whose gradient norm is above this is not applied (SpikeGuard sets it before each step); nil applies all.
    public var skipAboveNorm: Double?
    /// Free bits λ in nats per latent dimension (Network+FreeBits), or nil for the plain KL.
    public var freeBits: Float?
    public let seed: UInt64
    /// The batch is cut into this many fixed shards, each run by one thread with single-threaded
    /// GEMMs. Results depend on the shard count, never on the thread count.
    public let shards: Int
    public var threads: Int
    /// The layers' products: .fp32, or .bf16 (a resolved PrecisionChoice, never .auto).
    public var precision: Precision = .fp32
    public let workspaces: [Workspace]
    /// Under mpirun (attach): this rank computes only its own contiguous shards; the ranks then
    /// share the per-image losses and sum the gradient in ShardTree order (GradientExchange), so
    /// every rank applies one process's update, bit for bit.
    public private(set) var cluster: Cluster?
    var exchange: GradientExchange?
    /// The order of the gradient sum over shards.
    let tree: ShardTree
    let summed: Buffer
    /// The parameters rounded to bf16 once for every shard of a bf16 step (nil until the first),
    /// and the Adam step they were rounded at: the optimizer's pass rounds each block as it writes
    /// it, so a step normally finds them ready. Anything else that writes `params` between steps
    /// must call `parametersChanged()`.
    private var rounded: UnsafeMutablePointer<UInt16>?
    private var roundedAt: Int?
    /// Whether each shard's gradient buffer is already zero (reduceGradients clears them as it
    /// sums them, so the next step need not).
    private var gradientsCleared: [Bool]
    /// Per-piece sums of squares of the summed gradient (allocated once, like every buffer here).
    var squares = [Double](repeating: 0, count: Trainer.reductionPieces)
    /// Per-shard sums of each latent dimension's KL over the shard's images (shards × latent), for free bits.
    let klSums: UnsafeMutablePointer<Double>
    /// Fixed pieces of the parameter buffer for the parallel reduction, so its sums do not
    /// depend on the thread count.
    static let reductionPieces = 16
    /// Parameters the optimizer's passes take at a time: small enough to stay in L1 between them.
    static let optimizerBlock = 4096

    public init(network: Network, batch: Int, seed: UInt64, adam settings: AdamSettings = AdamSettings(),
                beta: Float = 1, shards: Int = 2, threads: Int = 2, params: Buffer? = nil,
                averageDecay: Float? = nil, average: Buffer? = nil) {
        self.network = network
        self.seed = seed
        self.beta = beta
        self.shards = Swift.max(1, Swift.min(shards, batch))
        self.threads = threads
        if let params {
            self.params = params
        } else {
            self.params = Buffer(count: network.parameterCount)
            network.initialize(self.params, seed: seed)
        }
        adam = Adam(count: network.parameterCount, settings: settings)
        self.averageDecay = averageDecay ?? 0
        // A new average starts at the starting weights.
        self.average = self.averageDecay > 0 ? (average ?? Buffer(self.params.array)) : nil
        let perShard = (batch + self.shards - 1) / self.shards
        workspaces = (0..<self.shards).map { _ in Workspace(network: network, capacity: perShard) }
        summed = Buffer(count: network.parameterCount)
        tree = ShardTree(shards: self.shards)
        klSums = .allocate(capacity: self.shards * network.config.latent)
        gradientsCleared = [Bool](repeating: false, count: self.shards)
    }

    deinit {
        klSums.deallocate()
        rounded?.deallocate()
    }

    /// Says that `params` were written other than by `step` (the bf16 copy is then made again).
    public func parametersChanged() { roundedAt = nil }

    /// The parameters in bf16 for this step's products, rounded now unless the last update did it.
    private func roundedParameters() -> BF16WeightCache.Rounded {
        let n = network.parameterCount
        let rounded = self.rounded ?? .allocate(capacity: n)
        self.rounded = rounded
        if roundedAt != adam.step {
            let params = UnsafePointer(self.params.pointer)
            Parallel.run(items: Trainer.reductionPieces, threads: threads) { piece in
                let range = Parallel.slice(n, part: piece, of: Trainer.reductionPieces)
                BF16.convert(params + range.lowerBound, ld: range.count, rows: 1, cols: range.count,
                             into: rounded + range.lowerBound)
            }
            roundedAt = adam.step
        }
        return BF16WeightCache.Rounded(base: UnsafePointer(params.pointer), count: n, bits: UnsafePointer(rounded))
    }

    /// Trains as one rank of `cluster` from now on; refused when there are more ranks than shards.
    /// The gradient is summed across ranks in buckets of at least `bucketFloats` parameters, each
    /// started as soon as the backward pass has finished its layers (one bucket larger than the
    /// gradient: after the pass). The buckets never change the bits.
    public func attach(_ cluster: Cluster, bucketFloats: Int = Trainer.defaultBucketFloats) throws {
        exchange = try GradientExchange(cluster: cluster, shards: shards, parameters: network.parameterCount,
                                        boundaries: network.backwardBoundaries, bucketFloats: bucketFloats)
        self.cluster = cluster
    }

    /// 1 MiB of fp32 gradient, PyTorch DDP's first bucket: small enough that the first sum starts
    /// early in the backward pass, large enough that a message's latency is small beside its transfer.
    public static let defaultBucketFloats = 1 << 18

    /// The buckets' parameter counts under mpirun, in the order they are sent (for the bench and tests).
    public var bucketSizes: [Int] { exchange?.buckets.map(\.range.count) ?? [] }
    /// How many of them the last step started during its backward pass.
    public var bucketsStartedEarly: Int { exchange?.startedEarly ?? 0 }

    /// Threads BLAS itself gets: the cores left over once each shard has a thread.
    public func configureBLAS() {
        BLAS.setThreads(Swift.max(1, threads / shards))
    }

    /// The range of images of a batch of `count` that shard `s` takes.
    public func shardRange(_ s: Int, count: Int) -> Range<Int> { Parallel.slice(count, part: s, of: shards) }

    /// One training step on `count` images (B, C, H, W). `noiseIndex` picks the eps stream
    /// (the global step number), so a resumed run draws exactly the same noise.
    public func step(_ images: UnsafePointer<Float>, count: Int, noiseIndex: UInt64) -> StepResult {
        let imageFloats = network.config.imageFloats, latent = network.config.latent
        let params = UnsafePointer(self.params.pointer)
        let noise = RandomStream(seed: seed, purpose: .noise, detail: noiseIndex)
        let scale = 1 / Float(count), freeBits = self.freeBits, klSums = self.klSums
        // The parameters stay fixed until Adam runs below: bf16 products may round each weight once per shard.
        // Under mpirun this process runs its own shards only (Cluster).
        let own = cluster?.ownShards(of: shards) ?? 0..<shards
        // Under mpirun, each bucket's sum across ranks starts as soon as every shard here has finished its layers.
        let exchange = self.exchange
        exchange?.begin(gradients: workspaces.map(\.grads.pointer), into: summed.pointer,
                        empty: own.filter { shardRange($0, count: count).isEmpty })
        let overlap = exchange != nil && cluster?.threadsMayCall == true
        // Every shard reads the same weights: in bf16 they are rounded once for all of them.
        let shared = precision == .bf16 ? roundedParameters() : nil
        let cleared = gradientsCleared
        for s in own { gradientsCleared[s] = false }
        Parallel.run(items: own.count, threads: threads) { i in LayerGEMM.with(precision) { BF16WeightCache.whileWeightsFixed(shared) {
            let s = own.lowerBound + i
            let range = shardRange(s, count: count), ws = workspaces[s], b = range.count
            if !cleared[s] { ws.grads.zero() }
            (klSums + s * latent).update(repeating: 0, count: latent)
            guard b > 0 else { return }
            let x = images + range.lowerBound * imageFloats
            network.encode(x, batch: b, params: params, in: ws)
            noise.fillNormal(ws.eps.pointer, count: b * latent, start: UInt64(range.lowerBound * latent))
            network.sampleLatent(batch: b, in: ws)
            network.decode(batch: b, params: params, in: ws)
            network.evaluateLoss(x, batch: b, params: params, in: ws, beta: beta, gradientScale: scale)
            if freeBits == nil {
                network.backward(x, batch: b, params: params, in: ws,
                                 finished: overlap ? { exchange!.reached($0, shard: s) } : nil)
            } else {
                network.addKLPerDimension(batch: b, in: ws, into: klSums + s * latent)
            }
        } } }
        // Free bits need the whole batch's KL per dimension before any shard's backward pass.
        var flooredKL: Double?
        if let freeBits {
            exchangeKLSums(count: count)
            var means = [Double](repeating: 0, count: latent)
            for s in 0..<shards { for j in 0..<latent { means[j] += klSums[s * latent + j] } }
            let floor = freeBitsKL(meanPerDimension: means.map { $0 / Double(count) }, floor: Double(freeBits))
            flooredKL = floor.kl
            Parallel.run(items: own.count, threads: threads) { i in LayerGEMM.with(precision) { BF16WeightCache.whileWeightsFixed(shared) {
                let s = own.lowerBound + i
                let range = shardRange(s, count: count), ws = workspaces[s], b = range.count
                guard b > 0 else { return }
                network.dropKLGradient(floored: floor.floored, batch: b, in: ws)
                network.backward(images + range.lowerBound * imageFloats, batch: b, params: params, in: ws,
                                 finished: overlap ? { exchange!.reached($0, shard: s) } : nil)
            } } }
        }
        // The rest of the gradient's sum across ranks, before any other collective (MPI calls are
        // serialized, and the exchange's progress thread calls MPI until this returns).
        if let exchange {
            workspaces[0].profiler.time(.optimizer, threads: Swift.min(threads, Trainer.reductionPieces)) {
                exchange.finish(threads: threads)
            }
        }
        exchangeLosses(count: count)
        var reconstruction = 0.0, kl = 0.0
        for s in 0..<shards {
            let b = shardRange(s, count: count).count
            for i in 0..<b {
                reconstruction += workspaces[s].reconstruction[i]
                kl += workspaces[s].kl[i]
            }
        }
        reconstruction /= Double(count)
        kl /= Double(count)
        let loss = reconstruction + Double(beta) * (flooredKL ?? kl)
        let norm = reduceGradients()
        var result = StepResult(reconstruction: reconstruction, kl: kl, loss: loss, gradientNorm: norm, applied: false)
        guard loss.isFinite, norm.isFinite else { return result }
        if let limit = skipAboveNorm, norm > limit {
            result.spike = true
            return result
        }
        var gradScale: Float = 1
        if let clipNorm, norm > Double(clipNorm) {
            gradScale = clipNorm / Float(norm + 1e-6)
            result.clipped = true
        }
        adam.step += 1
        let t = adam.step
        let decay = Swift.min(averageDecay, Float(1 + t) / Float(10 + t))
        // One pass over each block of the parameters while it is in cache: Adam, the average,
        // and in bf16 the rounded copy the next step's products read.
        let rounded = precision == .bf16 ? self.rounded : nil
        workspaces[0].profiler.time(.optimizer, threads: Swift.min(threads, Trainer.reductionPieces)) {
            Parallel.run(items: Trainer.reductionPieces, threads: threads) { piece in
                let range = Parallel.slice(network.parameterCount, part: piece, of: Trainer.reductionPieces)
                let w = self.params.pointer
                for start in stride(from: range.lowerBound, to: range.upperBound, by: Trainer.optimizerBlock) {
                    let block = start..<Swift.min(start + Trainer.optimizerBlock, range.upperBound)
                    adam.update(params: w, grads: summed.pointer, range: block, step: t, gradScale: gradScale)
                    if let average {
                        let a = average.pointer
                        for i in block { a[i] += (1 - decay) * (w[i] - a[i]) }
                    }
                    if let rounded {
                        BF16.convert(w + start, ld: block.count, rows: 1, cols: block.count, into: rounded + start)
                    }
                }
            }
        }
        roundedAt = rounded == nil ? nil : t
        result.applied = true
        return result
    }

    /// summed = the sum of the shards' gradients in ShardTree order (under mpirun, `step` has
    /// already summed it across ranks);
    /// returns the global L2 norm of the sum.
    func reduceGradients() -> Double {
        let pieces = Trainer.reductionPieces, n = network.parameterCount, tree = self.tree
        let gradients = workspaces.map(\.grads.pointer)
        workspaces[0].profiler.time(.optimizer, threads: Swift.min(threads, Trainer.reductionPieces)) {
            let local = exchange == nil
            squares.withUnsafeMutableBufferPointer { sq in
                let sq = sq
                Parallel.run(items: pieces, threads: threads) { piece in
                    let range = Parallel.slice(n, part: piece, of: pieces)
                    let out = summed.pointer
                    // Block by block while each is in cache: the sum over shards, its squares in
                    // Float lanes (blocks summed in Double), and the shards' buffers cleared for the next step.
                    var sum = 0.0
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: ShardTree.scratchCount) { scratch in
                        for start in stride(from: range.lowerBound, to: range.upperBound, by: Trainer.optimizerBlock) {
                            let count = Swift.min(Trainer.optimizerBlock, range.upperBound - start)
                            if local {
                                tree.sum(start: start, count: count, into: out + start, scratch: scratch.baseAddress!) { node, at in
                                    let s = tree.shards(of: node)
                                    return s.count == 1 ? UnsafePointer(gradients[s.lowerBound] + at) : nil
                                }
                                for g in gradients { (g + start).update(repeating: 0, count: count) }
                            }
                            sum += Double(laneSumOfSquares(out + start, count: count))
                        }
                    }
                    sq[piece] = sum
                }
            }
        }
        if exchange == nil { gradientsCleared = [Bool](repeating: true, count: shards) }
        return squares.reduce(0, +).squareRoot()
    }

    /// The summed gradient of the last step (for tests).
    public var gradient: [Float] { summed.array }

    /// Encodes `count` images and decodes their means (no gradients): the inference pass.
    public func reconstructMeans(_ images: UnsafePointer<Float>, count: Int) {
        let imageFloats = network.config.imageFloats, latent = network.config.latent
        let params = UnsafePointer(self.params.pointer)
        let shared = precision == .bf16 ? roundedParameters() : nil
        Parallel.run(items: shards, threads: threads) { s in LayerGEMM.with(precision) { BF16WeightCache.whileWeightsFixed(shared) {
            let range = shardRange(s, count: count), ws = workspaces[s], b = range.count
            guard b > 0 else { return }
            network.encode(images + range.lowerBound * imageFloats, batch: b, params: params, in: ws)
            ws.z.pointer.update(from: ws.mean.pointer, count: b * latent)
            network.decode(batch: b, params: params, in: ws)
        } } }
    }
}
