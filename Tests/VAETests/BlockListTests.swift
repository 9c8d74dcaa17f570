// The presets as block lists: decoded from config.json (new and old formats) and checked against the network written out by hand.
import Foundation
import Testing
import TestSupport
@testable import VAE
@testable import VAECore

@Suite struct BlockListTests {
    /// fmnist as `vae train` writes it in config.json.
    static let fmnistJSON = """
    {"size": 28, "channels": 1, "latent": 16, "likelihood": "bernoulli", "logScale": -2.3025851, "learnScale": false,
     "initialization": "kaiming",
     "encoder": [{"kind": "conv", "module": "enc", "channels": 32, "kernel": 4, "stride": 2, "padding": 1, "activation": "relu"},
                 {"kind": "conv", "module": "enc", "channels": 64, "kernel": 4, "stride": 2, "padding": 1, "activation": "relu"},
                 {"kind": "flatten", "module": "enc"},
                 {"kind": "linear", "module": "enc_fc", "channels": 256, "activation": "relu"}],
     "decoder": [{"kind": "linear", "module": "dec_fc", "channels": 256, "activation": "relu"},
                 {"kind": "linear", "module": "dec_fc", "channels": 3136, "activation": "relu"},
                 {"kind": "unflatten", "channels": 64},
                 {"kind": "deconv", "module": "dec", "channels": 32, "kernel": 4, "stride": 2, "padding": 1, "activation": "relu"},
                 {"kind": "deconv", "module": "dec", "kernel": 4, "stride": 2, "padding": 1}]}
    """

    @Test func presetsDecodeFromBlockListsAndFromOldConfigFiles() throws {
        let decoded = try JSONDecoder().decode(ModelConfig.self, from: Data(Self.fmnistJSON.utf8))
        #expect(decoded == ModelConfig.presets["fmnist"]!)
        // config.json before block lists: the plain family by its widths; no initialisation key meant PyTorch's.
        let old = """
        {"size": 64, "channels": 3, "widths": [32, 64, 128, 256], "latent": 128, "likelihood": "bernoulli",
         "logScale": -2.3025851, "learnScale": false, "kernel": 4, "stride": 2, "padding": 1}
        """
        var expected = ModelConfig.presets["rgb64"]!
        expected.initialization = .pytorch
        #expect(try JSONDecoder().decode(ModelConfig.self, from: Data(old.utf8)) == expected)
        let oldKaiming = old.replacingOccurrences(of: "\"kernel\"", with: "\"initialization\": \"kaiming\", \"kernel\"")
        #expect(try JSONDecoder().decode(ModelConfig.self, from: Data(oldKaiming.utf8)) == ModelConfig.presets["rgb64"]!)
        // A round trip through the new format keeps everything.
        let written = try JSONEncoder().encode(ModelConfig.presets["rgb64"]!)
        #expect(try JSONDecoder().decode(ModelConfig.self, from: written) == ModelConfig.presets["rgb64"]!)
    }

    /// The peer's state_dict names and shapes (the reference layer lists) and parameter counts.
    @Test func presetsHaveThePeersNamesAndShapes() {
        let fmnist = Network(config: ModelConfig.presets["fmnist"]!).layout.tensors
        #expect(fmnist.map(\.name) == ["enc.0.weight", "enc.0.bias", "enc.2.weight", "enc.2.bias", "enc_fc.0.weight",
                                       "enc_fc.0.bias", "mu.weight", "mu.bias", "logvar.weight", "logvar.bias",
                                       "dec_fc.0.weight", "dec_fc.0.bias", "dec_fc.2.weight", "dec_fc.2.bias",
                                       "dec.0.weight", "dec.0.bias", "dec.2.weight", "dec.2.bias"])
        #expect(fmnist.map(\.shape) == [[32, 1, 4, 4], [32], [64, 32, 4, 4], [64], [256, 3136], [256], [16, 256], [16],
                                        [16, 256], [16], [256, 16], [256], [3136, 256], [3136], [64, 32, 4, 4], [32],
                                        [32, 1, 4, 4], [1]])
        let rgb = Network(config: ModelConfig.presets["rgb64"]!).layout.tensors
        #expect(rgb.map(\.name).filter { $0.hasSuffix("weight") } ==
                ["enc.0", "enc.2", "enc.4", "enc.6", "mu", "logvar", "dec_fc.0", "dec.0", "dec.2", "dec.4", "dec.6"]
                .map { $0 + ".weight" })
        #expect(rgb.last!.shape == [3] && rgb[rgb.count - 2].shape == [32, 3, 4, 4])
        #expect(fmnist.reduce(0) { $0 + $1.count } == 1_688_289)
        #expect(rgb.reduce(0) { $0 + $1.count } == 2_957_251)
    }

    /// The network built from the block list gives exactly the outputs of the plain family written
    /// out layer by layer (as Network+Passes was before the layer list), for the same weights.
    @Test(arguments: ["fmnist", "rgb64"])
    func presetsMatchTheNetworkWrittenOutByHand(_ preset: String) {
        let config = ModelConfig.presets[preset]!
        let (widths, hidden): ([Int], Int?) = preset == "fmnist" ? ([32, 64], 256) : ([32, 64, 128, 256], nil)
        let network = Network(config: config), batch = 3
        let params = Buffer(count: network.parameterCount)
        network.initialize(params, seed: 11)
        var rng = TestRandom(5)
        let images = Buffer(rng.floats(batch * config.imageFloats, 0, 1)), z = Buffer(rng.floats(batch * config.latent))
        let ws = Workspace(network: network, capacity: batch)
        network.encode(images.pointer, batch: batch, params: params.pointer, in: ws)
        ws.z.pointer.update(from: z.pointer, count: z.count)
        network.decode(batch: batch, params: params.pointer, in: ws)

        // By hand: offsets by name, each layer called directly, layouts converted where they change.
        let p = params.pointer, prof = Profiler()
        func at(_ name: String) -> UnsafePointer<Float> { UnsafePointer(p + network.layout[name]!.offset) }
        var side = config.size, channels = config.channels
        var x = Buffer(count: batch * config.imageFloats)
        imageMajorToChannelMajor(images.pointer, x.pointer, channels: channels, batch: batch, plane: side * side)
        for (i, width) in widths.enumerated() {
            let conv = Conv2D(inChannels: channels, outChannels: width, height: side, width: side, kernel: 4, stride: 2,
                              padding: 1)
            let y = Buffer(count: conv.outputCount(batch: batch)), col = Buffer(count: conv.columnCount(batch: batch))
            conv.forward(x: x.pointer, batch: batch, weight: at("enc.\(2 * i).weight"), bias: at("enc.\(2 * i).bias"),
                         col: col.pointer, y: y.pointer, relu: true, profiler: prof)
            (x, channels, side) = (y, width, side / 2)
        }
        let flat = channels * side * side
        var features = Buffer(count: batch * flat)
        channelMajorToImageMajor(x.pointer, features.pointer, channels: channels, batch: batch, plane: side * side)
        func linear(_ name: String, _ input: Buffer, _ inF: Int, _ outF: Int, relu: Bool) -> Buffer {
            let y = Buffer(count: batch * outF)
            Linear(inFeatures: inF, outFeatures: outF).forward(x: input.pointer, batch: batch, weight: at(name + ".weight"),
                                                               bias: at(name + ".bias"), y: y.pointer, profiler: prof)
            if relu { reluForward(y.pointer, count: batch * outF) }
            return y
        }
        var featureCount = flat
        if let hidden { features = linear("enc_fc.0", features, flat, hidden, relu: true); featureCount = hidden }
        let mean = linear("mu", features, featureCount, config.latent, relu: false)
        let logVariance = linear("logvar", features, featureCount, config.latent, relu: false)
        #expect(ws.mean.array.prefix(batch * config.latent).elementsEqual(mean.array))
        #expect(ws.logVariance.array.prefix(batch * config.latent).elementsEqual(logVariance.array))

        var d = z
        if let hidden { d = linear("dec_fc.0", d, config.latent, hidden, relu: true) }
        d = linear(hidden == nil ? "dec_fc.0" : "dec_fc.2", d, hidden ?? config.latent, flat, relu: true)
        x = Buffer(count: batch * flat)
        imageMajorToChannelMajor(d.pointer, x.pointer, channels: channels, batch: batch, plane: side * side)
        let reversed = Array(widths.reversed())
        for (i, width) in reversed.enumerated() {
            let out = i + 1 < reversed.count ? reversed[i + 1] : config.channels
            let deconv = ConvTranspose2D(inChannels: width, outChannels: out, height: side, width: side, kernel: 4,
                                         stride: 2, padding: 1)
            let y = Buffer(count: deconv.outputCount(batch: batch)), col = Buffer(count: deconv.columnCount(batch: batch))
            deconv.forward(x: x.pointer, batch: batch, weight: at("dec.\(2 * i).weight"), bias: at("dec.\(2 * i).bias"),
                           col: col.pointer, y: y.pointer, relu: i + 1 < reversed.count, profiler: prof)
            (x, side) = (y, side * 2)
        }
        let logits = Buffer(count: batch * config.imageFloats)
        channelMajorToImageMajor(x.pointer, logits.pointer, channels: config.channels, batch: batch, plane: side * side)
        #expect(ws.logits.array.prefix(batch * config.imageFloats).elementsEqual(logits.array))
    }

    /// A broken block list is refused with a message that names the block and the cause.
    @Test func brokenBlockListsAreRefusedWithTheBlockAndTheCause() {
        var config = ModelConfig.presets["fmnist"]!
        config.encoder.removeLast(2)   // no flatten: the encoder ends in planes
        #expect(config.problem?.contains("the encoder ends in planes") == true)
        config = ModelConfig.presets["fmnist"]!
        config.decoder[3].channels = 0
        #expect(config.problem == "decoder block 4 (deconv): channels 0 out of range (1–65536)")
        config = ModelConfig.presets["fmnist"]!
        config.encoder[0].kernel = 40
        #expect(config.problem?.hasPrefix("encoder block 1 (conv): a 40×40 kernel does not fit") == true)
        config = ModelConfig.presets["fmnist"]!
        config.decoder.removeLast()
        #expect(config.problem?.contains("the decoder ends in 32×14×14") == true)
        config = ModelConfig.presets["fmnist"]!
        config.latent = 1_000_000_000
        #expect(config.problem?.contains("latent size") == true)
        config = ModelConfig.presets["fmnist"]!
        config.encoder[3].channels = 65_536   // 3136 × 65,536 weights in enc_fc.0 and in dec_fc.2
        config.decoder[0].channels = 65_536
        #expect(config.problem?.contains("more than") == true)
    }
}
