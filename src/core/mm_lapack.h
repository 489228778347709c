/*
 * mm_lapack.h
 *	  The few LAPACK routines the core uses, behind wrappers that speak
 *	  mm_status.
 *
 * Every wrapper that needs a workspace asks LAPACK for its optimal size
 * (dtpqrt has no query: its size is fixed), allocates it through mm_alloc
 * (palloc in the server: LAPACKE_* would malloc, and leak when an ERROR
 * unwinds past it), checks info and frees the workspace.  Arguments
 * that LAPACK would reject are bugs; they reach our xerbla_, which calls
 * mm_fatal().  Integers are int32_t: the core links the LP64 OpenBLAS, whose
 * lapack_int is 32 bits (mm_lapack.c checks that at compile time).
 *
 * Matrices are column-major, as LAPACK wants them.  This header does not
 * include <lapack.h>, so that the rest of the core does not see it.
 */
#ifndef MM_LAPACK_H
#define MM_LAPACK_H

#include "mm_core.h"

/*
 * Householder QR of the m x n matrix a (leading dimension lda), in place:
 * R in the upper triangle, the reflectors below it, their scalars in tau
 * (min(m, n) slots).
 */
extern mm_status mm_lapack_dgeqrf(int32_t m, int32_t n, double *a,
								  int32_t lda, double *tau, mm_error *err);

/*
 * QR of a triangle stacked on a block (dtpqrt): with A n x n upper
 * triangular and B m x n, computes the QR of [A ; B] in place: the new R
 * overwrites the upper triangle of A (its strict lower part is not touched),
 * B is overwritten with the reflectors.  l = 0 treats B as a plain
 * rectangle.  This is the Householder update of an R by new rows at cost
 * 2 m n^2, without re-factoring the triangle.  work holds
 * mm_lapack_dtpqrt_work_size(n) doubles, or is NULL to allocate it.
 */
extern size_t mm_lapack_dtpqrt_work_size(int32_t n);
extern mm_status mm_lapack_dtpqrt(int32_t m, int32_t n, int32_t l, double *a,
								  int32_t lda, double *b, int32_t ldb,
								  double *work, mm_error *err);

/*
 * QR with column pivoting, a P = Q R, in place.  jpvt has n slots; on input
 * 0 lets every column move; on output jpvt[j] is the 1-based original index
 * of the column now in position j.  tau has min(m, n) slots.
 */
extern mm_status mm_lapack_dgeqp3(int32_t m, int32_t n, double *a,
								  int32_t lda, int32_t *jpvt, double *tau,
								  mm_error *err);

/*
 * Solve the triangular system op(A) X = B in place of B (n x nrhs, leading
 * dimension ldb).  uplo is 'U' or 'L', trans 'N' or 'T'.  An exactly zero
 * diagonal entry returns MM_ERR_DATA and sets *zero_pivot (0-based) when
 * zero_pivot is not NULL; otherwise *zero_pivot is set to -1.
 */
extern mm_status mm_lapack_dtrtrs(char uplo, char trans, int32_t n,
								  int32_t nrhs, const double *a, int32_t lda,
								  double *b, int32_t ldb, int32_t *zero_pivot,
								  mm_error *err);

/*
 * Number of threads OpenBLAS uses from now on (the glue calls this from
 * _PG_init with modelmgr.blas_threads, default 1).  n < 1 means 1.
 */
extern void mm_blas_set_threads(int n);

/*
 * Our LAPACK/BLAS error handler, replacing OpenBLAS's weak one (which prints
 * and returns) and reference LAPACK's (which stops the process).  Formats
 * "LAPACK routine %s: parameter %d had an illegal value" and calls
 * mm_fatal(); never returns.  Fortran passes the routine name without a
 * terminator and its length last.
 */
extern void xerbla_(const char *srname, const int *info, size_t srname_len)
			__attribute__((noreturn));

/*
 * Cholesky factorization of the symmetric positive definite n x n matrix a
 * (dpotrf), in place: only the uplo ('U' or 'L') triangle is read and
 * overwritten by the factor.  A matrix that is not positive definite returns
 * MM_ERR_DATA and sets *failed_column (0-based: the leading minor of order
 * failed_column + 1 is not positive definite) when failed_column is not
 * NULL; otherwise *failed_column is set to -1.
 */
extern mm_status mm_lapack_dpotrf(char uplo, int32_t n, double *a,
								  int32_t lda, int32_t *failed_column,
								  mm_error *err);

/*
 * Solve A X = B in place of B (n x nrhs) with the Cholesky factor that
 * mm_lapack_dpotrf left in a (same uplo).
 */
extern mm_status mm_lapack_dpotrs(char uplo, int32_t n, int32_t nrhs,
								  const double *a, int32_t lda, double *b,
								  int32_t ldb, mm_error *err);

/*
 * Estimate of the reciprocal 1-norm condition number of a symmetric positive
 * definite matrix from its Cholesky factor (dpocon).  anorm is the 1-norm of
 * the original matrix.  Allocates its workspaces (3n doubles, n integers).
 */
extern mm_status mm_lapack_dpocon(char uplo, int32_t n, const double *a,
								  int32_t lda, double anorm, double *rcond,
								  mm_error *err);

/*
 * BLAS, called through the Fortran symbols of OpenBLAS.  They have no status:
 * an illegal argument is a bug and reaches xerbla_.  Column-major, as BLAS
 * wants; a row-major matrix is its transpose in column-major.  A zero m or
 * n (dsyrk: n) returns at once, as BLAS itself does.
 *
 * dsyrk: C = alpha op(A) op(A)^T + beta C on the uplo triangle of the n x n
 * matrix C; op(A) is n x k ('N') or A^T with A k x n ('T').
 */
extern void mm_blas_dsyrk(char uplo, char trans, int32_t n, int32_t k,
						  double alpha, const double *a, int32_t lda,
						  double beta, double *c, int32_t ldc);

/* dgemm: C = alpha op(A) op(B) + beta C, C m x n, op(A) m x k. */
extern void mm_blas_dgemm(char transa, char transb, int32_t m, int32_t n,
						  int32_t k, double alpha, const double *a,
						  int32_t lda, const double *b, int32_t ldb,
						  double beta, double *c, int32_t ldc);

/* dgemv: y = alpha op(A) x + beta y, A m x n. */
extern void mm_blas_dgemv(char trans, int32_t m, int32_t n, double alpha,
						  const double *a, int32_t lda, const double *x,
						  int32_t incx, double beta, double *y, int32_t incy);

#endif							/* MM_LAPACK_H */
