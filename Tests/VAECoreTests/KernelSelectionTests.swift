// Tests of the OpenBLAS core choice: /proc/cpuinfo parsing and when another core is named.
import Testing
@testable import VAECore

@Suite struct KernelSelectionTests {
    static let avx512 = "fpu sse2 avx fma avx2 avx512f avx512dq avx512bw avx512vl avx512_bf16"

    static func cpuinfo(vendor: String, family: Int, flags: String) -> String {
        """
        processor\t: 0
        vendor_id\t: \(vendor)
        cpu family\t: \(family)
        model\t\t: 17
        flags\t\t: \(flags)

        processor\t: 1
        vendor_id\t: SomethingElse
        cpu family\t: 99
        flags\t\t: sse2

        """
    }

    @Test func readsTheFirstProcessorsVendorFamilyAndFlags() {
        let cpu = CPUInfo(cpuinfo: Self.cpuinfo(vendor: "AuthenticAMD", family: 25, flags: Self.avx512))
        #expect(cpu.vendor == "AuthenticAMD")
        #expect(cpu.family == 25)
        #expect(cpu.flags.contains("avx512f") && cpu.flags.contains("avx2") && !cpu.flags.contains("sse3"))
        #expect(CPUInfo(cpuinfo: "") == CPUInfo(vendor: "", family: nil, flags: []))
    }

    @Test func zen4GetsTheAVX2KernelsInsteadOfAVX512Ones() {
        let zen4 = CPUInfo(vendor: "AuthenticAMD", family: 25, flags: Set(Self.avx512.split(separator: " ").map(String.init)))
        #expect(KernelSelection.betterCoreType(current: "Cooperlake", cpu: zen4) == "Haswell")
        #expect(KernelSelection.betterCoreType(current: "SkylakeX", cpu: zen4) == "Haswell")
        #expect(KernelSelection.betterCoreType(current: "Haswell", cpu: zen4) == nil)
        #expect(KernelSelection.betterCoreType(current: "Zen", cpu: zen4) == nil)
        // Zen 5 executes 512-bit vectors at full width: OpenBLAS's choice stands.
        var zen5 = zen4
        zen5.family = 26
        #expect(KernelSelection.betterCoreType(current: "Cooperlake", cpu: zen5) == nil)
    }

    @Test func intelKeepsAVX512KernelsAndGenericChoicesAreUpgraded() {
        let xeon = CPUInfo(vendor: "GenuineIntel", family: 6, flags: Set(Self.avx512.split(separator: " ").map(String.init)))
        #expect(KernelSelection.betterCoreType(current: "SkylakeX", cpu: xeon) == nil)
        #expect(KernelSelection.betterCoreType(current: "Prescott", cpu: xeon) == "SkylakeX")
        let avx2Only = CPUInfo(vendor: "GenuineIntel", family: 6, flags: ["sse2", "avx", "avx2", "fma"])
        #expect(KernelSelection.betterCoreType(current: "Prescott", cpu: avx2Only) == "Haswell")
        let old = CPUInfo(vendor: "GenuineIntel", family: 6, flags: ["sse2", "sse3"])
        #expect(KernelSelection.betterCoreType(current: "Prescott", cpu: old) == nil)
    }
}
