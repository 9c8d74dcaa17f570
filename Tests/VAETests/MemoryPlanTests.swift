// MemoryPlan: the workspace sum equals what Workspace allocates; sums saturate instead of overflowing.
import Testing
@testable import VAE
@testable import VAECore

@Suite struct MemoryPlanTests {
    @Test(arguments: ["fmnist", "rgb64"])
    func workspaceFloatCountIsWhatItAllocates(_ preset: String) {
        let network = Network(config: ModelConfig.presets[preset]!)
        let ws = Workspace(network: network, capacity: 7)
        var buffers = [ws.inputCBHW, ws.mean, ws.logVariance, ws.eps, ws.z, ws.meanGrad, ws.logVarianceGrad, ws.zGrad,
                       ws.scratch, ws.grads] + ws.encoderOutputs + ws.encoderGrads + ws.decoderOutputs + ws.decoderGrads
            + ws.encoderSaved + ws.decoderSaved
        // With one output channel the likelihood reads the decoder's own buffers.
        if ws.logits !== ws.decoderOutputs.last! { buffers += [ws.logits, ws.logitsGrad] }
        #expect(buffers.reduce(0) { $0 + $1.count } == Workspace.floatCount(network: network, capacity: 7))
    }

    @Test func sumsSaturateAndTheLargestPartsAreNamed() {
        var plan = MemoryPlan()
        plan.add("images", count: Int.max / 2, size: 4)
        plan.add("weights", count: 10)
        #expect(plan.total == Int.max)
        #expect(plan.largest.hasPrefix("images more than"))
        let run = MemoryPlan.training(model: ModelConfig.presets["fmnist"]!, batch: 128, shards: 2, threads: 2,
                                      images: 60_000, averaging: true)
        // 47 MB of images, 34 MB of weights and moments, two workspaces of 64 images.
        #expect(run.total > 80_000_000 && run.total < 400_000_000)
    }
}
