// KernelSelection: makes OpenBLAS use the AVX2/AVX-512 kernels on CPUs it is too old to recognise.
import Foundation
#if !canImport(Accelerate)
import CBLAS
#endif

public enum KernelSelection {
    /// OpenBLAS cores without AVX2: what its runtime detection falls back to on an unknown CPU.
    static let genericCores: Set<String> = ["prescott", "core2", "nehalem", "katmai", "coppermine", "northwood",
                                            "banias", "atom", "penryn", "dunnington", "sandybridge", "unknown"]

    /// The OPENBLAS_CORETYPE to use instead of the core OpenBLAS picked, or nil to keep it.
    /// Debian 12's OpenBLAS 0.3.21 takes CPUs newer than itself (e.g. Xeon family 6 model 207)
    /// for a 2004 Pentium 4 ("Prescott") and runs SSE3 kernels 5× slower than the AVX-512 ones.
    public static func betterCoreType(current: String, cpuFlags: Set<String>) -> String? {
        guard genericCores.contains(current.lowercased()) else { return nil }
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(cpuFlags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(cpuFlags.contains) { return "Haswell" }
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

    /// OpenBLAS reads OPENBLAS_CORETYPE only when it loads, before main runs; so when its choice
    /// is a generic core on a CPU with AVX2 or AVX-512, set the variable and exec this program
    /// again. A user's own OPENBLAS_CORETYPE is always respected.
    public static func restartWithFastKernelsIfNeeded() {
        #if os(Linux)
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env["VAE_KERNEL_RESTARTED"] == nil,
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let better = betterCoreType(current: currentCore,
                                          cpuFlags: Set(flagsLine.split(separator: " ").map(String.init)))
        else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        setenv("VAE_KERNEL_RESTARTED", "1", 1)
        let args = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", args)
        // execv only returns on failure: carry on with the slower kernels.
        #endif
    }
}
