// CBLAS: OpenBLAS's cblas.h (Debian: libopenblas-pthread-dev) for the GEMMs in VAECore.
#include <cblas.h>
