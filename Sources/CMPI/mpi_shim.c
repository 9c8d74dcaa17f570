// CMPI: MPI over dlopen, so vae has no build- or link-time dependency on Open MPI.
// Open MPI's MPI_COMM_WORLD, MPI_FLOAT and MPI_SUM are macros for the addresses of global
// objects (ompi_mpi_comm_world, …), which Swift cannot import; dlsym gives those addresses.
// Loading at run time (rather than linking -lmpi behind __has_include) means one binary runs
// both on machines without Open MPI and under mpirun, and plain `vae` never loads libmpi.
#include "mpi_shim.h"
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>

typedef void *handle;  // MPI_Comm, MPI_Datatype and MPI_Op are pointers in Open MPI's ABI
static handle world, floatType, doubleType, byteType, intType, sumOp, maxOp;
static int (*initThread)(int *, char ***, int, int *);
static int (*commRank)(handle, int *);
static int (*commSize)(handle, int *);
static int (*bcast)(void *, int, handle, int, handle);
static int (*allreduce)(const void *, void *, int, handle, handle, handle);
static int (*alltoallv)(const void *, const int *, const int *, handle, void *, const int *, const int *, handle, handle);
static int (*allgatherv)(const void *, int, handle, void *, const int *, const int *, handle, handle);
static int (*iallreduce)(const void *, void *, int, handle, handle, handle, handle *);
static int (*ialltoallv)(const void *, const int *, const int *, handle, void *, const int *, const int *, handle, handle, handle *);
static int (*iallgatherv)(const void *, int, handle, void *, const int *, const int *, handle, handle, handle *);
static int (*testRequest)(handle *, int *, void *);
static int (*waitRequest)(handle *, void *);
static int (*barrier)(handle);
static int (*abortJob)(handle, int);
static int (*finalize)(void);
static void *inPlace;  // MPI_IN_PLACE is ((void *) 1) in Open MPI
static int rank = 0, size = 1, serialized = 0;

#define LOAD(var, name) do { *(void **)&(var) = dlsym(lib, name); \
    if (!(var)) { snprintf(why, whyCapacity, "%s lacks %s", libName, name); return -1; } } while (0)

int vae_mpi_init(char *why, size_t whyCapacity) {
    const char *libName = "libmpi.so.40";
    // RTLD_GLOBAL: Open MPI's plugins (loaded by libmpi itself) resolve libmpi's symbols.
    void *lib = dlopen(libName, RTLD_NOW | RTLD_GLOBAL);
    if (!lib) { snprintf(why, whyCapacity, "cannot load Open MPI (%s): %s", libName, dlerror()); return -1; }
    LOAD(initThread, "MPI_Init_thread"); LOAD(commRank, "MPI_Comm_rank"); LOAD(commSize, "MPI_Comm_size");
    LOAD(bcast, "MPI_Bcast"); LOAD(allreduce, "MPI_Allreduce"); LOAD(barrier, "MPI_Barrier");
    LOAD(alltoallv, "MPI_Alltoallv"); LOAD(allgatherv, "MPI_Allgatherv");
    LOAD(iallreduce, "MPI_Iallreduce"); LOAD(ialltoallv, "MPI_Ialltoallv"); LOAD(iallgatherv, "MPI_Iallgatherv");
    LOAD(testRequest, "MPI_Test"); LOAD(waitRequest, "MPI_Wait");
    LOAD(abortJob, "MPI_Abort"); LOAD(finalize, "MPI_Finalize");
    LOAD(world, "ompi_mpi_comm_world"); LOAD(floatType, "ompi_mpi_float"); LOAD(doubleType, "ompi_mpi_double");
    LOAD(byteType, "ompi_mpi_byte"); LOAD(intType, "ompi_mpi_int");
    LOAD(sumOp, "ompi_mpi_op_sum"); LOAD(maxOp, "ompi_mpi_op_max");
    inPlace = (void *)1;
    int provided = 0;
    // Serialized: the training threads call MPI one at a time (under GradientExchange's lock) to
    // start each bucket's sum while the backward pass goes on.
    if (initThread(NULL, NULL, 2 /* MPI_THREAD_SERIALIZED */, &provided) != 0) {
        snprintf(why, whyCapacity, "MPI_Init_thread failed"); return -1;
    }
    serialized = provided >= 2;
    commRank(world, &rank);
    commSize(world, &size);
    return 0;
}

int vae_mpi_rank(void) { return rank; }
int vae_mpi_serialized(void) { return serialized; }
int vae_mpi_size(void) { return size; }

// MPI counts are ints: long buffers go in chunks.
static int bcastChunks(char *data, long count, size_t width, handle type, int root) {
    for (long done = 0; done < count;) {
        long n = count - done > INT_MAX / 2 ? INT_MAX / 2 : count - done;
        int s = bcast(data + done * width, (int)n, type, root, world);
        if (s) return s;
        done += n;
    }
    return 0;
}
static int reduceChunks(char *data, long count, size_t width, handle type, handle op) {
    for (long done = 0; done < count;) {
        long n = count - done > INT_MAX / 2 ? INT_MAX / 2 : count - done;
        int s = allreduce(inPlace, data + done * width, (int)n, type, op, world);
        if (s) return s;
        done += n;
    }
    return 0;
}

int vae_mpi_bcast_floats(float *data, long count, int root) { return bcastChunks((char *)data, count, 4, floatType, root); }
int vae_mpi_bcast_doubles(double *data, long count, int root) { return bcastChunks((char *)data, count, 8, doubleType, root); }
int vae_mpi_bcast_bytes(void *data, long count, int root) { return bcastChunks((char *)data, count, 1, byteType, root); }
int vae_mpi_allreduce_sum_doubles(double *data, long count) { return reduceChunks((char *)data, count, 8, doubleType, sumOp); }
int vae_mpi_allreduce_sum_floats(float *data, long count) { return reduceChunks((char *)data, count, 4, floatType, sumOp); }
int vae_mpi_allreduce_max_ints(int *data, long count) { return reduceChunks((char *)data, count, sizeof(int), intType, maxOp); }
int vae_mpi_alltoallv_floats(const float *send, const int *sendCounts, const int *sendOffsets,
                             float *receive, const int *receiveCounts, const int *receiveOffsets) {
    return alltoallv(send, sendCounts, sendOffsets, floatType, receive, receiveCounts, receiveOffsets, floatType, world);
}
int vae_mpi_allgatherv_floats(float *data, const int *counts, const int *offsets) {
    return allgatherv(inPlace, 0, floatType, data, counts, offsets, floatType, world);
}
int vae_mpi_allgatherv_doubles(double *data, const int *counts, const int *offsets) {
    return allgatherv(inPlace, 0, doubleType, data, counts, offsets, doubleType, world);
}
int vae_mpi_iallreduce_sum_floats(const float *send, float *data, int count, void **request) {
    return iallreduce(send ? (const void *)send : inPlace, data, count, floatType, sumOp, world, (handle *)request);
}
int vae_mpi_ialltoallv_floats(const float *send, const int *sendCounts, const int *sendOffsets,
                              float *receive, const int *receiveCounts, const int *receiveOffsets, void **request) {
    return ialltoallv(send, sendCounts, sendOffsets, floatType, receive, receiveCounts, receiveOffsets, floatType, world,
                      (handle *)request);
}
int vae_mpi_iallgatherv_floats(float *data, const int *counts, const int *offsets, void **request) {
    return iallgatherv(inPlace, 0, floatType, data, counts, offsets, floatType, world, (handle *)request);
}
// MPI_STATUS_IGNORE is a null pointer in Open MPI.
int vae_mpi_test(void **request, int *done) { return testRequest((handle *)request, done, NULL); }
int vae_mpi_wait(void **request) { return waitRequest((handle *)request, NULL); }
int vae_mpi_barrier(void) { return barrier(world); }
void vae_mpi_abort(int code) { if (abortJob) abortJob(world, code); }
int vae_mpi_finalize(void) { return finalize ? finalize() : 0; }
