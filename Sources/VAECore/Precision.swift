// Precision: fp32 or bf16 GEMMs, and which one `auto` means on this CPU.
import CBF16

/// What the GEMMs compute in: fp32 throughout, or bf16 inputs with fp32 sums (weights, Adam,
/// reductions, the loss and the KL stay fp32 either way); `auto` is bf16 where the CPU has
/// native bf16 dot products, fp32 elsewhere.
public enum Precision: String, CaseIterable, Codable, Sendable {
    case fp32, bf16, auto
}

/// The CPU and OS features that decide whether bf16 products are native (cpuid and xgetbv).
public struct CPUFeatures: OptionSet, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let avx512F = CPUFeatures(rawValue: Int32(VAE_CPU_AVX512F))
    public static let avx512BW = CPUFeatures(rawValue: Int32(VAE_CPU_AVX512BW))
    public static let avx512VL = CPUFeatures(rawValue: Int32(VAE_CPU_AVX512VL))
    public static let avx512DQ = CPUFeatures(rawValue: Int32(VAE_CPU_AVX512DQ))
    public static let avx512BF16 = CPUFeatures(rawValue: Int32(VAE_CPU_AVX512_BF16))
    public static let amxBF16 = CPUFeatures(rawValue: Int32(VAE_CPU_AMX_BF16))
    public static let amxTile = CPUFeatures(rawValue: Int32(VAE_CPU_AMX_TILE))
    /// The OS saves the opmask and 512-bit registers (XCR0), so AVX-512 code may run.
    public static let osZMM = CPUFeatures(rawValue: Int32(VAE_OS_ZMM))
    /// The OS saves the AMX tile state (XCR0).
    public static let osAMX = CPUFeatures(rawValue: Int32(VAE_OS_AMX))
    public static let x86 = CPUFeatures(rawValue: Int32(VAE_CPU_X86))

    /// This machine's.
    public static var current: CPUFeatures { CPUFeatures(rawValue: vae_cpu_features()) }

    /// The native bf16 dot products there are ("AVX512_BF16", "AMX-BF16"), empty when none.
    /// AVX512_BF16 counts with the AVX-512 subsets oneDNN's bf16 kernels use and the OS's
    /// support for the 512-bit registers; AMX-BF16 with the tiles and their OS support.
    public var nativeBF16: [String] {
        var found: [String] = []
        let avx512: CPUFeatures = [.avx512F, .avx512BW, .avx512VL, .avx512DQ, .avx512BF16, .osZMM]
        if contains(avx512) { found.append("AVX512_BF16") }
        if contains([.amxBF16, .amxTile, .osAMX]) { found.append("AMX-BF16") }
        return found
    }
}

/// A precision refused: bf16 asked where it is not native.
public struct PrecisionError: Error, CustomStringConvertible {
    public var description: String
}

/// The precision a run uses and a line saying why.
public struct PrecisionChoice: Equatable, Sendable {
    /// .fp32 or .bf16, never .auto.
    public var precision: Precision
    public var reason: String

    /// Decides from the features and whether the build has oneDNN. An explicit bf16 on a CPU
    /// without native bf16 is refused rather than run: oneDNN would emulate it, slower than fp32
    /// and no more exact, and a silent fp32 run would make a speed or quality comparison
    /// measure something other than what was asked; `auto` is the choice that falls back.
    public static func resolve(_ requested: Precision, features: CPUFeatures, oneDNN: Bool) throws -> PrecisionChoice {
        let native = features.nativeBF16
        let missing = !oneDNN ? "this build has no oneDNN (libdnnl-dev)"
            : !features.contains(.x86) ? "bf16 products are only implemented on x86-64"
            : "this CPU has no native bf16 dot products (AVX512_BF16 or AMX-BF16)"
        switch requested {
        case .fp32:
            return PrecisionChoice(precision: .fp32, reason: "fp32 (asked)")
        case .bf16:
            guard oneDNN, !native.isEmpty else {
                throw PrecisionError(description: "--precision bf16: \(missing); use --precision fp32 or auto")
            }
            return PrecisionChoice(precision: .bf16, reason: "bf16 (asked; \(native.joined(separator: ", ")))")
        case .auto:
            guard oneDNN, !native.isEmpty else { return PrecisionChoice(precision: .fp32, reason: "fp32 (auto: \(missing))") }
            return PrecisionChoice(precision: .bf16, reason: "bf16 (auto: this CPU has \(native.joined(separator: ", ")))")
        }
    }

    /// The choice on this machine.
    public static func resolve(_ requested: Precision) throws -> PrecisionChoice {
        try resolve(requested, features: .current, oneDNN: BF16.isAvailable)
    }
}
