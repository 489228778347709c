/*
 * mm_lapack.c
 *	  Wrappers over the LAPACK routines the core uses, our xerbla_, and the
 *	  OpenBLAS thread setting.  See mm_lapack.h.
 *
 * The routines are called through the LAPACK_* macros of <lapack.h>
 * (liblapacke-dev), which also pass the hidden Fortran string lengths; the
 * symbols themselves come from OpenBLAS.  Workspaces come from mm_alloc so
 * that an error raised in the server does not leak them.
 */
#include "mm_lapack.h"

#include <cblas.h>
#include <lapack.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(lapack_int) == sizeof(int32_t),
			   "the core expects an LP64 LAPACK (32-bit lapack_int)");

/*
 * From OpenBLAS (<cblas.h> declares it too, but which cblas.h is installed
 * depends on the system's BLAS alternative).
 */
extern void openblas_set_num_threads(int num_threads);

/*
 * Turn the optimal workspace size that a query (lwork = -1) returned in
 * work[0] into a count, never less than minimum.
 */
static mm_status
WorkspaceSize(double query, lapack_int minimum, const char *routine,
			  lapack_int *lwork, mm_error *err)
{
	if (!(query >= 0.0) || query > (double) INT32_MAX)
		return mm_fail(err, MM_ERR_LIMIT,
					   "%s workspace query returned %g", routine, query);
	*lwork = (lapack_int) query;
	if (*lwork < minimum)
		*lwork = minimum;
	return MM_OK;
}

/*
 * Allocate n doubles through mm_alloc, reporting MM_ERR_NOMEM.
 */
static double *
AllocDoubles(lapack_int n, mm_error *err)
{
	size_t		bytes;
	double	   *p;

	if (!mm_size_mul((size_t) (n < 1 ? 1 : n), sizeof(double), &bytes))
	{
		mm_fail(err, MM_ERR_NOMEM, "LAPACK workspace too large");
		return NULL;
	}
	p = mm_alloc(bytes);
	if (p == NULL)
		mm_fail(err, MM_ERR_NOMEM, "out of memory for a LAPACK workspace");
	return p;
}

/*
 * Householder QR without pivoting (dgeqrf).
 */
mm_status
mm_lapack_dgeqrf(int32_t m, int32_t n, double *a, int32_t lda, double *tau,
				 mm_error *err)
{
	lapack_int	lm = m,
				ln = n,
				llda = lda,
				lwork = -1,
				info = 0;
	double		query = 0.0;
	double	   *work;
	mm_status	st;

	if (m == 0 || n == 0)
		return MM_OK;

	LAPACK_dgeqrf(&lm, &ln, a, &llda, tau, &query, &lwork, &info);
	if (info != 0)
		return mm_fail(err, MM_ERR_INTERNAL,
					   "dgeqrf workspace query failed with info %d", (int) info);
	st = WorkspaceSize(query, ln, "dgeqrf", &lwork, err);
	if (st != MM_OK)
		return st;
	work = AllocDoubles(lwork, err);
	if (work == NULL)
		return MM_ERR_NOMEM;

	LAPACK_dgeqrf(&lm, &ln, a, &llda, tau, work, &lwork, &info);
	mm_free(work);
	if (info != 0)
		return mm_fail(err, MM_ERR_INTERNAL, "dgeqrf failed with info %d",
					   (int) info);
	return MM_OK;
}

/*
 * Block size of dtpqrt for n columns: its T factor and its workspace are
 * each nb x n.  8 was the fastest or within a few percent of it for
 * p = 16, 64 and 256 in folds of 256+ rows (OpenBLAS 0.3.21, one thread);
 * 32, LAPACK's usual choice, was 15-35% slower for p <= 64.
 */
static int32_t
TpqrtBlock(int32_t n)
{
	return n < 8 ? (n < 1 ? 1 : n) : 8;
}

/* Doubles mm_lapack_dtpqrt needs for T and WORK. */
size_t
mm_lapack_dtpqrt_work_size(int32_t n)
{
	return (size_t) 2 * TpqrtBlock(n) * (size_t) (n < 1 ? 1 : n);
}

/*
 * Triangle-over-block QR (dtpqrt).  It has no workspace query: T and WORK
 * are nb x n each, carved from one allocation.
 */
mm_status
mm_lapack_dtpqrt(int32_t m, int32_t n, int32_t l, double *a, int32_t lda,
				 double *b, int32_t ldb, double *work, mm_error *err)
{
	lapack_int	lm = m,
				ln = n,
				ll = l,
				lnb = TpqrtBlock(n),
				llda = lda,
				lldb = ldb,
				info = 0;
	double	   *own = NULL;

	if (m == 0 || n == 0)
		return MM_OK;
	if (work == NULL)
	{
		size_t		count = mm_lapack_dtpqrt_work_size(n);

		if (count > (size_t) INT32_MAX)
			return mm_fail(err, MM_ERR_LIMIT, "dtpqrt workspace too large");
		own = AllocDoubles((lapack_int) count, err);
		if (own == NULL)
			return MM_ERR_NOMEM;
		work = own;
	}

	/* T is nb x n with leading dimension nb, then WORK */
	LAPACK_dtpqrt(&lm, &ln, &ll, &lnb, a, &llda, b, &lldb, work, &lnb,
				  work + (size_t) lnb * ln, &info);
	mm_free(own);
	if (info != 0)
		return mm_fail(err, MM_ERR_INTERNAL, "dtpqrt failed with info %d",
					   (int) info);
	return MM_OK;
}

/*
 * QR with column pivoting (dgeqp3).  jpvt is passed straight through, since
 * int32_t is lapack_int.
 */
mm_status
mm_lapack_dgeqp3(int32_t m, int32_t n, double *a, int32_t lda, int32_t *jpvt,
				 double *tau, mm_error *err)
{
	lapack_int	lm = m,
				ln = n,
				llda = lda,
				lwork = -1,
				info = 0;
	double		query = 0.0;
	double	   *work;
	mm_status	st;

	if (m == 0 || n == 0)
		return MM_OK;

	LAPACK_dgeqp3(&lm, &ln, a, &llda, jpvt, tau, &query, &lwork, &info);
	if (info != 0)
		return mm_fail(err, MM_ERR_INTERNAL,
					   "dgeqp3 workspace query failed with info %d", (int) info);
	/* dgeqp3 needs at least 3n + 1 */
	st = WorkspaceSize(query, 3 * ln + 1, "dgeqp3", &lwork, err);
	if (st != MM_OK)
		return st;
	work = AllocDoubles(lwork, err);
	if (work == NULL)
		return MM_ERR_NOMEM;

	LAPACK_dgeqp3(&lm, &ln, a, &llda, jpvt, tau, work, &lwork, &info);
	mm_free(work);
	if (info != 0)
		return mm_fail(err, MM_ERR_INTERNAL, "dgeqp3 failed with info %d",
					   (int) info);
	return MM_OK;
}

/*
 * Triangular solve (dtrtrs).  It needs no workspace.  info > 0 is LAPACK's
 * report of an exactly zero diagonal entry.
 */
mm_status
mm_lapack_dtrtrs(char uplo, char trans, int32_t n, int32_t nrhs,
				 const double *a, int32_t lda, double *b, int32_t ldb,
				 int32_t *zero_pivot, mm_error *err)
{
	lapack_int	ln = n,
				lnrhs = nrhs,
				llda = lda,
				lldb = ldb,
				info = 0;
	char		diag = 'N';

	if (zero_pivot)
		*zero_pivot = -1;
	if (n == 0 || nrhs == 0)
		return MM_OK;

	LAPACK_dtrtrs(&uplo, &trans, &diag, &ln, &lnrhs, a, &llda, b, &lldb,
				  &info);
	if (info > 0)
	{
		if (zero_pivot)
			*zero_pivot = (int32_t) info - 1;
		return mm_fail(err, MM_ERR_DATA,
					   "triangular factor is singular at column %d",
					   (int) info);
	}
	if (info != 0)
		return mm_fail(err, MM_ERR_INTERNAL, "dtrtrs failed with info %d",
					   (int) info);
	return MM_OK;
}

/* Pin OpenBLAS's thread count (at least 1). */
void
mm_blas_set_threads(int n)
{
	openblas_set_num_threads(n < 1 ? 1 : n);
}

/*
 * Called by LAPACK and BLAS routines on an illegal argument.  Fortran callers
 * pass the name blank-padded and unterminated, with its length as a hidden
 * size_t; OpenBLAS's C routines pass a terminated name and an int length, so
 * the upper half of srname_len may be garbage there: only its low 32 bits are
 * used, the copy stops at a NUL and is bounded, and trailing blanks go.
 *
 * Exported with default visibility so that it wins over OpenBLAS's weak
 * definition even when the module is built with -fvisibility=hidden.
 */
__attribute__((visibility("default")))
void
xerbla_(const char *srname, const int *info, size_t srname_len)
{
	char		name[32];
	char		message[MM_MSG_LEN];
	size_t		len = (size_t) (uint32_t) srname_len;
	size_t		i;

	if (srname == NULL)
		len = 0;
	if (len > sizeof(name) - 1)
		len = sizeof(name) - 1;
	for (i = 0; i < len && srname[i] != '\0'; i++)
		name[i] = srname[i];
	while (i > 0 && name[i - 1] == ' ')
		i--;
	name[i] = '\0';

	snprintf(message, sizeof(message),
			 "LAPACK routine %s: parameter %d had an illegal value",
			 i > 0 ? name : "(unknown)", info ? *info : 0);
	mm_fatal(message);
}

/*
 * Cholesky factorization (dpotrf).  info > 0 is LAPACK's report that the
 * leading minor of that order is not positive definite.
 */
mm_status
mm_lapack_dpotrf(char uplo, int32_t n, double *a, int32_t lda,
				 int32_t *failed_column, mm_error *err)
{
	lapack_int	ln = n,
				llda = lda,
				info = 0;

	if (failed_column)
		*failed_column = -1;
	if (n == 0)
		return MM_OK;

	LAPACK_dpotrf(&uplo, &ln, a, &llda, &info);
	if (info > 0)
	{
		if (failed_column)
			*failed_column = (int32_t) info - 1;
		return mm_fail(err, MM_ERR_DATA,
					   "matrix is not positive definite at column %d",
					   (int) info);
	}
	if (info != 0)
		return mm_fail(err, MM_ERR_INTERNAL, "dpotrf failed with info %d",
					   (int) info);
	return MM_OK;
}

/* Solve with a Cholesky factor (dpotrs).  It needs no workspace. */
mm_status
mm_lapack_dpotrs(char uplo, int32_t n, int32_t nrhs, const double *a,
				 int32_t lda, double *b, int32_t ldb, mm_error *err)
{
	lapack_int	ln = n,
				lnrhs = nrhs,
				llda = lda,
				lldb = ldb,
				info = 0;

	if (n == 0 || nrhs == 0)
		return MM_OK;

	LAPACK_dpotrs(&uplo, &ln, &lnrhs, a, &llda, b, &lldb, &info);
	if (info != 0)
		return mm_fail(err, MM_ERR_INTERNAL, "dpotrs failed with info %d",
					   (int) info);
	return MM_OK;
}

/*
 * Condition estimate from a Cholesky factor (dpocon).  WORK (3n doubles) and
 * IWORK (n integers) come from one allocation.
 */
mm_status
mm_lapack_dpocon(char uplo, int32_t n, const double *a, int32_t lda,
				 double anorm, double *rcond, mm_error *err)
{
	lapack_int	ln = n,
				llda = lda,
				info = 0;
	size_t		bytes;
	double	   *work;

	*rcond = 1.0;
	if (n == 0)
		return MM_OK;
	if (!mm_size_mul((size_t) n, 3 * sizeof(double) + sizeof(lapack_int),
					 &bytes))
		return mm_fail(err, MM_ERR_NOMEM, "LAPACK workspace too large");
	work = mm_alloc(bytes);
	if (work == NULL)
		return mm_fail(err, MM_ERR_NOMEM,
					   "out of memory for a LAPACK workspace");

	LAPACK_dpocon(&uplo, &ln, a, &llda, &anorm, rcond, work,
				  (lapack_int *) (work + (size_t) 3 * n), &info);
	mm_free(work);
	if (info != 0)
		return mm_fail(err, MM_ERR_INTERNAL, "dpocon failed with info %d",
					   (int) info);
	return MM_OK;
}

/*
 * BLAS through <cblas.h> (OpenBLAS's, which the build links), column-major:
 * no Fortran symbols declared by hand.
 */
static CBLAS_TRANSPOSE
cblas_trans(char t)
{
	return (t == 'T' || t == 't' || t == 'C' || t == 'c') ? CblasTrans : CblasNoTrans;
}

void
mm_blas_dsyrk(char uplo, char trans, int32_t n, int32_t k, double alpha,
			  const double *a, int32_t lda, double beta, double *c,
			  int32_t ldc)
{
	if (n == 0)
		return;
	cblas_dsyrk(CblasColMajor, (uplo == 'L' || uplo == 'l') ? CblasLower : CblasUpper,
				cblas_trans(trans), n, k, alpha, a, lda, beta, c, ldc);
}

void
mm_blas_dgemm(char transa, char transb, int32_t m, int32_t n, int32_t k,
			  double alpha, const double *a, int32_t lda, const double *b,
			  int32_t ldb, double beta, double *c, int32_t ldc)
{
	if (m == 0 || n == 0)
		return;
	cblas_dgemm(CblasColMajor, cblas_trans(transa), cblas_trans(transb), m, n, k,
				alpha, a, lda, b, ldb, beta, c, ldc);
}

void
mm_blas_dgemv(char trans, int32_t m, int32_t n, double alpha,
			  const double *a, int32_t lda, const double *x, int32_t incx,
			  double beta, double *y, int32_t incy)
{
	if (m == 0 || n == 0)
		return;
	cblas_dgemv(CblasColMajor, cblas_trans(trans), m, n, alpha, a, lda, x, incx,
				beta, y, incy);
}
