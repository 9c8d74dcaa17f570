// DurationText: durations as --time-limit takes them ("228s", "8m", "1h30m", "90") and as the lines show them.
import Foundation

public enum DurationText {
    /// Seconds in `text`: numbers each followed by h, m or s (a bare number is seconds), e.g.
    /// "228s", "8m", "1.5h", "1h30m"; nil when it does not parse or is not positive.
    public static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["h": 3600, "m": 60, "s": 1]
        var total = 0.0, number = ""
        for c in text.lowercased().filter({ !$0.isWhitespace }) {
            if c.isASCII && (c.isNumber || c == ".") {
                number.append(c)
            } else if let unit = units[c], let value = Double(number) {
                total += value * unit
                number = ""
            } else {
                return nil
            }
        }
        if !number.isEmpty {
            guard let value = Double(number) else { return nil }
            total += value
        }
        return total.isFinite && total > 0 && !text.isEmpty ? total : nil
    }

    /// "45s", "8m", "3m48s", "1h", "1h02m03s" (whole seconds), or "0.02s" under a minute: a form
    /// that reads back as the same duration.
    public static func text(_ seconds: Double) -> String {
        if seconds < 60 && seconds != seconds.rounded() { return String(format: "%gs", seconds) }
        let s = Int(seconds.rounded())
        let (h, m, r) = (s / 3600, s / 60 % 60, s % 60)
        if h > 0 { return "\(h)h" + (m > 0 || r > 0 ? String(format: "%02dm", m) : "") + (r > 0 ? String(format: "%02ds", r) : "") }
        if m > 0 { return "\(m)m" + (r > 0 ? String(format: "%02ds", r) : "") }
        return "\(r)s"
    }
}
