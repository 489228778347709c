/*
 * mm_linreg.h
 *	  One-pass, mergeable least squares by QR of the centered design.
 *
 * A state summarizes rows (x, y) as n, the column means of [X y], and the
 * upper-triangular R of the centered [X y] (so R'R is the centered
 * cross-product matrix, but R is never formed from it).  Rows are appended to
 * a block buffer; a full block is centered on its own mean and folded in with
 * one Householder QR of
 *     [ R_a ; B - 1 mean_b' ; sqrt(n_a n_b / (n_a + n_b)) (mean_a - mean_b)' ]
 * which is the QR form of the parallel variance update.  Two states merge the
 * same way, which is what the aggregate's combine function and Citus use.
 *
 * From a state: coefficients with or without intercept and with an optional
 * ridge penalty, the sum of squared errors of any linear model over the rows
 * of the state, and the total sum of squares.
 *
 * The state is one flat block of memory (header, then doubles) so the glue
 * can keep it inside a varlena and update it in place.  The first 4 bytes are
 * reserved for the container's length word and never touched here.
 */
#ifndef MM_LINREG_H
#define MM_LINREG_H

#include "mm_bytes.h"
#include "mm_core.h"

#define MM_LINREG_MAX_FEATURES 4096

typedef struct mm_linreg_state
{
	uint32_t	container_header;	/* reserved for the glue (varlena) */
	int32_t		p;				/* number of features (y not counted) */
	int32_t		block_cap;		/* rows the block buffer holds */
	int32_t		block_n;		/* rows pending in the block buffer */
	int64_t		n;				/* rows folded into mean and R */
	int32_t		block_shifted;	/* 1: pending rows are stored minus mean */
	int32_t		reserved;		/* zero */
	/*
	 * Followed by doubles, with k = p + 1:
	 *	 mean[k]			column means of [X y] over the n folded rows
	 *	 R[k * k]			upper triangle, column-major, leading dim k
	 *	 block[cap * k]		pending rows, row-major (row i at block + i k),
	 *						as given or minus mean (block_shifted)
	 */
	double		data[];
} mm_linreg_state;

/* Accessors into data[] */
#define MM_LINREG_K(s)			((s)->p + 1)
#define MM_LINREG_MEAN(s)		((s)->data)
#define MM_LINREG_R(s)			((s)->data + MM_LINREG_K(s))
#define MM_LINREG_BLOCK(s)		((s)->data + MM_LINREG_K(s) + \
								 (size_t) MM_LINREG_K(s) * MM_LINREG_K(s))

/* Default block rows for p features. */
extern int32_t mm_linreg_default_block(int32_t p);

/*
 * Bytes a state with p features and block_cap pending rows occupies;
 * 0 if p or block_cap is out of range or the size overflows.
 */
extern size_t mm_linreg_state_size(int32_t p, int32_t block_cap);

/* Initialize a state in memory of mm_linreg_state_size(p, cap) bytes. */
extern void mm_linreg_init(mm_linreg_state *s, int32_t p, int32_t block_cap);

/* Total rows: folded plus pending. */
extern int64_t mm_linreg_rows(const mm_linreg_state *s);

/*
 * Append one row.  x has p finite values, y is finite (the caller checks
 * and reports NaN/Infinity with column names).  Folds the block when full.
 */
extern mm_status mm_linreg_add(mm_linreg_state *s, const double *x, double y,
							   mm_error *err);

/*
 * mm_linreg_add for a row not checked yet: the values are checked for
 * finiteness in the same pass that copies them.  A row with a NaN or an
 * infinity is not added (the state is unchanged) and MM_ERR_DATA is
 * returned; the caller finds and reports the culprit.
 */
extern mm_status mm_linreg_add_checked(mm_linreg_state *s, const double *x,
									   double y, mm_error *err);

/*
 * Copy src's rows (folded and pending) into dst, a state initialized by
 * mm_linreg_init with the same p and a block_cap of at least src->block_n:
 * how a state moves to a larger block buffer.
 */
extern void mm_linreg_copy(mm_linreg_state *dst, const mm_linreg_state *src);

/* Fold pending rows into mean and R (block_n becomes 0). */
extern mm_status mm_linreg_flush(mm_linreg_state *s, mm_error *err);

/*
 * Merge src into dst (same p).  src may have pending rows; it is not
 * modified.  dst is flushed first.
 */
extern mm_status mm_linreg_merge(mm_linreg_state *dst,
								 const mm_linreg_state *src, mm_error *err);

typedef struct mm_linreg_options
{
	bool		fit_intercept;	/* default true */
	double		l2;				/* ridge penalty on the coefficients (not
								 * the intercept), >= 0: minimizes
								 * ||y - b0 - X b||^2 + l2 ||b||^2, as
								 * scikit-learn's Ridge(alpha = l2) */
	double		rank_tol;		/* relative tolerance for rank detection on
								 * the column-scaled R; <= 0 means default
								 * (MM_LINREG_RANK_TOL) */
} mm_linreg_options;

#define MM_LINREG_RANK_TOL 1e-11

extern void mm_linreg_default_options(mm_linreg_options *opt);

/*
 * Solve for the coefficients from a flushed state (state must have
 * block_n == 0).  coef has p slots; *intercept is 0 when fit_intercept is
 * false.  When the design is rank deficient (a constant column, or a column
 * that is a linear combination of others, judged on the column-scaled R)
 * and l2 == 0, returns MM_ERR_DATA and sets *bad_column to the index of a
 * column to drop (or -1 when no rows); the caller words the error with
 * column names.  Fewer rows than parameters also returns MM_ERR_DATA.
 */
extern mm_status mm_linreg_solve(const mm_linreg_state *s,
								 const mm_linreg_options *opt, double *coef,
								 double *intercept, int32_t *bad_column,
								 mm_error *err);

/*
 * Sum of squared errors of y - (intercept + x'coef) over the rows folded in
 * s (flushed state), computed from the sufficient statistics:
 *     ||R [coef; -1]||^2 + n (mean_x'coef + intercept - mean_y)^2
 */
extern double mm_linreg_sse(const mm_linreg_state *s, const double *coef,
							double intercept);

/* Total sum of squares of y around its mean over the rows folded in s. */
extern double mm_linreg_sst(const mm_linreg_state *s);

/*
 * Compact serialization of a state with its pending rows folded in (the
 * state itself is not changed): used by the aggregate state type's text and
 * binary I/O.  parse validates everything (p range, n >= 0, finiteness,
 * R upper triangular) and allocates a new state with the given block
 * capacity (0 = default) through mm_alloc.
 */
extern mm_status mm_linreg_serialize(const mm_linreg_state *s, mm_buf *out,
									 mm_error *err);
extern mm_status mm_linreg_parse(const void *data, size_t len,
								 int32_t block_cap, mm_linreg_state **out,
								 mm_error *err);

#endif							/* MM_LINREG_H */
