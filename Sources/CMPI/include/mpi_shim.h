// CMPI: the few MPI calls data-parallel training needs, loaded from Open MPI at run time.
#pragma once
#include <stddef.h>

/// Loads libmpi.so.40 and calls MPI_Init_thread asking for MPI_THREAD_SERIALIZED (any thread may
/// call MPI, one at a time).
/// Returns 0 on success; otherwise writes a one-line reason into `why` and returns -1.
int vae_mpi_init(char *why, size_t whyCapacity);
int vae_mpi_rank(void);
int vae_mpi_size(void);
/// 1 when Open MPI granted MPI_THREAD_SERIALIZED, so threads other than the main one may call it.
int vae_mpi_serialized(void);
/// In-place broadcasts from `root` to every rank of MPI_COMM_WORLD. Return MPI's status (0 = success).
int vae_mpi_bcast_floats(float *data, long count, int root);
int vae_mpi_bcast_doubles(double *data, long count, int root);
int vae_mpi_bcast_bytes(void *data, long count, int root);
/// In-place sums (over ranks) and maxima.
int vae_mpi_allreduce_sum_doubles(double *data, long count);
int vae_mpi_allreduce_sum_floats(float *data, long count);
int vae_mpi_allreduce_max_ints(int *data, long count);
/// MPI_Alltoallv over floats: rank r's block for rank q is send[sendOffsets[q] ..< + sendCounts[q]],
/// and q's block for r lands at receive[receiveOffsets[q] ..< + receiveCounts[q]] (counts in floats).
int vae_mpi_alltoallv_floats(const float *send, const int *sendCounts, const int *sendOffsets,
                             float *receive, const int *receiveCounts, const int *receiveOffsets);
/// In-place MPI_Allgatherv: rank q's block is data[offsets[q] ..< + counts[q]] on q, and on every rank after.
int vae_mpi_allgatherv_floats(float *data, const int *counts, const int *offsets);
int vae_mpi_allgatherv_doubles(double *data, const int *counts, const int *offsets);
/// Non-blocking forms of the above; `*request` is MPI's request handle, for vae_mpi_test and
/// vae_mpi_wait. Every rank must start the same collectives in the same order. A null `send` sums in place.
int vae_mpi_iallreduce_sum_floats(const float *send, float *data, int count, void **request);
int vae_mpi_ialltoallv_floats(const float *send, const int *sendCounts, const int *sendOffsets,
                              float *receive, const int *receiveCounts, const int *receiveOffsets, void **request);
int vae_mpi_iallgatherv_floats(float *data, const int *counts, const int *offsets, void **request);
/// MPI_Test (sets *done to 1 when the request has completed; moves every pending collective on) and MPI_Wait.
int vae_mpi_test(void **request, int *done);
int vae_mpi_wait(void **request);
int vae_mpi_barrier(void);
/// Ends every rank of the job with `code`.
void vae_mpi_abort(int code);
int vae_mpi_finalize(void);
