// fuzz_config: libFuzzer target: any bytes through config.json decoding, its checks, the network built from it and its memory plan.
import Foundation
import VAE

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    guard let config = try? RunConfig.decode(bytes, path: "fuzz/config.json") else { return 0 }
    // Every check a command makes before trusting a run folder; when they pass, building the
    // network and working out its memory must not trap either.
    guard config.problem == nil else { return 0 }
    _ = Network(config: config.model)
    _ = MemoryPlan.training(model: config.model, batch: config.training.batch, shards: config.training.shards,
                            threads: 2, images: 1000, averaging: true)
    return 0
}
