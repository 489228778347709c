/*
 * mm_linreg.c
 *	  One-pass, mergeable least squares: the state, block folds, merge,
 *	  solve, sums of squares and the state's serialized form.  See
 *	  mm_linreg.h.
 *
 * Every way rows enter a state is one "group fold": a group of n_b rows is
 * given by its mean and any matrix B whose B'B is the group's centered
 * cross-product matrix (the group's own centered rows, or its R), and
 *     R <- R of [ R ; B ; sqrt(n_a n_b / (n_a + n_b)) (mean_a - mean_b)' ]
 *     mean <- mean_a + (mean_b - mean_a) n_b / (n_a + n_b)
 * The QR is LAPACK's dtpqrt, the Householder QR of a triangle stacked on a
 * block: it updates R in place at cost 2 m k^2 for m new rows, so neither
 * the stacked matrix nor a re-factoring of R is needed.
 *
 * Pending rows wait in a row-major block (one contiguous copy per row).
 * A full block is folded one of two ways, with the same result up to
 * rounding:
 *  - Householder: the block is copied column-major, centered on its own
 *    mean and folded as a group by dtpqrt, as above.
 *  - Whitened: once R summarizes many more rows than the block holds, the
 *    rows are stored minus the running means (B, with mean delta), and
 *        W = B R^-1,  R <- chol(I + W'W - (m^2 / (n_a + m)) wbar wbar') R
 *    with wbar = delta R^-1, which is R_new' R_new = R'R + (the block's
 *    centered cross-products) + d d', the same update.  W and W'W are two
 *    dgemm calls (level-3 BLAS near the machine's peak, several times the
 *    speed of dtpqrt's level-2 panels on the narrow matrices of linear
 *    models), the rest is O(k^3) per block.  Its rounding errors act as a
 *    perturbation of each new row b of at most c u (|b| |R^-1| |R|), so it
 *    is taken only when that bound stays within a small factor of the
 *    columns' scales (R well conditioned column by column) and the block
 *    weighs at most as much as the rows already folded (in whitened units:
 *    the Cholesky factor is then perfectly conditioned).  The fold is in
 *    mm_linreg_whiten.c.
 *    Measured against quad-precision references on 200,000-row problems
 *    (correlated, badly scaled, nearly collinear pairs), its coefficients
 *    were as accurate as Householder's or more; multiplying B'B out first
 *    instead (one dgemm fewer) lost up to two digits on the collinear pairs.
 * The first blocks, collinear or badly scaled columns such as the NIST
 * problems, and a block far from the earlier rows go the Householder way;
 * after each fold the state decides how the next block's rows are stored
 * (shifted only when the whitened fold is expected to take them).
 * Serialization folds pending rows the same way as a flush, so a state and
 * its text form finalize to the same bits.
 *
 * Solving works on the triangle alone.  Rank is judged on R_xx with unit
 * column norms, by QR with column pivoting; the triangular solve uses R_xx
 * with columns scaled by powers of two (exact, so the scaling only guards
 * against overflow and underflow).  Ridge and the model without intercept
 * are one more dtpqrt update of a copy of R each.
 */
#include "mm_linreg.h"

#include <float.h>
#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "mm_lapack.h"
#include "mm_linreg_internal.h"
#include "mm_linreg_whiten.h"

/* "MMLS" in stream order, read as a little-endian u32 */
#define LINREG_MAGIC		0x534C4D4Du
#define LINREG_VERSION		1

/* Target for the default block's size in bytes (see mm_linreg_default_block) */
#define BLOCK_BYTES_TARGET	((int64_t) 4 * 1024 * 1024)

/* Doubles of scratch a fold keeps on the stack before using mm_alloc */
#define LOCAL_DOUBLES		4096


/*
 * Default block rows: 4 (p + 1) and at least 256, so that the fixed cost of
 * a fold (the d row, O(k^2)) is spread over many rows, but no more than fits
 * in BLOCK_BYTES_TARGET, which keeps the aggregate state small per group
 * (37 kB for p = 16).  Since dtpqrt never re-factors R, a block narrower than
 * R costs little: p = 512 ran as fast with 128-row blocks as with 1022.
 */
int32_t
mm_linreg_default_block(int32_t p)
{
	int64_t		k;
	int64_t		cap;
	int64_t		limit;

	if (p < 1)
		p = 1;
	if (p > MM_LINREG_MAX_FEATURES)
		p = MM_LINREG_MAX_FEATURES;
	k = (int64_t) p + 1;
	cap = 4 * k;
	if (cap < 256)
		cap = 256;
	limit = BLOCK_BYTES_TARGET / ((int64_t) sizeof(double) * k);
	if (cap > limit)
		cap = limit;
	return (int32_t) cap;
}

/*
 * The state's size: the header, then k means, the k x k triangle and the
 * cap x k block.  The block capacity is also bounded so that every matrix
 * handed to LAPACK has its dimensions inside a 32-bit lapack_int.
 */
size_t
mm_linreg_state_size(int32_t p, int32_t block_cap)
{
	size_t		k;
	size_t		doubles;
	size_t		tmp;
	size_t		bytes;

	if (p < 1 || p > MM_LINREG_MAX_FEATURES || block_cap < 1)
		return 0;
	if ((int64_t) block_cap + 2 * ((int64_t) p + 1) + 2 > INT32_MAX)
		return 0;
	k = (size_t) p + 1;
	if (!mm_size_mul(k, k, &doubles) ||
		!mm_size_add(doubles, k, &doubles) ||
		!mm_size_mul((size_t) block_cap, k, &tmp) ||
		!mm_size_add(doubles, tmp, &doubles) ||
		!mm_size_mul(doubles, sizeof(double), &bytes) ||
		!mm_size_add(bytes, offsetof(mm_linreg_state, data), &bytes))
		return 0;
	return bytes;
}

/*
 * Everything after the container's length word is written: counts, zero
 * means and R, and a zeroed block (so that the whole varlena is defined
 * bytes when the glue copies or hashes it).
 */
void
mm_linreg_init(mm_linreg_state *s, int32_t p, int32_t block_cap)
{
	size_t		k = (size_t) p + 1;

	s->p = p;
	s->block_cap = block_cap;
	s->block_n = 0;
	s->n = 0;
	s->block_shifted = 0;
	s->reserved = 0;
	memset(s->data, 0, (k + k * k + (size_t) block_cap * k) * sizeof(double));
}

/* Rows summarized so far, folded or pending. */
int64_t
mm_linreg_rows(const mm_linreg_state *s)
{
	return s->n + s->block_n;
}

/*
 * Scratch memory that lives on the stack when small.
 */
typedef struct Scratch
{
	double	   *heap;
	double		local[LOCAL_DOUBLES];
} Scratch;

/* count doubles: the local array when they fit, else mm_alloc. */
static double *
ScratchGet(Scratch *sc, size_t count, mm_error *err)
{
	size_t		bytes;

	sc->heap = NULL;
	if (count <= LOCAL_DOUBLES)
		return sc->local;
	if (!mm_size_mul(count, sizeof(double), &bytes))
	{
		mm_fail(err, MM_ERR_NOMEM, "linear regression workspace too large");
		return NULL;
	}
	sc->heap = mm_alloc(bytes);
	if (sc->heap == NULL)
		mm_fail(err, MM_ERR_NOMEM,
				"out of memory for a linear regression workspace");
	return sc->heap;
}

/* Free what ScratchGet allocated, if anything. */
static void
ScratchRelease(Scratch *sc)
{
	mm_free(sc->heap);
	sc->heap = NULL;
}

/* Doubles a group fold needs: the d row and dtpqrt's T and work. */
static size_t
FoldWorkSize(int32_t k)
{
	return (size_t) k + mm_lapack_dtpqrt_work_size(k);
}

/*
 * Center the m x k matrix b (leading dimension ldb) on its column means in
 * place and return the means.  The mean is the plain one corrected by the
 * mean of the first residuals, so it is accurate to a few ulps of the
 * column's spread rather than of its size; an exactly constant column comes
 * out exactly zero with its exact value as mean.  Columns go four at a
 * time, each summed in row order as on its own: four independent chains
 * keep the adder busy, and every column gets the same bits as alone.
 */
static void
CenterColumns(double *b, int32_t ldb, int32_t m, int32_t k, double *mean)
{
	int32_t		i,
				j = 0;

	for (; j + 4 <= k; j += 4)
	{
		double	   *c0 = b + (size_t) j * ldb;
		double	   *c1 = c0 + ldb;
		double	   *c2 = c1 + ldb;
		double	   *c3 = c2 + ldb;
		double		s0 = 0.0,
					s1 = 0.0,
					s2 = 0.0,
					s3 = 0.0;
		double		r0 = 0.0,
					r1 = 0.0,
					r2 = 0.0,
					r3 = 0.0;
		double		mu0,
					mu1,
					mu2,
					mu3;

		for (i = 0; i < m; i++)
		{
			s0 += c0[i];
			s1 += c1[i];
			s2 += c2[i];
			s3 += c3[i];
		}
		mu0 = s0 / m;
		mu1 = s1 / m;
		mu2 = s2 / m;
		mu3 = s3 / m;
		for (i = 0; i < m; i++)
		{
			c0[i] -= mu0;
			r0 += c0[i];
			c1[i] -= mu1;
			r1 += c1[i];
			c2[i] -= mu2;
			r2 += c2[i];
			c3[i] -= mu3;
			r3 += c3[i];
		}
		mean[j] = mu0;
		mean[j + 1] = mu1;
		mean[j + 2] = mu2;
		mean[j + 3] = mu3;
		if (r0 != 0.0 || r1 != 0.0 || r2 != 0.0 || r3 != 0.0)
		{
			double		d0 = r0 / m,
						d1 = r1 / m,
						d2 = r2 / m,
						d3 = r3 / m;

			for (i = 0; i < m; i++)
			{
				c0[i] -= d0;
				c1[i] -= d1;
				c2[i] -= d2;
				c3[i] -= d3;
			}
			mean[j] += d0;
			mean[j + 1] += d1;
			mean[j + 2] += d2;
			mean[j + 3] += d3;
		}
	}
	for (; j < k; j++)
	{
		double	   *col = b + (size_t) j * ldb;
		double		sum = 0.0;
		double		mu;
		double		resid = 0.0;

		for (i = 0; i < m; i++)
			sum += col[i];
		mu = sum / m;
		for (i = 0; i < m; i++)
		{
			col[i] -= mu;
			resid += col[i];
		}
		if (resid != 0.0)
		{
			double		c = resid / m;

			for (i = 0; i < m; i++)
				col[i] -= c;
			mu += c;
		}
		mean[j] = mu;
	}
}

/*
 * (n, mean) <- the count and mean of (n, mean) and a group of n_b rows whose
 * mean is mean + delta (with n = 0, delta is the group's mean).
 */
static void
UpdateMean(int32_t k, int64_t *n, double *mean, int64_t n_b,
		   const double *delta)
{
	int64_t		n_a = *n;
	double		w = (double) n_b / ((double) n_a + (double) n_b);
	int32_t		j;

	for (j = 0; j < k; j++)
		mean[j] = n_a > 0 ? mean[j] + delta[j] * w : delta[j];
	*n = n_a + n_b;
}

/*
 * Fold a group into (n, mean, R): the group has n_b rows, mean
 * mean + delta, and b (m x k, leading dimension ldb) with b'b equal to its
 * centered cross-product matrix.  b is destroyed.  work holds FoldWorkSize(k)
 * doubles.  It cannot fail once it has changed anything.
 */
static mm_status
FoldGroup(int32_t k, int64_t *n, double *mean, double *R, int64_t n_b,
		  const double *delta, double *b, int32_t ldb, int32_t m,
		  double *work, mm_error *err)
{
	int64_t		n_a = *n;
	mm_status	st;
	int32_t		j;

	if (n_b <= 0)
		return MM_OK;
	if (n_a > INT64_MAX - n_b)
		return mm_fail(err, MM_ERR_LIMIT, "too many rows");

	st = mm_lapack_dtpqrt(m, k, 0, R, k, b, ldb, work + k, err);
	if (st != MM_OK)
		return st;

	if (n_a > 0)
	{
		double	   *d = work;
		double		scale = sqrt((double) n_a *
								 ((double) n_b / ((double) n_a + (double) n_b)));

		for (j = 0; j < k; j++)
			d[j] = scale * delta[j];
		st = mm_lapack_dtpqrt(1, k, 0, R, k, d, 1, work + k, err);
		if (st != MM_OK)
			return st;
	}

	UpdateMean(k, n, mean, n_b, delta);
	return MM_OK;
}

/*
 * Copy m pending rows (row-major, k values each) into b, m x k and
 * column-major (leading dimension m), as LAPACK wants them.
 */
static void
TransposeRows(const double *rows, int32_t m, int32_t k, double *b)
{
	int32_t		i,
				j;

	for (i = 0; i < m; i++)
	{
		const double *r = rows + (size_t) i * k;

		for (j = 0; j < k; j++)
			b[(size_t) j * m + i] = r[j];
	}
}

/* Doubles FoldPendingQR needs for m rows. */
static size_t
PendingQRWorkSize(int32_t k, int32_t m)
{
	return (size_t) m * k + k + FoldWorkSize(k);
}

/*
 * Fold m pending rows (row-major; see mm_linreg_add for their shift) into
 * (n, mean, R) by Householder QR: transposed into work, centered on their
 * own mean there, and folded as a group.  The rows themselves are left
 * alone.  The group's mean is offset + the mean of the rows; offset (k
 * values, or NULL for zeros) must make that relative to mean, or absolute
 * when n is 0.  work holds PendingQRWorkSize(k, m) doubles.
 */
static mm_status
FoldPendingQR(int32_t k, int64_t *n, double *mean, double *R,
			  const double *rows, int32_t m, const double *offset,
			  double *work, mm_error *err)
{
	double	   *b = work;
	double	   *delta = b + (size_t) m * k;
	int32_t		j;

	if (m <= 0)
		return MM_OK;
	if (*n > INT64_MAX - m)
		return mm_fail(err, MM_ERR_LIMIT, "too many rows");
	TransposeRows(rows, m, k, b);
	CenterColumns(b, m, m, k, delta);
	if (offset != NULL)
		for (j = 0; j < k; j++)
			delta[j] += offset[j];
	/* a single row centers to zero: only its d row carries it */
	return FoldGroup(k, n, mean, R, m, delta, b, m, m == 1 ? 0 : m,
					 delta + k, err);
}

/*
 * Fold a state's own pending rows into (n, mean, R) -- the state's own, or
 * copies of them (serialization) -- so that both give the same bits: by
 * the whitened fold when the rows are stored shifted, the whitened scratch
 * could be had and R and the block pass its guards, else by Householder
 * QR.  Then *next_shifted says how the next block's rows are best stored:
 * shifted by the means when the whitened fold is likely to take them (it
 * needs them so, and then needs no centering pass), as given otherwise
 * (Householder QR centers them itself, with one rounding fewer).  The rows
 * are not changed.
 */
static mm_status
FoldOwnPending(const mm_linreg_state *s, int64_t *n, double *mean, double *R,
			   bool *next_shifted, mm_error *err)
{
	int32_t		k = MM_LINREG_K(s);
	int32_t		m = s->block_n;
	const double *rows = MM_LINREG_BLOCK(s);
	size_t		qr_count = PendingQRWorkSize(k, m) + k;
	size_t		whiten_count;
	Scratch		sc;
	double	   *work;
	mm_whiten_work w;
	mm_status	st;
	int32_t		j;

	*next_shifted = false;
	if (m == 0)
		return MM_OK;
	if (*n > INT64_MAX - m)
		return mm_fail(err, MM_ERR_LIMIT, "too many rows");
	whiten_count = mm_linreg_whiten_work_size(k, m, *n + m);
	work = ScratchGet(&sc, qr_count > whiten_count ? qr_count : whiten_count, err);
	if (work == NULL && whiten_count > qr_count)
	{
		/* the whitened fold is only an optimization: do without */
		mm_error_clear(err);
		whiten_count = 0;
		work = ScratchGet(&sc, qr_count, err);
	}
	if (work == NULL)
		return MM_ERR_NOMEM;
	mm_linreg_whiten_layout(k, work, &w);
	if (whiten_count > 0 && s->block_shifted && *n > 0 &&
		mm_linreg_whiten_ready(k, R, &w) &&
		mm_linreg_whiten_fold(k, *n, R, rows, m, &w))
	{
		UpdateMean(k, n, mean, m, w.delta);
		*next_shifted = true;
		ScratchRelease(&sc);
		return MM_OK;
	}
	if (s->block_shifted || *n == 0)
		st = FoldPendingQR(k, n, mean, R, rows, m, NULL, work, err);
	else
	{
		double	   *offset = work + PendingQRWorkSize(k, m);

		for (j = 0; j < k; j++)
			offset[j] = -mean[j];
		st = FoldPendingQR(k, n, mean, R, rows, m, offset, work, err);
	}
	if (st == MM_OK)
		*next_shifted = whiten_count > 0 &&
			mm_linreg_whiten_work_size(k, s->block_cap, *n) > 0 &&
			mm_linreg_whiten_ready(k, R, &w);
	ScratchRelease(&sc);
	return st;
}

/*
 * Poll the interrupt callback; callers do so before a fold changes anything,
 * so an interrupted state stays consistent (the glue raises the interrupt,
 * but unit tests and retries may carry on with it).
 */
static mm_status
CheckStop(mm_error *err)
{
	if (mm_should_stop())
		return mm_fail(err, MM_ERR_INTERRUPTED, "canceled");
	return MM_OK;
}

/*
 * Copy x[0..p) to dst, minus mean when mean is not NULL, and return a sum
 * of the x (in some order): NaN or infinite when one of them is, finite
 * otherwise unless it overflows.  Two doubles at a time where SSE2 is there
 * (every x86-64), which halves the per-row cost of the aggregate's copy;
 * the stored values are the same either way.
 */
static inline double
CopyRow(double *restrict dst, const double *restrict x,
		const double *restrict mean, int32_t p)
{
	int32_t		j = 0;
	double		sum;
#if defined(__SSE2__)
	__m128d		a0 = _mm_setzero_pd(),
				a1 = _mm_setzero_pd();

	if (mean != NULL)
		for (; j + 4 <= p; j += 4)
		{
			__m128d		v0 = _mm_loadu_pd(x + j);
			__m128d		v1 = _mm_loadu_pd(x + j + 2);

			a0 = _mm_add_pd(a0, v0);
			a1 = _mm_add_pd(a1, v1);
			_mm_storeu_pd(dst + j, _mm_sub_pd(v0, _mm_loadu_pd(mean + j)));
			_mm_storeu_pd(dst + j + 2, _mm_sub_pd(v1, _mm_loadu_pd(mean + j + 2)));
		}
	else
		for (; j + 4 <= p; j += 4)
		{
			__m128d		v0 = _mm_loadu_pd(x + j);
			__m128d		v1 = _mm_loadu_pd(x + j + 2);

			a0 = _mm_add_pd(a0, v0);
			a1 = _mm_add_pd(a1, v1);
			_mm_storeu_pd(dst + j, v0);
			_mm_storeu_pd(dst + j + 2, v1);
		}
	a0 = _mm_add_pd(a0, a1);
	sum = _mm_cvtsd_f64(a0) + _mm_cvtsd_f64(_mm_unpackhi_pd(a0, a0));
#else
	double		s0 = 0.0,
				s1 = 0.0,
				s2 = 0.0,
				s3 = 0.0;

	for (; j + 4 <= p; j += 4)
	{
		s0 += x[j];
		s1 += x[j + 1];
		s2 += x[j + 2];
		s3 += x[j + 3];
		if (mean != NULL)
		{
			dst[j] = x[j] - mean[j];
			dst[j + 1] = x[j + 1] - mean[j + 1];
			dst[j + 2] = x[j + 2] - mean[j + 2];
			dst[j + 3] = x[j + 3] - mean[j + 3];
		}
		else
		{
			dst[j] = x[j];
			dst[j + 1] = x[j + 1];
			dst[j + 2] = x[j + 2];
			dst[j + 3] = x[j + 3];
		}
	}
	sum = (s0 + s1) + (s2 + s3);
#endif
	for (; j < p; j++)
	{
		sum += x[j];
		dst[j] = mean != NULL ? x[j] - mean[j] : x[j];
	}
	return sum;
}

/*
 * The per-row hot path: k contiguous stores and a counter.  A block left
 * full by an interrupted fold is folded before the row goes in.  When the
 * next fold is expected to be a whitened one (block_shifted, see
 * FoldBlock), the row is stored minus the running means, which change only
 * when rows are folded, so the whole block is shifted by the same means:
 * the whitened fold then needs no centering pass of its own.
 */
mm_status
mm_linreg_add(mm_linreg_state *s, const double *x, double y, mm_error *err)
{
	int32_t		p = s->p;
	const double *mean = MM_LINREG_MEAN(s);
	double	   *dst;

	if (s->block_n >= s->block_cap)
	{
		mm_status	st = mm_linreg_flush(s, err);

		if (st != MM_OK)
			return st;
	}
	dst = MM_LINREG_BLOCK(s) + (size_t) s->block_n * (p + 1);
	(void) CopyRow(dst, x, s->block_shifted ? mean : NULL, p);
	dst[p] = s->block_shifted ? y - mean[p] : y;
	if (++s->block_n == s->block_cap)
		return mm_linreg_flush(s, err);
	return MM_OK;
}

/*
 * mm_linreg_add with the finiteness check folded into the copy: a NaN or an
 * infinity makes the sum that CopyRow returns, plus y, NaN or infinite;
 * finite values give a finite total unless it overflows, in which case the
 * values are looked at one by one.  The row is only counted once it passed.
 */
mm_status
mm_linreg_add_checked(mm_linreg_state *s, const double *x, double y,
					  mm_error *err)
{
	int32_t		p = s->p;
	const double *mean = MM_LINREG_MEAN(s);
	double	   *dst;
	double		sum;

	if (s->block_n >= s->block_cap)
	{
		mm_status	st = mm_linreg_flush(s, err);

		if (st != MM_OK)
			return st;
	}
	dst = MM_LINREG_BLOCK(s) + (size_t) s->block_n * (p + 1);
	sum = CopyRow(dst, x, s->block_shifted ? mean : NULL, p);
	dst[p] = s->block_shifted ? y - mean[p] : y;
	if (!isfinite(sum + y))
	{
		bool		finite = isfinite(y);

		for (int32_t j = 0; j < p && finite; j++)
			finite = isfinite(x[j]);
		if (!finite)
			return mm_fail(err, MM_ERR_DATA, "a value is NaN or infinite");
	}
	if (++s->block_n == s->block_cap)
		return mm_linreg_flush(s, err);
	return MM_OK;
}

/*
 * Copy src's rows (folded and pending) into dst, a state initialized with
 * the same p and room for src's pending rows (its block may be larger).
 */
void
mm_linreg_copy(mm_linreg_state *dst, const mm_linreg_state *src)
{
	size_t		k = (size_t) MM_LINREG_K(src);

	dst->n = src->n;
	dst->block_n = src->block_n;
	dst->block_shifted = src->block_shifted;
	memcpy(MM_LINREG_MEAN(dst), MM_LINREG_MEAN(src), (k + k * k) * sizeof(double));
	memcpy(MM_LINREG_BLOCK(dst), MM_LINREG_BLOCK(src),
		   (size_t) src->block_n * k * sizeof(double));
}

/*
 * Fold the pending rows, after polling should_stop.  The block itself is
 * only read, so a failed fold leaves the state as it was.
 */
mm_status
mm_linreg_flush(mm_linreg_state *s, mm_error *err)
{
	bool		shifted;
	mm_status	st;

	if (s->block_n == 0)
		return MM_OK;
	st = CheckStop(err);
	if (st != MM_OK)
		return st;
	st = FoldOwnPending(s, &s->n, MM_LINREG_MEAN(s), MM_LINREG_R(s), &shifted, err);
	if (st == MM_OK)
	{
		s->block_n = 0;
		s->block_shifted = shifted ? 1 : 0;
	}
	return st;
}

/*
 * Allocate count doubles for the copies that merge and serialize fold.
 */
static double *
AllocWork(size_t count, mm_error *err)
{
	double	   *p;

	if (count > SIZE_MAX / sizeof(double))
	{
		mm_fail(err, MM_ERR_NOMEM, "linear regression state too large");
		return NULL;
	}
	p = mm_alloc(count * sizeof(double));
	if (p == NULL)
		mm_fail(err, MM_ERR_NOMEM,
				"out of memory for a linear regression workspace");
	return p;
}

/*
 * Fold src's triangle into (n, mean, R) as one group, through a copy (the
 * triangle is the group's B: its zeros below the diagonal are harmless).
 */
static mm_status
FoldTriangleOf(int32_t k, int64_t *n, double *mean, double *R,
			   const mm_linreg_state *src, mm_error *err)
{
	double	   *buf;
	double	   *delta;
	mm_status	st;
	int32_t		j;

	if (src->n == 0)
		return MM_OK;
	buf = AllocWork((size_t) k * k + k + FoldWorkSize(k), err);
	if (buf == NULL)
		return MM_ERR_NOMEM;
	memcpy(buf, MM_LINREG_R(src), (size_t) k * k * sizeof(double));
	delta = buf + (size_t) k * k;
	for (j = 0; j < k; j++)
		delta[j] = *n > 0 ? MM_LINREG_MEAN(src)[j] - mean[j] : MM_LINREG_MEAN(src)[j];
	st = FoldGroup(k, n, mean, R, src->n, delta, buf, k, k,
				   delta + k, err);
	mm_free(buf);
	return st;
}

/*
 * Fold src's pending rows into (n, mean, R) through a copy, leaving src
 * as it is.  Their group mean, relative to mean (or absolute when n is 0),
 * is offset + their own mean, with src's means in offset when the rows are
 * stored shifted.
 */
static mm_status
FoldPendingOf(int32_t k, int64_t *n, double *mean, double *R,
			  const mm_linreg_state *src, mm_error *err)
{
	int32_t		m = src->block_n;
	double	   *buf;
	double	   *offset;
	mm_status	st;
	int32_t		j;

	if (m == 0)
		return MM_OK;
	buf = AllocWork(PendingQRWorkSize(k, m) + k, err);
	if (buf == NULL)
		return MM_ERR_NOMEM;
	offset = buf + PendingQRWorkSize(k, m);
	for (j = 0; j < k; j++)
	{
		double		shift = src->block_shifted ? MM_LINREG_MEAN(src)[j] : 0.0;

		offset[j] = *n > 0 ? shift - mean[j] : shift;
	}
	st = FoldPendingQR(k, n, mean, R, MM_LINREG_BLOCK(src), m, offset, buf, err);
	mm_free(buf);
	return st;
}

/*
 * Merge: flush dst, then fold src's triangle and src's pending rows in as
 * two groups.  src is read only (copies are factored).  should_stop is
 * polled before src is touched, so an interrupted merge leaves dst either
 * as it was or flushed, never half-merged.
 */
mm_status
mm_linreg_merge(mm_linreg_state *dst, const mm_linreg_state *src,
				mm_error *err)
{
	mm_status	st;

	if (dst->p != src->p)
		return mm_fail(err, MM_ERR_INVALID,
					   "cannot merge linear regression states with %d and %d features",
					   (int) dst->p, (int) src->p);
	st = mm_linreg_flush(dst, err);
	if (st == MM_OK && (src->n > 0 || src->block_n > 0))
		st = CheckStop(err);
	if (st == MM_OK)
		st = FoldTriangleOf(MM_LINREG_K(dst), &dst->n, MM_LINREG_MEAN(dst),
							MM_LINREG_R(dst), src, err);
	if (st == MM_OK)
		st = FoldPendingOf(MM_LINREG_K(dst), &dst->n, MM_LINREG_MEAN(dst),
						   MM_LINREG_R(dst), src, err);
	return st;
}

/*
 * Layout (little-endian): u32 magic "MMLS", u8 version, 3 zero bytes, u32 p,
 * i64 n, k f64 means, then R's upper triangle column by column (k (k+1) / 2
 * f64).  Pending rows are folded into copies of mean and R first, as
 * mm_linreg_flush would fold them (so a state and its serialized form
 * finalize to the same bits).  A state whose sums overflowed is refused
 * here (MM_ERR_DATA), since parse would refuse its bytes as corrupt.
 */
mm_status
mm_linreg_serialize(const mm_linreg_state *s, mm_buf *out, mm_error *err)
{
	int32_t		k = MM_LINREG_K(s);
	int64_t		n = s->n;
	const double *mean = MM_LINREG_MEAN(s);
	const double *R = MM_LINREG_R(s);
	double	   *copy = NULL;
	bool		shifted;
	int32_t		i,
				j;

	if (s->block_n > 0)
	{
		size_t		count = (size_t) k + (size_t) k * k;
		mm_status	st;

		copy = AllocWork(count, err);
		if (copy == NULL)
			return MM_ERR_NOMEM;
		memcpy(copy, s->data, count * sizeof(double));
		/* as a flush would fold them, so the text form finalizes alike */
		st = FoldOwnPending(s, &n, copy, copy + k, &shifted, err);
		if (st != MM_OK)
		{
			mm_free(copy);
			return st;
		}
		mean = copy;
		R = copy + k;
	}
	if (!mm_linreg_stats_finite(s->p, mean, R))
	{
		mm_free(copy);
		return mm_linreg_fail_not_finite(err);
	}

	mm_buf_put_u32(out, LINREG_MAGIC);
	mm_buf_put_u8(out, LINREG_VERSION);
	mm_buf_put_u8(out, 0);
	mm_buf_put_u8(out, 0);
	mm_buf_put_u8(out, 0);
	mm_buf_put_u32(out, (uint32_t) s->p);
	mm_buf_put_i64(out, n);
	for (j = 0; j < k; j++)
		mm_buf_put_f64(out, mean[j]);
	for (j = 0; j < k; j++)
		for (i = 0; i <= j; i++)
			mm_buf_put_f64(out, R[(size_t) j * k + i]);
	mm_free(copy);
	if (out->failed)
		return mm_fail(err, MM_ERR_NOMEM,
					   "out of memory serializing a linear regression state");
	return MM_OK;
}

/*
 * Parse the serialized form, trusting nothing: magic, version, reserved
 * bytes, p's range, n >= 0, the exact length, finite values, and an empty
 * state (n = 0) being all zeros.  The new state gets block_cap rows of
 * block (0 = the default) and is allocated with mm_alloc; its container
 * word is zero.
 */
mm_status
mm_linreg_parse(const void *data, size_t len, int32_t block_cap,
				mm_linreg_state **out, mm_error *err)
{
	mm_reader	r;
	uint32_t	magic;
	uint8_t		version;
	uint8_t		reserved[3];
	uint32_t	p;
	int64_t		n;
	size_t		k;
	size_t		values;
	size_t		size;
	mm_linreg_state *s;
	double	   *mean;
	double	   *R;
	size_t		i,
				j;

	*out = NULL;
	if (data == NULL && len > 0)
		return mm_fail(err, MM_ERR_CORRUPT, "invalid linear regression state");
	mm_reader_init(&r, data, len);
	if (!mm_get_u32(&r, &magic) || !mm_get_u8(&r, &version) ||
		!mm_get_bytes(&r, reserved, sizeof(reserved)) ||
		!mm_get_u32(&r, &p) || !mm_get_i64(&r, &n))
		return mm_fail(err, MM_ERR_CORRUPT,
					   "invalid linear regression state: truncated header");
	if (magic != LINREG_MAGIC)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "invalid linear regression state: bad magic number");
	if (version != LINREG_VERSION)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "invalid linear regression state: unsupported version %u",
					   (unsigned) version);
	if (reserved[0] != 0 || reserved[1] != 0 || reserved[2] != 0)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "invalid linear regression state: reserved bytes are not zero");
	if (p < 1 || p > MM_LINREG_MAX_FEATURES)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "invalid linear regression state: %u features", p);
	if (n < 0)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "invalid linear regression state: negative row count");

	k = (size_t) p + 1;
	values = k + k * (k + 1) / 2;
	if (mm_reader_remaining(&r) / sizeof(double) != values ||
		mm_reader_remaining(&r) % sizeof(double) != 0)
		return mm_fail(err, MM_ERR_CORRUPT,
					   "invalid linear regression state: %zu bytes for %u features",
					   len, p);

	if (block_cap < 0)
		return mm_fail(err, MM_ERR_INVALID, "block capacity must be >= 0");
	if (block_cap == 0)
		block_cap = mm_linreg_default_block((int32_t) p);
	size = mm_linreg_state_size((int32_t) p, block_cap);
	if (size == 0)
		return mm_fail(err, MM_ERR_INVALID,
					   "block capacity %d is out of range", (int) block_cap);
	s = mm_alloc(size);
	if (s == NULL)
		return mm_fail(err, MM_ERR_NOMEM,
					   "out of memory for a linear regression state");
	s->container_header = 0;
	mm_linreg_init(s, (int32_t) p, block_cap);
	s->n = n;
	mean = MM_LINREG_MEAN(s);
	R = MM_LINREG_R(s);

	for (j = 0; j < k; j++)
	{
		if (!mm_get_f64(&r, &mean[j]) || !isfinite(mean[j]) ||
			(n == 0 && mean[j] != 0.0))
			goto bad_value;
	}
	for (j = 0; j < k; j++)
	{
		for (i = 0; i <= j; i++)
		{
			double	   *v = &R[j * k + i];

			if (!mm_get_f64(&r, v) || !isfinite(*v) ||
				(n == 0 && *v != 0.0))
				goto bad_value;
		}
	}
	*out = s;
	return MM_OK;

bad_value:
	mm_free(s);
	return mm_fail(err, MM_ERR_CORRUPT,
				   n == 0 ?
				   "invalid linear regression state: nonzero or non-finite value in an empty state" :
				   "invalid linear regression state: non-finite value");
}
