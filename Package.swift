// swift-tools-version:6.0
// SwiftVAE: a convolutional variational autoencoder trained on your own images, on the CPU.
import Foundation
import PackageDescription

// The numeric code is always optimised: the tests train small models and run the binary
// end to end, which unoptimised loops make dozens of times slower. Release builds also drop
// overflow and bounds checks; every kernel is checked against naive loops in the tests.
// -fno-math-errno: Float.squareRoot() comes from a C shim that, with errno semantics, is a
// branch and a libm call per element; without them it is one instruction and Adam vectorises.
// -target-cpu native: the loops use the building machine's vector units (AVX2/AVX-512 rather
// than baseline SSE2; rgb64 training +3 %), as llm.c builds with -march=native. The binary then
// runs only on CPUs like the one that built it: VAE_PORTABLE=1 swift build -c release makes one
// for any x86-64 (or arm64) machine.
let portable = ProcessInfo.processInfo.environment["VAE_PORTABLE"] == "1"
let fast: [SwiftSetting] = [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
    .unsafeFlags(["-Xcc", "-fno-math-errno"] + (portable ? [] : ["-target-cpu", "native"])),
]

let package = Package(
    name: "SwiftVAE",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vae", targets: ["vae"]),
        .library(name: "VAE", targets: ["VAE"]),
        .library(name: "ImageIO", targets: ["ImageIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CPNG", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("z")]),
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        // giflib (Debian: libgif-dev) for animated GIFs.
        .target(name: "CGIF", linkerSettings: [.linkedLibrary("gif")]),
        .target(name: "CFloatEnv"),
        .systemLibrary(name: "CBLAS"),
        // oneDNN's matmul for bf16 products (Debian: libdnnl-dev); its OpenMP runtime is named
        // because the shim sets the calling thread's team size itself.
        .target(name: "CBF16", linkerSettings: [.linkedLibrary("dnnl", .when(platforms: [.linux])),
                                                .linkedLibrary("gomp", .when(platforms: [.linux]))]),
        // MPI for `mpirun -np N vae train`: Open MPI is dlopen'ed at run time (see mpi_shim.c), so
        // building and running vae never needs it; only libdl is linked.
        .target(name: "CMPI", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .target(name: "ImageIO", dependencies: ["CPNG", "CJPEG", "CGIF"], swiftSettings: fast),
        .target(name: "VAECore", dependencies: ["CFloatEnv", "CBF16", .target(name: "CBLAS", condition: .when(platforms: [.linux]))], swiftSettings: fast,
                linkerSettings: [.linkedLibrary("m")]),
        .target(name: "VAE", dependencies: ["VAECore", "ImageIO", "CMPI"], swiftSettings: fast),
        .executableTarget(name: "vae", dependencies: [
            "VAE", "ImageIO", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "TestSupport", dependencies: ["CGIF"], path: "Tests/TestSupport"),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "TestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "VAECoreTests", dependencies: ["VAECore", "TestSupport"]),
        .testTarget(name: "VAETests", dependencies: ["VAE", "VAECore", "ImageIO", "TestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "CLITests", dependencies: ["VAE", "ImageIO", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
