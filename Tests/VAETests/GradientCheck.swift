// GradientCheck: a trainer's gradient against finite differences of an objective written out in a test.
import Testing
import TestSupport
@testable import VAE
@testable import VAECore

/// For six entries of every parameter tensor (drawn by `seed`): `analytic` against the finite
/// difference of `objective` (evaluated at `params` as they stand) closest to it; `centre` is the
/// objective at `params`.
func expectGradientMatchesFiniteDifferences(_ analytic: [Float], network: Network, params: Buffer, centre: Double,
                                            seed: UInt64, objective: () -> Double) {
    var pick = TestRandom(seed)
    for tensor in network.layout.tensors {
        for _ in 0..<6 {
            let i = tensor.offset + Int(pick.next() % UInt64(tensor.count))
            let saved = params[i]
            let exact = Double(analytic[i])
            let numeric = closestFiniteDifference(at: saved, centre: centre, exact: exact) { w in
                params[i] = w
                defer { params[i] = saved }
                return objective()
            }
            #expect(isClose(exact, numeric, relative: 2e-2, absolute: 2e-3),
                    "\(tensor.name)[\(i - tensor.offset)]: analytic \(exact) vs numeric \(numeric)")
        }
    }
}
