// Negative numbers given to numeric flags reach the flag's own check instead of "Missing value".
import Foundation
import Testing

@Suite struct NegativeValueTests {
    @Test(arguments: [
        (["train", sampleData, "--lr", "-1"], "--lr must be positive"),
        (["train", sampleData, "--epochs", "-3"], "--epochs must be at least 1"),
        (["train", sampleData, "--beta", "-0.5"], "--beta must be zero or positive"),
        (["train", sampleData, "--clip-norm", "-1e3"], "--clip-norm must be a positive number"),
        (["train", sampleData, "--skip-spikes", "-20"], "--skip-spikes must be 0 (off) or a factor"),
        (["train", sampleData, "--skip-spikes", "1.5"], "--skip-spikes must be 0 (off) or a factor"),
        (["evaluate", sampleData, sampleData, "--k", "-5"], "--k must be between 0 and 100000"),
    ])
    func aNegativeValueIsCheckedByItsFlag(arguments: [String], message: String) throws {
        let r = try vae(arguments, timeout: 60)
        #expect(r.status == 64, "\(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains(message) && !r.stderr.contains("Missing value"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    /// A flag followed by a word that is not a number is still a missing value, and `--`
    /// ends the rewriting (a path named like a number stays a path).
    @Test func onlyNumbersAreJoined() throws {
        let r = try vae(["train", sampleData, "--lr", "--epochs", "2"], timeout: 60)
        #expect(r.status == 64 && r.stderr.contains("--lr"), "\(r.stderr)")
        let list = try vae(["decode", sampleData, "--z", "-0.5,1,2"], timeout: 60)
        #expect(list.status == 1 && !list.stderr.contains("Missing value"), "\(list.stderr)")  // the list reached decode
        let inspect = try vae(["inspect", "--", "-7"], timeout: 60)
        #expect(inspect.status == 1 && inspect.stdout.contains("-7"), "\(inspect.stdout) \(inspect.stderr)")
    }
}
