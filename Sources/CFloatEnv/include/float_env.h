// CFloatEnv: a shim that turns on flush-to-zero for the calling thread.
#ifndef VAE_FLOAT_ENV_H
#define VAE_FLOAT_ENV_H

/// Flushes denormal results and inputs to zero on the calling thread (x86 MXCSR FTZ+DAZ,
/// AArch64 FPCR.FZ). Adam's first moment decays by 0.9 a step for weights whose gradient is
/// zero and becomes denormal within a few hundred steps; denormal arithmetic is up to 100×
/// slower and made training slow down epoch after epoch.
void vae_flush_denormals(void);

#endif
