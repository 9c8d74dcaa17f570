// KernelSelection: makes OpenBLAS use the AVX2/AVX-512 kernels on CPUs it is too old to recognise.
import Foundation
#if !canImport(Accelerate)
import CBLAS
#endif

/// What /proc/cpuinfo says of the first CPU: enough to choose OpenBLAS kernels.
public struct CPUInfo: Equatable, Sendable {
    public var vendor: String
    public var family: Int?
    public var flags: Set<String>

    public init(vendor: String, family: Int?, flags: Set<String>) {
        (self.vendor, self.family, self.flags) = (vendor, family, flags)
    }

    /// Reads "vendor_id", "cpu family" and "flags" from the first processor's block.
    public init(cpuinfo: String) {
        var fields: [String: String] = [:]
        for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).isEmpty && !fields.isEmpty { break }
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            if fields[key] == nil { fields[key] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        self.init(vendor: fields["vendor_id"] ?? "", family: fields["cpu family"].flatMap { Int($0) },
                  flags: Set((fields["flags"] ?? "").split(separator: " ").map(String.init)))
    }
}

public enum KernelSelection {
    /// OpenBLAS cores without AVX2: what its runtime detection falls back to on an unknown CPU.
    static let genericCores: Set<String> = ["prescott", "core2", "nehalem", "katmai", "coppermine", "northwood",
                                            "banias", "atom", "penryn", "dunnington", "sandybridge", "unknown"]
    /// OpenBLAS cores whose sgemm kernels use 512-bit vectors.
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// The OPENBLAS_CORETYPE to use instead of the core OpenBLAS picked, or nil to keep it.
    /// - Debian 12's OpenBLAS 0.3.21 takes CPUs newer than itself (e.g. Xeon family 6 model 207)
    ///   for a 2004 Pentium 4 ("Prescott") and runs SSE3 kernels 5× slower than the AVX-512 ones.
    /// - On AMD Zen 4 (family 25 with AVX-512) it picks Cooperlake, whose AVX-512 kernels are
    ///   slower there than the AVX2 Haswell ones: Zen 4 executes a 512-bit FMA as two 256-bit
    ///   halves. Measured on a 2-core EPYC: square sgemm 99 → 108 GFLOP/s, rgb64 training
    ///   476–479 → 505–512 images/s. Zen 5 (family 26) has full-width AVX-512 and is left alone.
    public static func betterCoreType(current: String, cpu: CPUInfo) -> String? {
        let core = current.lowercased(), flags = cpu.flags
        let hasAVX2 = ["avx2", "fma"].allSatisfy(flags.contains)
        if cpu.vendor == "AuthenticAMD" && cpu.family == 25 && avx512Cores.contains(core) && hasAVX2 {
            return "Haswell"
        }
        guard genericCores.contains(core) else { return nil }
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if hasAVX2 { return "Haswell" }
        return nil
    }

    /// The core OpenBLAS chose at load time.
    public static var currentCore: String {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        return String(cString: openblas_get_corename())
        #endif
    }

    /// OpenBLAS reads OPENBLAS_CORETYPE only when it loads, before main runs; so when
    /// `betterCoreType` names a faster core than OpenBLAS's choice, set the variable and exec this
    /// program again. A user's own OPENBLAS_CORETYPE is always respected.
    public static func restartWithFastKernelsIfNeeded() {
        #if os(Linux)
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env["VAE_KERNEL_RESTARTED"] == nil,
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let better = betterCoreType(current: currentCore, cpu: CPUInfo(cpuinfo: cpuinfo))
        else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        setenv("VAE_KERNEL_RESTARTED", "1", 1)
        let args = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", args)
        // execv only returns on failure: carry on with the slower kernels.
        #endif
    }
}
