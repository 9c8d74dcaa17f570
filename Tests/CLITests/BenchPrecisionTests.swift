// `vae bench --precision`: says which precision it runs and why; bf16 runs or is refused in one line.
import Foundation
import Testing

@Suite struct BenchPrecisionTests {
    static let quick = ["bench", "--steps", "1", "--batch", "4"]

    @Test func autoSaysWhichPrecisionItChoseAndWhy() throws {
        let r = try vae(Self.quick + ["--precision", "auto"], timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        let first = r.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("precision fp32 (auto: ") || first.hasPrefix("precision bf16 (auto: this CPU has "), "\(first)")
        #expect(r.stdout.contains("train_images_per_s "))
    }

    @Test func bf16RunsOrIsRefusedInOneLine() throws {
        let r = try vae(Self.quick + ["--precision", "bf16"], timeout: 120)
        if r.status == 0 {
            #expect(r.stdout.hasPrefix("precision bf16 (asked; "), "\(r.stdout)")
            #expect(!r.stderr.contains("warning"), "\(r.stderr)")  // no product fell back to fp32
        } else {
            #expect(r.status == 1 && r.stderr.contains("--precision bf16: "), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        }
        let bad = try vae(Self.quick + ["--precision", "fp16"], timeout: 60)
        #expect(bad.status == 64 && bad.stderr.contains("fp16"), "\(bad.stderr)")
    }
}
