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
            var command = try parseAsRoot(joiningNegativeValues(Array(CommandLine.arguments.dropFirst())))
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

    /// `--lr -1` as `--lr=-1`: ArgumentParser takes a value that starts with a dash for a flag
    /// and would say "Missing value for '--lr'"; joined, the value reaches the option's own check
    /// ("--lr must be positive"). Only numbers are joined, and nothing after `--`.
    static func joiningNegativeValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" { return out + arguments[i...] }
            if a.hasPrefix("--"), !a.contains("="), i + 1 < arguments.count, isNegativeNumber(arguments[i + 1]) {
                out.append(a + "=" + arguments[i + 1])
                i += 2
            } else {
                out.append(a)
                i += 1
            }
        }
        return out
    }

    /// "-1", "-0.5", "-1e-3", "-inf", or a list of numbers that starts with one ("-0.5,1,2"
    /// for `decode --z`): a value with a sign, not a flag.
    static func isNegativeNumber(_ text: String) -> Bool {
        text.count > 1 && text.hasPrefix("-")
            && text.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { Double($0.trimmingCharacters(in: .whitespaces)) != nil }
    }

    static let configuration = CommandConfiguration(
        commandName: "vae",
        abstract: "Train a convolutional variational autoencoder on your own images, and look at what it learned.",
        discussion: """
        Typical use:
          vae inspect photos/                    find unreadable files before training
          vae train photos/ --size 64 --channels 3 --epochs 20
          vae cache photos/ --size 64 --channels 3   prepare the images once, ahead of training
          vae sample Output/photos-<time>        a grid of images drawn from the model
          vae fit-prior RUN                      fit the sampling prior again (train does it at its end)
          vae reconstruct RUN a.png b.jpg        inputs above their reconstructions
          vae interpolate RUN a.png b.png        a morph from one image to another
          vae traverse RUN                       what each latent dimension does
          vae encode RUN photos/ --out z.safetensors   latent codes for use elsewhere
          vae explore RUN                        an HTML page where the decoder runs live
          vae decode RUN --z 0.5,-1,...          the image one latent code decodes to
          vae evaluate RUN test-images/          -ELBO and importance-weighted bound
          vae bench --preset rgb64               training and inference speed
        """,
        subcommands: [Train.self, Sample.self, FitPrior.self, Reconstruct.self, Interpolate.self, Traverse.self, Encode.self,
                      Decode.self, Explore.self, Evaluate.self, Inspect.self, Cache.self, Bench.self])
}
