// PixelBudget under contention, and ImageHeader's declared sizes against what the decoders produce.
import Foundation
import Testing
import TestSupport
@testable import ImageIO

@Suite struct PixelBudgetTests {
    /// Eight threads reserve random amounts; the test keeps its own count of what is inside the
    /// reservations at each moment, independent of the budget's bookkeeping.
    @Test func concurrentReservationsNeverHoldMoreThanTheBudget() {
        let capacity = 1000
        let budget = PixelBudget(capacity: capacity)
        final class Meter: @unchecked Sendable {
            let lock = NSLock()
            var inside = 0, most = 0, runs = 0
            func enter(_ n: Int) { lock.lock(); inside += n; most = max(most, inside); runs += 1; lock.unlock() }
            func leave(_ n: Int) { lock.lock(); inside -= n; lock.unlock() }
        }
        let meter = Meter()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var random = TestRandom(UInt64(thread + 1))
            for _ in 0..<300 {
                // Up to 1.5× the budget: over-budget requests hold all of it.
                let asked = Int(random.next() % 1500) + 1
                let held = min(asked, capacity)
                budget.withReservation(asked) {
                    meter.enter(held)
                    for _ in 0..<Int(random.next() % 2000) { _ = random.next() }   // some work, so reservations overlap
                    meter.leave(held)
                }
            }
        }
        #expect(meter.runs == 8 * 300)
        #expect(meter.most <= capacity)
        #expect(budget.peak <= capacity)
        #expect(meter.inside == 0)
    }

    @Test func zeroAndOversizedReservationsRun() {
        let budget = PixelBudget(capacity: 10)
        #expect(budget.withReservation(0) { 1 } == 1)
        #expect(budget.withReservation(1_000_000) { 2 } == 2)
        #expect(budget.peak == 10)
        #expect(PixelBudget(capacity: 0).capacity == 1)
    }
}

@Suite struct ImageHeaderTests {
    @Test(arguments: ["rgb.png", "gray16.png", "palette_trns.png", "rgb_interlaced.png", "baseline.jpg",
                      "progressive.jpg", "gray.jpg", "cmyk.jpg", "subsampled420.jpg", "large.jpg"])
    func declaredSizeIsTheDecodedSize(_ name: String) throws {
        let data = try ImageDecoder.readFile(fixture(name), limit: 1 << 20)
        let image = try ImageDecoder.decode(data, path: name)
        let size = try #require(ImageHeader.declaredSize(data))
        #expect(size.width == image.width && size.height == image.height)
    }

    @Test func exifRotationKeepsThePixelCount() throws {
        let data = try ImageDecoder.readFile(fixture("orientation6.jpg"), limit: 1 << 20)
        let image = try ImageDecoder.decode(data, path: "orientation6.jpg")
        #expect(ImageHeader.declaredPixels(data) == image.width * image.height)
    }

    @Test func aBombIsMeasuredWithoutDecoding() throws {
        let data = try ImageDecoder.readFile(fixture("huge.png"), limit: 1 << 20)
        #expect(ImageHeader.declaredPixels(data) == 30000 * 30000)
        #expect(ImageHeader.declaredSize(Array(data.prefix(20))) == nil)
        #expect(ImageHeader.declaredSize(Array("GIF89a".utf8)) == nil)
        // A PNG declaring 2³² − 1 a side overflows the product: saturated, not a trap.
        var absurd = data
        for i in 16..<24 { absurd[i] = 0xFF }
        #expect(ImageHeader.declaredPixels(absurd) == Int.max)
        let truncatedJPEG = try ImageDecoder.readFile(fixture("baseline.jpg"), limit: 1 << 20).prefix(4)
        #expect(ImageHeader.declaredSize(Array(truncatedJPEG)) == nil)
    }
}
