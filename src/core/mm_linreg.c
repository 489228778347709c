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
 * the stacked matrix nor a re-factoring of R is needed, and the block fold
 * of mm_linreg_add centers the block in place and allocates nothing for
 * up to LOCAL_DOUBLES of scratch (p up to 226 features).
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

#include "mm_lapack.h"
#include "mm_linreg_internal.h"

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
 * out exactly zero with its exact value as mean.
 */
static void
CenterColumns(double *b, int32_t ldb, int32_t m, int32_t k, double *mean)
{
	int32_t		i,
				j;

	for (j = 0; j < k; j++)
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
 * Fold a group into (n, mean, R): the group has n_b rows, mean mean_b, and
 * b (m x k, leading dimension ldb) with b'b equal to its centered
 * cross-product matrix.  b is destroyed.  work holds FoldWorkSize(k)
 * doubles.  It cannot fail once it has changed anything.
 */
static mm_status
FoldGroup(int32_t k, int64_t *n, double *mean, double *R, int64_t n_b,
		  const double *mean_b, double *b, int32_t ldb, int32_t m,
		  double *work, mm_error *err)
{
	int64_t		n_a = *n;
	double		w;
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
			d[j] = scale * (mean[j] - mean_b[j]);
		st = mm_lapack_dtpqrt(1, k, 0, R, k, d, 1, work + k, err);
		if (st != MM_OK)
			return st;
	}

	w = (double) n_b / ((double) n_a + (double) n_b);
	for (j = 0; j < k; j++)
		mean[j] = n_a > 0 ? mean[j] + (mean_b[j] - mean[j]) * w : mean_b[j];
	*n = n_a + n_b;
	return MM_OK;
}

/*
 * Center m raw rows (b, leading dimension ldb; destroyed) and fold them in.
 * work holds k + FoldWorkSize(k) doubles.  A single row centers to zero:
 * only its d row carries it, so the block's QR is skipped.
 */
static mm_status
FoldRows(int32_t k, int64_t *n, double *mean, double *R, double *b,
		 int32_t ldb, int32_t m, double *work, mm_error *err)
{
	double	   *mean_b = work;

	if (m <= 0)
		return MM_OK;
	if (*n > INT64_MAX - m)
		return mm_fail(err, MM_ERR_LIMIT, "too many rows");
	CenterColumns(b, ldb, m, k, mean_b);
	return FoldGroup(k, n, mean, R, m, mean_b, b, ldb, m == 1 ? 0 : m,
					 work + k, err);
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
 * The per-row hot path: k stores and a counter.  A block left full by an
 * interrupted fold is folded before the row goes in.
 */
mm_status
mm_linreg_add(mm_linreg_state *s, const double *x, double y, mm_error *err)
{
	int32_t		p = s->p;
	size_t		cap = (size_t) s->block_cap;
	double	   *dst;
	int32_t		j;

	if (s->block_n >= s->block_cap)
	{
		mm_status	st = mm_linreg_flush(s, err);

		if (st != MM_OK)
			return st;
	}
	dst = MM_LINREG_BLOCK(s) + s->block_n;
	for (j = 0; j < p; j++)
		dst[j * cap] = x[j];
	dst[p * cap] = y;
	if (++s->block_n == s->block_cap)
		return mm_linreg_flush(s, err);
	return MM_OK;
}

/*
 * Fold the pending rows in place (the block is centered where it lies),
 * after polling should_stop.
 */
mm_status
mm_linreg_flush(mm_linreg_state *s, mm_error *err)
{
	int32_t		k = MM_LINREG_K(s);
	Scratch		sc;
	double	   *work;
	mm_status	st;

	if (s->block_n == 0)
		return MM_OK;
	st = CheckStop(err);
	if (st != MM_OK)
		return st;
	work = ScratchGet(&sc, (size_t) k + FoldWorkSize(k), err);
	if (work == NULL)
		return MM_ERR_NOMEM;
	st = FoldRows(k, &s->n, MM_LINREG_MEAN(s), MM_LINREG_R(s),
				  MM_LINREG_BLOCK(s), s->block_cap, s->block_n, work, err);
	ScratchRelease(&sc);
	if (st == MM_OK)
		s->block_n = 0;
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
	mm_status	st;

	if (src->n == 0)
		return MM_OK;
	buf = AllocWork((size_t) k * k + FoldWorkSize(k), err);
	if (buf == NULL)
		return MM_ERR_NOMEM;
	memcpy(buf, MM_LINREG_R(src), (size_t) k * k * sizeof(double));
	st = FoldGroup(k, n, mean, R, src->n, MM_LINREG_MEAN(src), buf, k, k,
				   buf + (size_t) k * k, err);
	mm_free(buf);
	return st;
}

/*
 * Fold src's pending rows into (n, mean, R) through a copy, leaving src
 * as it is.
 */
static mm_status
FoldPendingOf(int32_t k, int64_t *n, double *mean, double *R,
			  const mm_linreg_state *src, mm_error *err)
{
	int32_t		m = src->block_n;
	double	   *buf;
	mm_status	st;
	int32_t		j;

	if (m == 0)
		return MM_OK;
	buf = AllocWork((size_t) m * k + k + FoldWorkSize(k), err);
	if (buf == NULL)
		return MM_ERR_NOMEM;
	for (j = 0; j < k; j++)
		memcpy(buf + (size_t) j * m,
			   MM_LINREG_BLOCK(src) + (size_t) j * src->block_cap,
			   (size_t) m * sizeof(double));
	st = FoldRows(k, n, mean, R, buf, m, m, buf + (size_t) m * k, err);
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
 * f64).  Pending rows are folded into copies of mean and R first.  A state
 * whose sums overflowed is refused here (MM_ERR_DATA), since parse would
 * refuse its bytes as corrupt.
 */
mm_status
mm_linreg_serialize(const mm_linreg_state *s, mm_buf *out, mm_error *err)
{
	int32_t		k = MM_LINREG_K(s);
	int64_t		n = s->n;
	const double *mean = MM_LINREG_MEAN(s);
	const double *R = MM_LINREG_R(s);
	double	   *copy = NULL;
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
		st = FoldPendingOf(k, &n, copy, copy + k, s, err);
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
