// PixelBudget: a pixel count that threads decoding at once share, so that together they stay within it.
import Foundation

/// The per-image pixel limit bounds one decode; this bounds them all at once. Without it, two
/// 100-megapixel images (a few hundred KB each as PNG) decoding on two threads took 5.5 GB.
/// A decode reserves the pixel count its header declares before any pixel memory is allocated,
/// and waits while others hold the budget. Reservations are granted in the order they are asked
/// for, so a large image is not starved by a stream of small ones.
public final class PixelBudget: @unchecked Sendable {
    public let capacity: Int
    private let condition = NSCondition()
    private var held = 0
    private var mostHeld = 0
    private var nextTicket = 0
    private var serving = 0

    /// `capacity` below 1 is taken as 1, so that every reservation can be granted.
    public init(capacity: Int) {
        self.capacity = Swift.max(1, capacity)
    }

    /// The most pixels ever held at once.
    public var peak: Int {
        condition.lock()
        defer { condition.unlock() }
        return mostHeld
    }

    /// Runs `body` holding `pixels` of the budget (at most all of it, so an image larger than the
    /// budget runs alone), waiting first until that much is free. Zero pixels never waits.
    public func withReservation<T>(_ pixels: Int, _ body: () throws -> T) rethrows -> T {
        let amount = Swift.min(Swift.max(pixels, 0), capacity)
        guard amount > 0 else { return try body() }
        reserve(amount)
        defer { release(amount) }
        return try body()
    }

    private func reserve(_ amount: Int) {
        condition.lock()
        let ticket = nextTicket
        nextTicket += 1
        while ticket != serving || held + amount > capacity { condition.wait() }
        held += amount
        mostHeld = Swift.max(mostHeld, held)
        serving += 1
        condition.broadcast()   // the next ticket may fit beside this one
        condition.unlock()
    }

    private func release(_ amount: Int) {
        condition.lock()
        held -= amount
        condition.broadcast()
        condition.unlock()
    }
}
