// FloatEnvironment: denormal floats flushed to zero on every thread that computes.
import CFloatEnv

public enum FloatEnvironment {
    /// Call on a thread before it computes; cheap enough to call once per work item.
    @inline(__always)
    public static func flushDenormals() { vae_flush_denormals() }
}
