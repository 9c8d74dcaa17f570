// report.html's latent section: one bar per dimension, most KL first, collapsed ones told apart.
import Foundation
import Testing
@testable import VAE

struct LatentReportTests {
    @Test func barsAreSortedAndCollapsedOnesGrey() throws {
        let kl = [0.2, 0.0005, 1.5, 0.7]
        let html = Report.latentSection(kl)
        #expect(html.components(separatedBy: "class=\"kl-bar\"").count - 1 == 4)
        // The bars' titles in the order drawn: most KL first.
        let titles = html.components(separatedBy: "<title>").dropFirst().map { $0.prefix { $0 != ":" } }
        #expect(titles == ["z2", "z3", "z0", "z1"])
        #expect(html.contains("3 of 4 carry more than 0.01 nats") && html.contains("collapsed"))
        #expect(html.components(separatedBy: "fill=\"#bbb\"").count - 1 == 1)
        // Heights proportional to the KL: the tallest bar spans the chart, z3's is 0.7/1.5 of it.
        let heights = html.components(separatedBy: "height=\"").dropFirst(1).compactMap { Double($0.prefix { $0 != "\"" }) }
        #expect(abs(heights[2] / heights[1] - 0.7 / 1.5) < 1e-9, "\(heights)")
        #expect(html.contains("src=\"traversal.png\"") && html.contains("src=\"interpolation.png\""))
    }
}
