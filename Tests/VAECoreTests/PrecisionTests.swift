// Tests of the precision choice: which CPUs get bf16, on fake feature sets, and the cpuid reading.
import Foundation
import Testing
@testable import VAECore

@Suite struct PrecisionTests {
    static let avx512: CPUFeatures = [.x86, .avx512F, .avx512BW, .avx512VL, .avx512DQ, .osZMM]
    static let zen4: CPUFeatures = avx512.union(.avx512BF16)
    static let sapphireRapids: CPUFeatures = zen4.union([.amxBF16, .amxTile, .osAMX])

    static func choose(_ p: Precision, _ f: CPUFeatures, oneDNN: Bool = true) -> PrecisionChoice? {
        try? PrecisionChoice.resolve(p, features: f, oneDNN: oneDNN)
    }

    @Test func autoIsBF16ExactlyWhereTheDotProductsAreNative() {
        #expect(Self.choose(.auto, Self.zen4)?.precision == .bf16)
        #expect(Self.choose(.auto, Self.zen4)?.reason == "bf16 (auto: this CPU has AVX512_BF16)")
        #expect(Self.choose(.auto, Self.sapphireRapids)?.reason == "bf16 (auto: this CPU has AVX512_BF16, AMX-BF16)")
        // AMX alone (the tiles and their OS state) is enough.
        #expect(Self.choose(.auto, [.x86, .amxBF16, .amxTile, .osAMX])?.precision == .bf16)
        // AVX-512 without bf16 (Skylake-X, Ice Lake): oneDNN would emulate bf16, slower than fp32.
        #expect(Self.choose(.auto, Self.avx512)?.precision == .fp32)
        #expect(Self.choose(.auto, Self.avx512)?.reason == "fp32 (auto: this CPU has no native bf16 dot products (AVX512_BF16 or AMX-BF16))")
        // The instructions without the OS saving their registers do not count.
        #expect(Self.choose(.auto, Self.zen4.subtracting(.osZMM))?.precision == .fp32)
        #expect(Self.choose(.auto, [.x86, .amxBF16, .amxTile])?.precision == .fp32)
        #expect(Self.choose(.auto, Self.zen4.subtracting(.avx512BW))?.precision == .fp32)
        // Not x86 (arm64), or no oneDNN in the build.
        #expect(Self.choose(.auto, [])?.reason == "fp32 (auto: bf16 products are only implemented on x86-64)")
        #expect(Self.choose(.auto, Self.zen4, oneDNN: false)?.reason == "fp32 (auto: this build has no oneDNN (libdnnl-dev))")
    }

    @Test func fp32IsAlwaysFp32() {
        for features in [Self.zen4, Self.sapphireRapids, [], Self.avx512] {
            #expect(Self.choose(.fp32, features) == PrecisionChoice(precision: .fp32, reason: "fp32 (asked)"))
        }
    }

    @Test func bf16WithoutNativeSupportIsRefusedInOneLine() {
        #expect(Self.choose(.bf16, Self.zen4)?.precision == .bf16)
        #expect(Self.choose(.bf16, Self.sapphireRapids)?.precision == .bf16)
        for (features, oneDNN) in [(Self.avx512, true), ([], true), (Self.zen4, false)] as [(CPUFeatures, Bool)] {
            do {
                _ = try PrecisionChoice.resolve(.bf16, features: features, oneDNN: oneDNN)
                Issue.record("bf16 accepted on \(features.rawValue)")
            } catch {
                let message = "\(error)"
                #expect(message.hasPrefix("--precision bf16: ") && message.hasSuffix("use --precision fp32 or auto"))
                #expect(!message.contains("\n"))
            }
        }
    }

    /// cpuid read by the shim against the kernel's own reading in /proc/cpuinfo.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/cpuinfo")))
    func cpuidAgreesWithProcCpuinfo() throws {
        let flags = CPUInfo(cpuinfo: try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)).flags
        guard flags.contains("sse2") else { return }  // not x86
        let features = CPUFeatures.current
        #expect(features.contains(.x86))
        #expect(features.contains(.avx512F) == flags.contains("avx512f"))
        #expect(features.contains(.avx512BW) == flags.contains("avx512bw"))
        #expect(features.contains(.avx512BF16) == flags.contains("avx512_bf16"))
        #expect(features.contains(.amxBF16) == flags.contains("amx_bf16"))
    }
}

@Suite struct LayerGEMMPrecisionTests {
    /// The precision is the calling thread's: a bf16 scope on one thread leaves another in fp32.
    @Test func precisionIsPerThreadAndRestored() {
        #expect(LayerGEMM.precision == .fp32)
        final class Seen: @unchecked Sendable { var values: [Precision] = [.fp32, .bf16] }
        let seen = Seen()
        let inside = DispatchSemaphore(value: 0), checked = DispatchSemaphore(value: 0)
        let thread = Thread {
            LayerGEMM.with(.bf16) {
                seen.values[0] = LayerGEMM.precision
                inside.signal()
                checked.wait()
            }
            seen.values[1] = LayerGEMM.precision
            inside.signal()
        }
        thread.start()
        inside.wait()
        #expect(LayerGEMM.precision == .fp32)
        checked.signal()
        inside.wait()
        #expect(seen.values == [.bf16, .fp32])
    }
}
