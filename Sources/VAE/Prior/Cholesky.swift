// Cholesky: the factor of a symmetric positive-definite matrix and the inverse of a lower-triangular one, in Double.

enum Cholesky {
    /// L with A = L·Lᵀ, lower triangular with a positive diagonal (row-major n×n, upper part zero);
    /// nil when A is not positive definite to working precision.
    static func factor(_ a: [Double], n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var s = a[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard s > 0, s.isFinite else { return nil }
                    l[i * n + i] = s.squareRoot()
                } else {
                    l[i * n + j] = s / l[j * n + j]
                }
            }
        }
        return l
    }

    /// L⁻¹ of a lower-triangular L with a nonzero diagonal (row-major n×n, lower triangular too),
    /// by forward substitution on the columns of the identity.
    static func invertLower(_ l: UnsafePointer<Double>, n: Int) -> [Double] {
        var inv = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            inv[j * n + j] = 1 / l[j * n + j]
            for i in (j + 1)..<Swift.max(j + 1, n) {
                var s = 0.0
                for k in j..<i { s -= l[i * n + k] * inv[k * n + j] }
                inv[i * n + j] = s / l[i * n + i]
            }
        }
        return inv
    }
}
