// RunConfig+Checks: every field of a config.json within bounds and agreeing with the others, checked by every command.

extension TrainOptions {
    /// The first field out of bounds, named as in config.json, or nil.
    public var problem: String? {
        if !(0...1_000_000).contains(epochs) { return "training.epochs \(epochs) is out of range (0–1,000,000)" }
        if !(1...65536).contains(batch) { return "training.batch \(batch) is out of range (1–65,536)" }
        if !(learningRate.isFinite && learningRate > 0) {
            return "training.learningRate \(learningRate) must be a positive number"
        }
        if !(beta.isFinite && beta >= 0) { return "training.beta \(beta) must be zero or positive" }
        if !(validationFraction >= 0 && validationFraction < 1) {
            return "training.validationFraction \(validationFraction) must be at least 0 and below 1"
        }
        if !(1...Swift.min(batch, 1024)).contains(shards) {
            return "training.shards \(shards) is out of range (1 to the batch size \(batch), at most 1,024)"
        }
        if let clipNorm, !(clipNorm.isFinite && clipNorm > 0) { return "training.clipNorm \(clipNorm) must be a positive number" }
        if let skipSpikes, !(skipSpikes >= 2 && skipSpikes <= 1e6) {
            return "training.skipSpikes \(skipSpikes) must be a factor between 2 and 1,000,000 (leave it out for none)"
        }
        if let averageDecay, !(averageDecay >= 0 && averageDecay < 1) {
            return "training.averageDecay \(averageDecay) must be at least 0 and below 1"
        }
        if !(1...1_000_000).contains(maxBadSteps) { return "training.maxBadSteps \(maxBadSteps) is out of range" }
        if let stream, !((1...(1 << 24)).contains(stream.blockImages) && (1...(1 << 24)).contains(stream.window)) {
            return "training.stream: blockImages \(stream.blockImages) and window \(stream.window) must be from 1 to 16,777,216"
        }
        if precision == .auto { return "training.precision must be fp32 or bf16 (auto is resolved when a run starts)" }
        return scheduleProblem
    }
}

extension RunConfig {
    /// Why this run cannot be loaded or resumed: the first field that is out of bounds or disagrees
    /// with another, named as in config.json; nil when it is sound.
    public var problem: String? {
        if let problem = model.problem { return "model: \(problem)" }
        if data.size != model.size || data.channels != model.channels {
            return "data prepares \(data.size)×\(data.size)×\(data.channels) images but the model takes "
                + "\(model.size)×\(model.size)×\(model.channels)"
        }
        if model.priorMixture != nil && training.freeBits != nil {
            return "training.freeBits needs each dimension's KL to N(0, I), which a learned prior (model.priorMixture) has not: "
                + "use one or the other"
        }
        if let limit, limit < 1 { return "limit \(limit) must be at least 1 (or absent: every image)" }
        if dataFolders.isEmpty || dataFolders.contains(where: \.isEmpty) {
            return "dataFolders must name the folders the run trained on"
        }
        return training.problem
    }
}
