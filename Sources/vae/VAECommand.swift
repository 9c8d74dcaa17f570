// vae: the command line. A thin entry point; each subcommand lives in its own file.
import ArgumentParser
import Foundation
import VAECore

@main
struct VAECommand: ParsableCommand {
    static func main() {
        KernelSelection.restartWithFastKernelsIfNeeded()
        // Line-buffered stdout, so epoch lines and progress on stderr interleave in logs.
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // A refused flag is one line, naming the flag and what to do, with a pointer to the
            // subcommand's help instead of the whole usage text.
            if exitCode(for: error) == .validationFailure {
                let first = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
                let sub = CommandLine.arguments.dropFirst().first { !$0.hasPrefix("-") }
                    .flatMap { name in configuration.subcommands.first { $0._commandName == name }?._commandName }
                FileHandle.standardError.write(Data("Error: \(first) (see 'vae \(sub.map { $0 + " " } ?? "")--help')\n".utf8))
                Foundation.exit(ExitCode.validationFailure.rawValue)
            }
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "vae",
        abstract: "Train a convolutional variational autoencoder on your own images, and look at what it learned.",
        discussion: """
        Typical use:
          vae inspect photos/                    find unreadable files before training
          vae train photos/ --size 64 --channels 3 --epochs 20
          vae sample Output/photos-<time>        a grid of images drawn from the model
          vae fit-prior RUN                      fit the sampling prior again (train does it at its end)
          vae reconstruct RUN a.png b.jpg        inputs above their reconstructions
          vae interpolate RUN a.png b.png        a morph from one image to another
          vae traverse RUN                       what each latent dimension does
          vae encode RUN photos/ --out z.safetensors   latent codes for use elsewhere
          vae evaluate RUN test-images/          -ELBO and importance-weighted bound
          vae bench --preset rgb64               training and inference speed
        """,
        subcommands: [Train.self, Sample.self, FitPrior.self, Reconstruct.self, Interpolate.self, Traverse.self, Encode.self, Evaluate.self, Inspect.self, Bench.self])
}
