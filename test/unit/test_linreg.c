/*
 * test_linreg.c
 *	  Unit tests of the one-pass mergeable least squares (mm_linreg.c) and
 *	  of the LAPACK layer under it (mm_lapack.c).
 *
 * The accuracy tests read the NIST StRD linear regression problems straight
 * from their .dat files, in $MM_SHARED_DATA/nist (default ../shared/data,
 * relative to the repository root, where `make unit` runs the tests), and
 * score each fit by LRE, the number of correct significant digits, under
 * several block sizes and with the rows split over two states that are
 * merged.  The other tests use seeded pseudo-random, well-conditioned data
 * and compare with references computed here in long double.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <lapack.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm_bytes.h"
#include "mm_core.h"
#include "mm_lapack.h"
#include "mm_linreg.h"

/* cmocka passes every test a state pointer that these tests do not use */
#define UNUSED __attribute__((unused))

/* ---------------------------------------------------------------------
 * Test runtime: malloc, a stop flag, a fatal handler that can longjmp
 * ---------------------------------------------------------------------
 */

static bool stop_flag = false;
static jmp_buf *fatal_jump = NULL;
static char fatal_message[512];
static int	fatal_calls = 0;

static void *
TestAlloc(size_t size)
{
	return malloc(size == 0 ? 1 : size);
}

static void *
TestRealloc(void *ptr, size_t size)
{
	return realloc(ptr, size == 0 ? 1 : size);
}

static void
TestFree(void *ptr)
{
	free(ptr);
}

static bool
TestShouldStop(void)
{
	return stop_flag;
}

static void
TestFatal(const char *message)
{
	snprintf(fatal_message, sizeof(fatal_message), "%s", message);
	fatal_calls++;
	if (fatal_jump != NULL)
		longjmp(*fatal_jump, 1);
	fprintf(stderr, "unexpected fatal error: %s\n", message);
	abort();
}

static const mm_runtime test_runtime = {
	TestAlloc, TestRealloc, TestFree, TestShouldStop, TestFatal
};

/* ---------------------------------------------------------------------
 * Helpers: random numbers, data sets, states
 * ---------------------------------------------------------------------
 */

static uint64_t rng_state;

/* splitmix64 */
static uint64_t
RandU64(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static double
RandUnit(void)
{
	return (double) (RandU64() >> 11) * (1.0 / 9007199254740992.0);
}

static int
RandInt(int below)
{
	return (int) (RandU64() % (uint64_t) below);
}

static double
RandNormal(void)
{
	double		u = RandUnit();
	double		v = RandUnit();

	return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

/* Rows stored row-major: x[i * p + j], y[i]. */
typedef struct Dataset
{
	int32_t		n;
	int32_t		p;
	double	   *x;
	double	   *y;
} Dataset;

static void
DatasetAlloc(Dataset *d, int32_t n, int32_t p)
{
	d->n = n;
	d->p = p;
	d->x = calloc((size_t) (n > 0 ? n : 1) * p, sizeof(double));
	d->y = calloc((size_t) (n > 0 ? n : 1), sizeof(double));
	assert_non_null(d->x);
	assert_non_null(d->y);
}

static void
DatasetFree(Dataset *d)
{
	free(d->x);
	free(d->y);
	d->x = d->y = NULL;
}

/*
 * Well-conditioned random regression data: features with assorted means and
 * scales, y = 2 + sum (j + 1) (-1)^j x_j + noise.
 */
static void
RandomDataset(Dataset *d, int32_t n, int32_t p, uint64_t seed, double noise)
{
	int32_t		i,
				j;

	rng_state = seed;
	DatasetAlloc(d, n, p);
	for (i = 0; i < n; i++)
	{
		double		y = 2.0;

		for (j = 0; j < p; j++)
		{
			double		v = (j % 3 - 1) * 10.0 * (j + 1) +
				(1.0 + 0.5 * j) * RandNormal();

			d->x[(size_t) i * p + j] = v;
			y += (j + 1) * (j % 2 ? -1.0 : 1.0) * v;
		}
		d->y[i] = y + noise * RandNormal();
	}
}

static mm_linreg_state *
NewState(int32_t p, int32_t cap)
{
	size_t		size = mm_linreg_state_size(p, cap);
	mm_linreg_state *s;

	assert_true(size > 0);
	s = mm_alloc(size);
	assert_non_null(s);
	s->container_header = 0xC0FFEEu;
	mm_linreg_init(s, p, cap);
	assert_int_equal(s->container_header, 0xC0FFEEu);
	return s;
}

static void
AddRows(mm_linreg_state *s, const Dataset *d, int32_t from, int32_t to)
{
	mm_error	err;
	int32_t		i;

	for (i = from; i < to; i++)
		assert_int_equal(mm_linreg_add(s, d->x + (size_t) i * d->p, d->y[i],
									   &err), MM_OK);
}

/*
 * Fit d with block capacity cap (0 = default).  split > 0 puts rows
 * [0, split) in one state and the rest in a second with another capacity,
 * leaves both with pending rows, and merges the second into the first.
 */
static mm_status
Fit(const Dataset *d, int32_t cap, int32_t split,
	const mm_linreg_options *opt, double *coef, double *intercept,
	int32_t *bad_column, mm_linreg_state **keep)
{
	mm_linreg_state *s;
	mm_error	err;
	mm_status	st;

	mm_error_clear(&err);
	if (cap == 0)
		cap = mm_linreg_default_block(d->p);
	s = NewState(d->p, cap);
	if (split > 0)
	{
		mm_linreg_state *t = NewState(d->p, cap == 5 ? 11 : 5);

		AddRows(s, d, 0, split);
		AddRows(t, d, split, d->n);
		assert_int_equal(mm_linreg_merge(s, t, &err), MM_OK);
		assert_int_equal(mm_linreg_rows(s), d->n);
		mm_free(t);
	}
	else
		AddRows(s, d, 0, d->n);
	assert_int_equal(mm_linreg_rows(s), d->n);
	assert_int_equal(mm_linreg_flush(s, &err), MM_OK);
	assert_int_equal(s->n, d->n);
	assert_int_equal(s->block_n, 0);
	assert_int_equal(s->container_header, 0xC0FFEEu);
	st = mm_linreg_solve(s, opt, coef, intercept, bad_column, &err);
	if (keep)
		*keep = s;
	else
		mm_free(s);
	return st;
}

/*
 * Solve a small dense system A x = b (n x n, row-major) in long double with
 * partial pivoting; A and b are destroyed.
 */
static void
SolveDense(int n, long double *A, long double *b, long double *x)
{
	int			i,
				j,
				c;

	for (c = 0; c < n; c++)
	{
		int			piv = c;

		for (i = c + 1; i < n; i++)
			if (fabsl(A[i * n + c]) > fabsl(A[piv * n + c]))
				piv = i;
		if (piv != c)
		{
			for (j = 0; j < n; j++)
			{
				long double t = A[c * n + j];

				A[c * n + j] = A[piv * n + j];
				A[piv * n + j] = t;
			}
			{
				long double t = b[c];

				b[c] = b[piv];
				b[piv] = t;
			}
		}
		for (i = c + 1; i < n; i++)
		{
			long double f = A[i * n + c] / A[c * n + c];

			for (j = c; j < n; j++)
				A[i * n + j] -= f * A[c * n + j];
			b[i] -= f * b[c];
		}
	}
	for (i = n - 1; i >= 0; i--)
	{
		long double s = b[i];

		for (j = i + 1; j < n; j++)
			s -= A[i * n + j] * x[j];
		x[i] = s / A[i * n + i];
	}
}

/*
 * Reference ridge (l2 >= 0) by normal equations in long double, centered
 * when intercept is true.
 */
static void
ReferenceRidge(const Dataset *d, bool intercept, double l2, double *coef,
			   double *b0)
{
	int			p = d->p;
	long double *A = calloc((size_t) p * p, sizeof(long double));
	long double *rhs = calloc(p, sizeof(long double));
	long double *sol = calloc(p, sizeof(long double));
	long double *mx = calloc(p, sizeof(long double));
	long double my = 0;
	int			i,
				j,
				l;

	if (intercept)
	{
		for (i = 0; i < d->n; i++)
		{
			for (j = 0; j < p; j++)
				mx[j] += d->x[(size_t) i * p + j];
			my += d->y[i];
		}
		for (j = 0; j < p; j++)
			mx[j] /= d->n;
		my /= d->n;
	}
	for (i = 0; i < d->n; i++)
	{
		const double *row = d->x + (size_t) i * p;
		long double yc = d->y[i] - my;

		for (j = 0; j < p; j++)
		{
			long double xj = row[j] - mx[j];

			rhs[j] += xj * yc;
			for (l = 0; l < p; l++)
				A[j * p + l] += xj * (row[l] - mx[l]);
		}
	}
	for (j = 0; j < p; j++)
		A[j * p + j] += l2;
	SolveDense(p, A, rhs, sol);
	*b0 = 0.0;
	if (intercept)
	{
		long double t = my;

		for (j = 0; j < p; j++)
			t -= mx[j] * sol[j];
		*b0 = (double) t;
	}
	for (j = 0; j < p; j++)
		coef[j] = (double) sol[j];
	free(A);
	free(rhs);
	free(sol);
	free(mx);
}

static double
RelErr(double a, double ref)
{
	return fabs(a - ref) / (fabs(ref) > 0 ? fabs(ref) : 1.0);
}

/* ---------------------------------------------------------------------
 * NIST StRD
 * ---------------------------------------------------------------------
 */

#define NIST_MAX_PARAMS 12

typedef struct NistData
{
	int32_t		n;
	int32_t		ncols;			/* raw predictor columns in the file */
	double	   *raw;			/* n x ncols, row-major */
	double	   *y;
	bool		has_cert[NIST_MAX_PARAMS];
	double		cert[NIST_MAX_PARAMS];	/* B0, B1, ... */
	double		cert_sd;
	double		cert_r2;
} NistData;

static const char *
SharedDataDir(void)
{
	const char *dir = getenv("MM_SHARED_DATA");

	return (dir != NULL && dir[0] != '\0') ? dir : "../shared/data";
}

static const char *
SkipSpace(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/*
 * Read a NIST .dat file: certified values from the "Bk  estimate  sd"
 * lines, "Standard Deviation" after "Residual", "R-Squared", then the data
 * after the "Data:  y  x ..." line.
 */
static bool
LoadNist(const char *name, NistData *nd)
{
	char		path[1024];
	char		line[1024];
	FILE	   *f;
	bool		in_data = false;
	int32_t		cap = 0;

	memset(nd, 0, sizeof(*nd));
	nd->cert_sd = nd->cert_r2 = NAN;
	snprintf(path, sizeof(path), "%s/nist/%s.dat", SharedDataDir(), name);
	f = fopen(path, "r");
	if (f == NULL)
	{
		fprintf(stderr, "cannot open %s (set MM_SHARED_DATA to the shared data directory)\n",
				path);
		return false;
	}
	while (fgets(line, sizeof(line), f))
	{
		const char *s;
		char	   *end;

		line[strcspn(line, "\r\n")] = '\0';
		s = SkipSpace(line);
		if (in_data)
		{
			double		vals[16];
			int			count = 0;
			const char *q = s;

			while (*q && count < 16)
			{
				double		v = strtod(q, &end);

				if (end == q)
					break;
				vals[count++] = v;
				q = SkipSpace(end);
			}
			if (count == 0)
				continue;
			assert_int_equal(count, nd->ncols + 1);
			if (nd->n == cap)
			{
				cap = cap ? 2 * cap : 64;
				nd->raw = realloc(nd->raw, (size_t) cap * nd->ncols * sizeof(double));
				nd->y = realloc(nd->y, (size_t) cap * sizeof(double));
				assert_non_null(nd->raw);
				assert_non_null(nd->y);
			}
			nd->y[nd->n] = vals[0];
			memcpy(nd->raw + (size_t) nd->n * nd->ncols, vals + 1,
				   nd->ncols * sizeof(double));
			nd->n++;
		}
		else if (s[0] == 'B' && s[1] >= '0' && s[1] <= '9')
		{
			long		idx = strtol(s + 1, &end, 10);
			double		v = strtod(end, &end);

			assert_true(idx >= 0 && idx < NIST_MAX_PARAMS);
			nd->has_cert[idx] = true;
			nd->cert[idx] = v;
		}
		else if (strncmp(s, "Standard Deviation", 18) == 0)
		{
			double		v = strtod(s + 18, &end);

			if (end != s + 18)
				nd->cert_sd = v;
		}
		else if (strncmp(s, "R-Squared", 9) == 0)
			nd->cert_r2 = strtod(s + 9, NULL);
		else if (strncmp(s, "Data:", 5) == 0 && *SkipSpace(s + 5) == 'y')
		{
			const char *q = SkipSpace(s + 5);
			int			tokens = 0;

			while (*q)
			{
				tokens++;
				while (*q && *q != ' ' && *q != '\t')
					q++;
				q = SkipSpace(q);
			}
			nd->ncols = tokens - 1;
			in_data = true;
		}
	}
	fclose(f);
	return nd->n > 0 && nd->ncols > 0 && !isnan(nd->cert_sd) &&
		!isnan(nd->cert_r2);
}

/*
 * The model's features: the raw columns, or the powers x .. x^d of a single
 * column, d being the number of certified slopes.
 */
static void
NistFeatures(const NistData *nd, Dataset *d, bool *intercept)
{
	int32_t		p = 0;
	int32_t		i,
				j;

	for (j = 1; j < NIST_MAX_PARAMS; j++)
		if (nd->has_cert[j])
			p = j;
	if (nd->ncols > 1)
		assert_int_equal(p, nd->ncols);
	*intercept = nd->has_cert[0];
	DatasetAlloc(d, nd->n, p);
	for (i = 0; i < nd->n; i++)
	{
		d->y[i] = nd->y[i];
		for (j = 0; j < p; j++)
			d->x[(size_t) i * p + j] = nd->ncols > 1 ?
				nd->raw[(size_t) i * nd->ncols + j] :
				pow(nd->raw[i], j + 1);
	}
}

/* Correct significant digits; absolute error when the certified value is 0. */
static double
Lre(double est, double cert)
{
	double		e = fabs(est - cert);
	double		lre;

	if (cert != 0.0)
		e /= fabs(cert);
	if (isnan(e))
		return 0.0;
	if (e == 0.0)
		return 15.0;
	lre = -log10(e);
	return lre > 15.0 ? 15.0 : (lre < 0.0 ? 0.0 : lre);
}

typedef struct NistResult
{
	double		coef_lre;		/* minimum over coefficients */
	double		sd_lre;
	double		r2_lre;
} NistResult;

/*
 * Fit one NIST problem with one configuration and score it.  NIST's R^2 is
 * the centered one with an intercept and the uncentered one, 1 - SSE /
 * sum(y^2), for the models through the origin (NoInt1, NoInt2).
 */
static NistResult
NistRun(const NistData *nd, int32_t cap, bool split)
{
	Dataset		d;
	bool		intercept;
	mm_linreg_options opt;
	double		coef[NIST_MAX_PARAMS];
	double		b0;
	int32_t		bad;
	mm_linreg_state *s;
	NistResult	res;
	double		sse,
				tss,
				sd;
	int32_t		j;
	int32_t		nparams;

	NistFeatures(nd, &d, &intercept);
	mm_linreg_default_options(&opt);
	opt.fit_intercept = intercept;
	assert_int_equal(Fit(&d, cap, split ? d.n / 2 + 1 : 0, &opt, coef, &b0,
						 &bad, &s), MM_OK);

	res.coef_lre = 15.0;
	if (intercept)
		res.coef_lre = Lre(b0, nd->cert[0]);
	else
		assert_true(b0 == 0.0);
	for (j = 0; j < d.p; j++)
	{
		double		l = Lre(coef[j], nd->cert[j + 1]);

		if (l < res.coef_lre)
			res.coef_lre = l;
	}

	nparams = d.p + (intercept ? 1 : 0);
	sse = mm_linreg_sse(s, coef, b0);
	tss = mm_linreg_sst(s);
	if (!intercept)
	{
		double		my = MM_LINREG_MEAN(s)[d.p];

		tss += (double) s->n * my * my;
	}
	sd = sqrt(sse / (double) (d.n - nparams));
	res.sd_lre = Lre(sd, nd->cert_sd);
	res.r2_lre = Lre(1.0 - sse / tss, nd->cert_r2);
	mm_free(s);
	DatasetFree(&d);
	return res;
}

/*
 * Required coefficient LRE: with the default block and merged (min_lre),
 * and with the artificial blocks of 1, 3 and 7 rows (min_small_lre).
 *
 * Filip is at the edge of float64 whatever the algorithm: the exact
 * solution of its design with x^k rounded to double (correctly rounded
 * pow) is only 7.61 digits from the certified values, and a backward-stable
 * QR adds noise of the same size (the scaled condition number is about
 * 4e9), which grows with the number of folds since each one rounds R.
 * Observed over OpenBLAS kernels Prescott..SkylakeX: 7.2-8.6 with the
 * default block or merged, 6.98-8.0 with blocks of 1-7 rows.  Wampler5,
 * NIST's hardest, is not required by the design; it gets a floor to catch
 * regressions.
 */
typedef struct NistCase
{
	const char *name;
	double		min_lre;
	double		min_small_lre;
} NistCase;

static const NistCase nist_cases[] = {
	{"Norris", 11.0, 11.0},
	{"Pontius", 11.0, 11.0},
	{"NoInt1", 11.0, 11.0},
	{"NoInt2", 11.0, 11.0},
	{"Filip", 7.0, 6.5},
	{"Longley", 12.0, 12.0},
	{"Wampler1", 8.0, 8.0},
	{"Wampler2", 8.0, 8.0},
	{"Wampler3", 8.0, 8.0},
	{"Wampler4", 8.0, 8.0},
	{"Wampler5", 5.5, 5.5},
};

static void
test_nist(void **state UNUSED)
{
	static const int32_t caps[] = {1, 3, 7, 0};
	const char *labels[] = {"block 1", "block 3", "block 7", "default",
	"merged"};
	size_t		c;

	printf("\nNIST StRD linear regression, LRE (digits); coefficients: minimum over B0..Bp\n");
	printf("%-9s %8s %8s %8s %8s %8s | %6s %6s\n", "problem", labels[0],
		   labels[1], labels[2], labels[3], labels[4], "res.SD", "R^2");
	for (c = 0; c < sizeof(nist_cases) / sizeof(nist_cases[0]); c++)
	{
		NistData	nd;
		NistResult	res[5];
		int			i;

		assert_true(LoadNist(nist_cases[c].name, &nd));
		for (i = 0; i < 4; i++)
			res[i] = NistRun(&nd, caps[i], false);
		res[4] = NistRun(&nd, 0, true);
		printf("%-9s", nist_cases[c].name);
		for (i = 0; i < 5; i++)
			printf(" %8.2f", res[i].coef_lre);
		printf(" | %6.2f %6.2f\n", res[3].sd_lre, res[3].r2_lre);
		fflush(stdout);

		for (i = 0; i < 5; i++)
		{
			double		bound = i < 3 ? nist_cases[c].min_small_lre :
				nist_cases[c].min_lre;

			if (res[i].coef_lre < bound)
				fail_msg("%s (%s): coefficient LRE %.2f below %.1f",
						 nist_cases[c].name, labels[i], res[i].coef_lre, bound);
			if (res[i].sd_lre < 6.0 || res[i].r2_lre < 6.0)
				fail_msg("%s (%s): residual SD LRE %.2f, R^2 LRE %.2f below 6",
						 nist_cases[c].name, labels[i], res[i].sd_lre,
						 res[i].r2_lre);
		}
		free(nd.raw);
		free(nd.y);
	}
}

/* ---------------------------------------------------------------------
 * Rank deficiency
 * ---------------------------------------------------------------------
 */

/* The fit fails with MM_ERR_DATA; returns the reported column. */
static int32_t
ExpectDeficient(const Dataset *d, bool intercept, int32_t cap)
{
	mm_linreg_options opt;
	double		coef[16];
	double		b0;
	int32_t		bad = -2;

	mm_linreg_default_options(&opt);
	opt.fit_intercept = intercept;
	assert_int_equal(Fit(d, cap, 0, &opt, coef, &b0, &bad, NULL), MM_ERR_DATA);
	assert_true(bad >= 0 && bad < d->p);
	return bad;
}

/* A copy of d without column drop. */
static void
DropColumn(const Dataset *d, int32_t drop, Dataset *out)
{
	int32_t		i,
				j,
				c;

	DatasetAlloc(out, d->n, d->p - 1);
	for (i = 0; i < d->n; i++)
	{
		out->y[i] = d->y[i];
		for (j = 0, c = 0; j < d->p; j++)
			if (j != drop)
				out->x[(size_t) i * out->p + c++] = d->x[(size_t) i * d->p + j];
	}
}

/*
 * Expect deficiency reported on one of the columns in `allowed` (a
 * dependent set: any of them is a right one to drop), and that dropping it
 * makes the fit succeed.
 */
static void
ExpectDropFixes(const Dataset *d, bool intercept, const int32_t *allowed,
				int nallowed)
{
	int32_t		caps[] = {1, 7, 0};
	int			c,
				i;

	for (c = 0; c < 3; c++)
	{
		int32_t		bad = ExpectDeficient(d, intercept, caps[c]);
		bool		ok = false;
		Dataset		rest;
		mm_linreg_options opt;
		double		coef[16];
		double		b0;
		int32_t		bad2;

		for (i = 0; i < nallowed; i++)
			ok |= (bad == allowed[i]);
		if (!ok)
			fail_msg("reported column %d is not in the dependent set", bad);
		DropColumn(d, bad, &rest);
		mm_linreg_default_options(&opt);
		opt.fit_intercept = intercept;
		assert_int_equal(Fit(&rest, caps[c], 0, &opt, coef, &b0, &bad2, NULL),
						 MM_OK);
		assert_int_equal(bad2, -1);
		DatasetFree(&rest);
	}
}

static void
test_rank_deficient(void **state UNUSED)
{
	Dataset		d;
	int32_t		i;
	mm_linreg_options opt;
	double		coef[16];
	double		b0;
	int32_t		bad;
	mm_error	err;

	/* x2 = 2 x0 */
	RandomDataset(&d, 200, 4, 11, 0.1);
	for (i = 0; i < d.n; i++)
		d.x[i * 4 + 2] = 2.0 * d.x[i * 4 + 0];
	ExpectDropFixes(&d, true, (int32_t[]) {0, 2}, 2);
	ExpectDropFixes(&d, false, (int32_t[]) {0, 2}, 2);

	/* with a ridge penalty it solves */
	mm_linreg_default_options(&opt);
	opt.l2 = 0.5;
	assert_int_equal(Fit(&d, 0, 0, &opt, coef, &b0, &bad, NULL), MM_OK);
	assert_int_equal(bad, -1);
	assert_true(isfinite(b0));
	DatasetFree(&d);

	/* x3 = x0 + x1 (rounded: nearly, not exactly, dependent) */
	RandomDataset(&d, 150, 5, 12, 0.1);
	for (i = 0; i < d.n; i++)
		d.x[i * 5 + 3] = d.x[i * 5 + 0] + d.x[i * 5 + 1];
	ExpectDropFixes(&d, true, (int32_t[]) {0, 1, 3}, 3);
	DatasetFree(&d);

	/* a constant column (with intercept): reported exactly */
	RandomDataset(&d, 300, 4, 13, 0.1);
	for (i = 0; i < d.n; i++)
		d.x[i * 4 + 1] = 0.1;
	assert_int_equal(ExpectDeficient(&d, true, 1), 1);
	assert_int_equal(ExpectDeficient(&d, true, 7), 1);
	assert_int_equal(ExpectDeficient(&d, true, 0), 1);
	/* through the origin a constant column is fine */
	mm_linreg_default_options(&opt);
	opt.fit_intercept = false;
	assert_int_equal(Fit(&d, 0, 0, &opt, coef, &b0, &bad, NULL), MM_OK);
	/* ridge: the constant column gets coefficient 0 */
	mm_linreg_default_options(&opt);
	opt.l2 = 1.0;
	assert_int_equal(Fit(&d, 0, 0, &opt, coef, &b0, &bad, NULL), MM_OK);
	assert_true(fabs(coef[1]) < 1e-12);
	/* a zero column without intercept */
	for (i = 0; i < d.n; i++)
		d.x[i * 4 + 2] = 0.0;
	assert_int_equal(ExpectDeficient(&d, false, 0), 2);
	DatasetFree(&d);

	/* no rows: MM_ERR_DATA with bad_column -1 */
	{
		mm_linreg_state *s = NewState(3, 8);

		bad = 5;
		assert_int_equal(mm_linreg_solve(s, NULL, coef, &b0, &bad, &err),
						 MM_ERR_DATA);
		assert_int_equal(bad, -1);
		mm_free(s);
	}

	/* fewer rows than parameters */
	RandomDataset(&d, 3, 3, 14, 0.1);
	assert_int_equal(Fit(&d, 0, 0, NULL, coef, &b0, &bad, NULL), MM_ERR_DATA);
	assert_int_equal(bad, -1);
	mm_linreg_default_options(&opt);
	opt.fit_intercept = false;
	assert_int_equal(Fit(&d, 0, 0, &opt, coef, &b0, &bad, NULL), MM_OK);
	opt.fit_intercept = true;
	opt.l2 = 0.1;
	assert_int_equal(Fit(&d, 0, 0, &opt, coef, &b0, &bad, NULL), MM_OK);
	DatasetFree(&d);

	/* bad options */
	RandomDataset(&d, 30, 2, 15, 0.1);
	mm_linreg_default_options(&opt);
	opt.l2 = -1.0;
	assert_int_equal(Fit(&d, 0, 0, &opt, coef, &b0, &bad, NULL), MM_ERR_INVALID);
	opt.l2 = NAN;
	assert_int_equal(Fit(&d, 0, 0, &opt, coef, &b0, &bad, NULL), MM_ERR_INVALID);
	DatasetFree(&d);
}

/* ---------------------------------------------------------------------
 * Ridge, merge, sums of squares
 * ---------------------------------------------------------------------
 */

static void
test_ridge(void **state UNUSED)
{
	static const double l2s[] = {0.0, 1e-3, 0.7, 25.0, 1e4};
	Dataset		d;
	size_t		c;
	int			intercept;
	int32_t		j;

	RandomDataset(&d, 500, 6, 21, 1.0);
	for (c = 0; c < sizeof(l2s) / sizeof(l2s[0]); c++)
	{
		for (intercept = 0; intercept <= 1; intercept++)
		{
			mm_linreg_options opt;
			double		coef[6],
						ref[6];
			double		b0,
						ref0;
			int32_t		bad;

			mm_linreg_default_options(&opt);
			opt.l2 = l2s[c];
			opt.fit_intercept = intercept;
			assert_int_equal(Fit(&d, 0, 0, &opt, coef, &b0, &bad, NULL), MM_OK);
			ReferenceRidge(&d, intercept, l2s[c], ref, &ref0);
			for (j = 0; j < d.p; j++)
				if (RelErr(coef[j], ref[j]) > 1e-10)
					fail_msg("l2 %g intercept %d: coef %d = %.17g, reference %.17g",
							 l2s[c], intercept, j, coef[j], ref[j]);
			if (RelErr(b0, ref0) > 1e-10)
				fail_msg("l2 %g intercept %d: intercept %.17g, reference %.17g",
						 l2s[c], intercept, b0, ref0);
		}
	}
	DatasetFree(&d);
}

/*
 * A wide model: the fold scratch no longer fits on the stack (p > 226), and
 * blocks narrower than R.
 */
static void
test_wide(void **state UNUSED)
{
	Dataset		d;
	double	   *coef = malloc(260 * sizeof(double));
	double	   *ref = malloc(260 * sizeof(double));
	double		b0,
				ref0;
	int32_t		bad;
	int32_t		j;
	mm_linreg_options opt;

	RandomDataset(&d, 700, 260, 71, 1.0);
	mm_linreg_default_options(&opt);
	opt.l2 = 0.0;
	assert_int_equal(Fit(&d, 97, 301, &opt, coef, &b0, &bad, NULL), MM_OK);
	ReferenceRidge(&d, true, 0.0, ref, &ref0);
	for (j = 0; j < d.p; j++)
		if (RelErr(coef[j], ref[j]) > 1e-9)
			fail_msg("coef %d = %.17g, reference %.17g", j, coef[j], ref[j]);

	/*
	 * The intercept, mean_y - mean_x'b, cancels terms of up to 7e5 here down
	 * to about 2: judge it against the size of those terms.
	 */
	{
		double		scale = fabs(ref0);
		int32_t		i;

		for (j = 0; j < d.p; j++)
		{
			double		mj = 0.0;

			for (i = 0; i < d.n; i++)
				mj += d.x[(size_t) i * d.p + j];
			scale += fabs(mj / d.n * ref[j]);
		}
		if (fabs(b0 - ref0) > 1e-12 * scale)
			fail_msg("intercept %.17g, reference %.17g (scale %g)", b0, ref0,
					 scale);
	}
	opt.l2 = 3.0;
	assert_int_equal(Fit(&d, 0, 0, &opt, coef, &b0, &bad, NULL), MM_OK);
	ReferenceRidge(&d, true, 3.0, ref, &ref0);
	for (j = 0; j < d.p; j++)
		assert_true(RelErr(coef[j], ref[j]) <= 1e-9);
	free(coef);
	free(ref);
	DatasetFree(&d);
}

static void
test_merge_many(void **state UNUSED)
{
	enum
	{
		NSTATES = 40
	};
	Dataset		d;
	mm_linreg_state *big;
	mm_linreg_state *parts[NSTATES];
	int			perm[NSTATES];
	int32_t		bounds[NSTATES + 1];
	double		ref[8],
				coef[8];
	double		ref0,
				b0;
	int32_t		bad;
	mm_error	err;
	int			round,
				i;
	int32_t		j;

	RandomDataset(&d, 3000, 8, 31, 0.5);
	assert_int_equal(Fit(&d, 0, 0, NULL, ref, &ref0, &bad, &big), MM_OK);

	for (round = 0; round < 3; round++)
	{
		/* random cut points; some parts empty */
		bounds[0] = 0;
		bounds[NSTATES] = d.n;
		for (i = 1; i < NSTATES; i++)
			bounds[i] = RandInt(d.n + 1);
		for (i = 1; i < NSTATES; i++)
		{
			int			l;

			for (l = i; l > 1 && bounds[l - 1] > bounds[l]; l--)
			{
				int32_t		t = bounds[l];

				bounds[l] = bounds[l - 1];
				bounds[l - 1] = t;
			}
		}
		for (i = 0; i < NSTATES; i++)
		{
			static const int32_t caps[] = {1, 2, 5, 16, 64, 0};
			int32_t		cap = caps[RandInt(6)];

			parts[i] = NewState(d.p, cap ? cap : mm_linreg_default_block(d.p));
			AddRows(parts[i], &d, bounds[i], bounds[i + 1]);
			if (RandInt(2))
				assert_int_equal(mm_linreg_flush(parts[i], &err), MM_OK);
			perm[i] = i;
		}
		for (i = NSTATES - 1; i > 0; i--)
		{
			int			r = RandInt(i + 1),
						t = perm[i];

			perm[i] = perm[r];
			perm[r] = t;
		}
		if (round < 2)
		{
			/* fold them all into one, in random order */
			for (i = 1; i < NSTATES; i++)
				assert_int_equal(mm_linreg_merge(parts[perm[0]], parts[perm[i]],
												 &err), MM_OK);
		}
		else
		{
			/* pairwise, as a tree */
			int			live = NSTATES;

			while (live > 1)
			{
				for (i = 0; i + 1 < live; i += 2)
					assert_int_equal(mm_linreg_merge(parts[perm[i]],
													 parts[perm[i + 1]], &err),
									 MM_OK);
				for (i = 0; 2 * i < live; i++)
					perm[i] = perm[2 * i];
				live = (live + 1) / 2;
			}
		}
		assert_int_equal(mm_linreg_rows(parts[perm[0]]), d.n);
		assert_int_equal(mm_linreg_flush(parts[perm[0]], &err), MM_OK);
		assert_int_equal(mm_linreg_solve(parts[perm[0]], NULL, coef, &b0, &bad,
										 &err), MM_OK);
		for (j = 0; j < d.p; j++)
			if (RelErr(coef[j], ref[j]) > 1e-12)
				fail_msg("merged coef %d = %.17g, one state %.17g", j, coef[j],
						 ref[j]);
		assert_true(RelErr(b0, ref0) <= 1e-12);
		assert_true(RelErr(mm_linreg_sst(parts[perm[0]]), mm_linreg_sst(big))
					<= 1e-12);
		for (i = 0; i < NSTATES; i++)
			mm_free(parts[i]);
	}
	mm_free(big);
	DatasetFree(&d);
}

static void
test_sums_of_squares(void **state UNUSED)
{
	Dataset		d;
	mm_linreg_state *s;
	double		coef[5],
				other[5];
	double		b0;
	int32_t		bad;
	int			trial;
	int32_t		i,
				j;
	long double my = 0,
				sst = 0;

	RandomDataset(&d, 700, 5, 41, 2.0);
	assert_int_equal(Fit(&d, 13, 0, NULL, coef, &b0, &bad, &s), MM_OK);

	for (i = 0; i < d.n; i++)
		my += d.y[i];
	my /= d.n;
	for (i = 0; i < d.n; i++)
		sst += (d.y[i] - my) * (d.y[i] - my);
	assert_true(RelErr(mm_linreg_sst(s), (double) sst) <= 1e-12);

	for (trial = 0; trial < 3; trial++)
	{
		long double sse = 0;
		double		c0;
		const double *use;

		/* the fit itself, then arbitrary models */
		if (trial == 0)
		{
			use = coef;
			c0 = b0;
		}
		else
		{
			for (j = 0; j < d.p; j++)
				other[j] = coef[j] + RandNormal() * 0.1;
			use = other;
			c0 = b0 + RandNormal();
		}
		for (i = 0; i < d.n; i++)
		{
			long double r = d.y[i] - c0;

			for (j = 0; j < d.p; j++)
				r -= (long double) use[j] * d.x[(size_t) i * d.p + j];
			sse += r * r;
		}
		if (RelErr(mm_linreg_sse(s, use, c0), (double) sse) > 1e-10)
			fail_msg("trial %d: sse %.17g, direct %.17Lg", trial,
					 mm_linreg_sse(s, use, c0), sse);
	}
	mm_free(s);
	DatasetFree(&d);
}

/* ---------------------------------------------------------------------
 * Serialization
 * ---------------------------------------------------------------------
 */

static mm_status
ParseBytes(const uint8_t *data, size_t len)
{
	mm_linreg_state *s = NULL;
	mm_error	err;
	mm_status	st = mm_linreg_parse(data, len, 0, &s, &err);

	if (st == MM_OK)
		mm_free(s);
	else
		assert_null(s);
	return st;
}

/* Put a little-endian u32/i64/f64 at an offset of a copy and parse it. */
static mm_status
ParsePatched(const mm_buf *b, size_t offset, const void *bytes, size_t n)
{
	uint8_t    *copy = malloc(b->len);
	mm_status	st;

	memcpy(copy, b->data, b->len);
	memcpy(copy + offset, bytes, n);
	st = ParseBytes(copy, b->len);
	free(copy);
	return st;
}

static void
test_serialize(void **state UNUSED)
{
	Dataset		d;
	mm_linreg_state *s;
	mm_linreg_state *parsed;
	mm_linreg_state *empty;
	mm_buf		b1,
				b2;
	mm_error	err;
	size_t		size;
	uint8_t    *before;
	size_t		len;
	size_t		k = 5;
	double		coef1[4],
				coef2[4],
				b01,
				b02;
	int32_t		bad;

	RandomDataset(&d, 103, 4, 51, 0.3);
	s = NewState(4, 10);
	AddRows(s, &d, 0, d.n);
	assert_int_equal(s->block_n, 3);

	/* serializing folds the pending rows into a copy only */
	size = mm_linreg_state_size(4, 10);
	before = malloc(size);
	memcpy(before, s, size);
	mm_buf_init(&b1);
	assert_int_equal(mm_linreg_serialize(s, &b1, &err), MM_OK);
	assert_memory_equal(before, s, size);
	free(before);
	len = 20 + 8 * (k + k * (k + 1) / 2);
	assert_int_equal(b1.len, len);
	assert_memory_equal(b1.data, "MMLS\001\000\000\000\004\000\000\000", 12);

	/* round trip, with the default and another block capacity */
	assert_int_equal(mm_linreg_parse(b1.data, b1.len, 0, &parsed, &err), MM_OK);
	assert_int_equal(parsed->block_cap, mm_linreg_default_block(4));
	assert_int_equal(parsed->n, d.n);
	assert_int_equal(parsed->block_n, 0);
	mm_buf_init(&b2);
	assert_int_equal(mm_linreg_serialize(parsed, &b2, &err), MM_OK);
	assert_int_equal(b2.len, b1.len);
	assert_memory_equal(b1.data, b2.data, b1.len);
	mm_free(parsed);
	mm_buf_free(&b2);
	assert_int_equal(mm_linreg_parse(b1.data, b1.len, 3, &parsed, &err), MM_OK);
	assert_int_equal(parsed->block_cap, 3);
	mm_buf_init(&b2);
	assert_int_equal(mm_linreg_serialize(parsed, &b2, &err), MM_OK);
	assert_memory_equal(b1.data, b2.data, b1.len);
	mm_buf_free(&b2);

	/* the parsed state fits like the original */
	assert_int_equal(mm_linreg_flush(s, &err), MM_OK);
	assert_int_equal(mm_linreg_solve(s, NULL, coef1, &b01, &bad, &err), MM_OK);
	assert_int_equal(mm_linreg_solve(parsed, NULL, coef2, &b02, &bad, &err),
					 MM_OK);
	for (bad = 0; bad < 4; bad++)
		assert_true(RelErr(coef1[bad], coef2[bad]) < 1e-13);
	/* and keeps accepting rows */
	AddRows(parsed, &d, 0, 10);
	assert_int_equal(mm_linreg_rows(parsed), d.n + 10);
	mm_free(parsed);

	/* an empty state round-trips too */
	empty = NewState(2, 4);
	mm_buf_init(&b2);
	assert_int_equal(mm_linreg_serialize(empty, &b2, &err), MM_OK);
	assert_int_equal(ParseBytes(b2.data, b2.len), MM_OK);
	/* ... but an "empty" state with a nonzero value does not */
	{
		double		one = 1.0;

		assert_int_equal(ParsePatched(&b2, 20 + 8, &one, 8), MM_ERR_CORRUPT);
	}
	mm_buf_free(&b2);
	mm_free(empty);

	/* every truncation, and one byte too many */
	for (size = 0; size < b1.len; size++)
		assert_int_equal(ParseBytes(b1.data, size), MM_ERR_CORRUPT);
	{
		uint8_t    *longer = calloc(b1.len + 8, 1);

		memcpy(longer, b1.data, b1.len);
		assert_int_equal(ParseBytes(longer, b1.len + 1), MM_ERR_CORRUPT);
		assert_int_equal(ParseBytes(longer, b1.len + 8), MM_ERR_CORRUPT);
		free(longer);
	}

	/* header fields */
	{
		uint8_t		v;
		uint32_t	u;
		int64_t		n;
		double		x;

		v = 'X';
		assert_int_equal(ParsePatched(&b1, 0, &v, 1), MM_ERR_CORRUPT);
		v = 2;
		assert_int_equal(ParsePatched(&b1, 4, &v, 1), MM_ERR_CORRUPT);
		v = 1;
		assert_int_equal(ParsePatched(&b1, 6, &v, 1), MM_ERR_CORRUPT);
		u = 0;
		assert_int_equal(ParsePatched(&b1, 8, &u, 4), MM_ERR_CORRUPT);
		u = 5;					/* wrong length for p = 5 */
		assert_int_equal(ParsePatched(&b1, 8, &u, 4), MM_ERR_CORRUPT);
		u = MM_LINREG_MAX_FEATURES + 1;
		assert_int_equal(ParsePatched(&b1, 8, &u, 4), MM_ERR_CORRUPT);
		u = UINT32_MAX;
		assert_int_equal(ParsePatched(&b1, 8, &u, 4), MM_ERR_CORRUPT);
		n = -1;
		assert_int_equal(ParsePatched(&b1, 12, &n, 8), MM_ERR_CORRUPT);
		n = 0;					/* empty, but values are not zero */
		assert_int_equal(ParsePatched(&b1, 12, &n, 8), MM_ERR_CORRUPT);
		x = NAN;
		assert_int_equal(ParsePatched(&b1, 20, &x, 8), MM_ERR_CORRUPT);
		assert_int_equal(ParsePatched(&b1, b1.len - 8, &x, 8), MM_ERR_CORRUPT);
		x = INFINITY;
		assert_int_equal(ParsePatched(&b1, 20 + 8 * k + 16, &x, 8),
						 MM_ERR_CORRUPT);
		x = -INFINITY;
		assert_int_equal(ParsePatched(&b1, 20 + 8 * 2, &x, 8), MM_ERR_CORRUPT);
	}

	/* garbage: random bytes, and random flips of a good state */
	{
		uint8_t		junk[256];
		int			t;
		size_t		i;

		rng_state = 52;
		for (t = 0; t < 2000; t++)
		{
			size_t		jl = (size_t) RandInt(sizeof(junk) + 1);

			for (i = 0; i < jl; i++)
				junk[i] = (uint8_t) RandU64();
			if (t % 2 && jl >= 12)
				memcpy(junk, "MMLS\001\000\000\000", 8);
			assert_int_not_equal(ParseBytes(junk, jl), MM_OK);
		}
		for (t = 0; t < 2000; t++)
		{
			uint8_t    *copy = malloc(b1.len);
			mm_status	st;

			memcpy(copy, b1.data, b1.len);
			copy[RandInt((int) b1.len)] ^= (uint8_t) (1 + RandInt(255));
			st = ParseBytes(copy, b1.len);
			/* a flip in a double may still be a valid state */
			assert_true(st == MM_OK || st == MM_ERR_CORRUPT);
			free(copy);
		}
	}
	assert_int_equal(ParseBytes(NULL, 0), MM_ERR_CORRUPT);

	/* sums that overflow: refused by serialize and solve, not written */
	{
		mm_linreg_state *o = NewState(1, 4);
		double		big = 1.5e308,
					nbig = -1.5e308;
		double		c1,
					i1;
		int32_t		b;
		mm_buf		ob;

		assert_int_equal(mm_linreg_add(o, &big, 1.0, &err), MM_OK);
		assert_int_equal(mm_linreg_add(o, &nbig, 2.0, &err), MM_OK);
		assert_int_equal(mm_linreg_add(o, &big, 3.0, &err), MM_OK);
		mm_buf_init(&ob);
		assert_int_equal(mm_linreg_serialize(o, &ob, &err), MM_ERR_DATA);
		mm_buf_free(&ob);
		assert_int_equal(mm_linreg_flush(o, &err), MM_OK);
		assert_int_equal(mm_linreg_solve(o, NULL, &c1, &i1, &b, &err),
						 MM_ERR_DATA);
		mm_free(o);
	}

	mm_buf_free(&b1);
	mm_free(s);
	DatasetFree(&d);
}

/* ---------------------------------------------------------------------
 * Runtime: interrupts, xerbla_, sizes
 * ---------------------------------------------------------------------
 */

static void
test_interrupt(void **state UNUSED)
{
	Dataset		d;
	mm_linreg_state *s;
	mm_linreg_state *t;
	mm_error	err;
	double		coef[3],
				b0;
	int32_t		bad;

	RandomDataset(&d, 20, 3, 61, 0.1);
	s = NewState(3, 4);
	t = NewState(3, 4);
	AddRows(t, &d, 0, 2);

	stop_flag = true;
	assert_int_equal(mm_linreg_add(s, d.x, d.y[0], &err), MM_OK);
	assert_int_equal(mm_linreg_add(s, d.x + 3, d.y[1], &err), MM_OK);
	assert_int_equal(mm_linreg_add(s, d.x + 6, d.y[2], &err), MM_OK);
	mm_error_clear(&err);
	assert_int_equal(mm_linreg_add(s, d.x + 9, d.y[3], &err),
					 MM_ERR_INTERRUPTED);
	assert_int_equal(err.status, MM_ERR_INTERRUPTED);
	/* nothing was folded; the full block is still there */
	assert_int_equal(s->n, 0);
	assert_int_equal(s->block_n, 4);
	assert_int_equal(mm_linreg_add(s, d.x + 12, d.y[4], &err),
					 MM_ERR_INTERRUPTED);
	assert_int_equal(mm_linreg_flush(s, &err), MM_ERR_INTERRUPTED);
	assert_int_equal(mm_linreg_merge(s, t, &err), MM_ERR_INTERRUPTED);
	assert_int_equal(mm_linreg_rows(s), 4);
	/* merging into a flushed state: refused before anything changes */
	{
		mm_linreg_state *u = NewState(3, 4);
		size_t		size = mm_linreg_state_size(3, 4);
		uint8_t    *before = malloc(size);

		stop_flag = false;
		AddRows(u, &d, 0, 6);
		assert_int_equal(mm_linreg_flush(u, &err), MM_OK);
		memcpy(before, u, size);
		stop_flag = true;
		assert_int_equal(mm_linreg_merge(u, t, &err), MM_ERR_INTERRUPTED);
		assert_memory_equal(before, u, size);
		/* an empty source needs no work, so no poll */
		{
			mm_linreg_state *e = NewState(3, 4);

			assert_int_equal(mm_linreg_merge(u, e, &err), MM_OK);
			mm_free(e);
		}
		free(before);
		mm_free(u);
	}

	/* once the flag clears, the state carries on */
	stop_flag = false;
	AddRows(s, &d, 4, d.n);
	assert_int_equal(mm_linreg_merge(s, t, &err), MM_OK);
	assert_int_equal(mm_linreg_rows(s), d.n + 2);
	assert_int_equal(mm_linreg_flush(s, &err), MM_OK);
	assert_int_equal(mm_linreg_solve(s, NULL, coef, &b0, &bad, &err), MM_OK);
	mm_free(s);
	mm_free(t);
	DatasetFree(&d);
}

static void
test_xerbla(void **state UNUSED)
{
	jmp_buf		jump;
	double		a[4] = {1, 2, 3, 4};
	double		tau[2];
	double		work[64];
	lapack_int	m = -1,
				n = 2,
				lda = 2,
				lwork = 64,
				info = 0;
	mm_error	err;

	/* straight through lapack.h: reference LAPACK's Fortran dgeqrf */
	fatal_calls = 0;
	fatal_jump = &jump;
	if (setjmp(jump) == 0)
	{
		LAPACK_dgeqrf(&m, &n, a, &lda, tau, work, &lwork, &info);
		fatal_jump = NULL;
		fail_msg("dgeqrf returned with info %d", (int) info);
	}
	fatal_jump = NULL;
	assert_int_equal(fatal_calls, 1);
	printf("xerbla_: %s\n", fatal_message);
	assert_non_null(strstr(fatal_message, "LAPACK routine DGEQRF: parameter 1 had an illegal value"));

	/* OpenBLAS's own C implementation of dtrtrs */
	{
		char		uplo = 'U',
					trans = 'N',
					diag = 'N';
		lapack_int	nn = -3,
					nrhs = 1,
					ldb = 2;

		fatal_jump = &jump;
		if (setjmp(jump) == 0)
		{
			LAPACK_dtrtrs(&uplo, &trans, &diag, &nn, &nrhs, a, &lda, work,
						  &ldb, &info);
			fatal_jump = NULL;
			fail_msg("dtrtrs returned with info %d", (int) info);
		}
		fatal_jump = NULL;
		assert_int_equal(fatal_calls, 2);
		printf("xerbla_: %s\n", fatal_message);
		assert_non_null(strstr(fatal_message, "LAPACK routine DTRTRS: parameter 4 had an illegal value"));
	}

	/* and through our wrapper */
	fatal_jump = &jump;
	if (setjmp(jump) == 0)
	{
		mm_lapack_dgeqp3(2, 2, a, 1, (int32_t[]) {0, 0}, tau, &err);
		fatal_jump = NULL;
		fail_msg("dgeqp3 with lda < m returned");
	}
	fatal_jump = NULL;
	assert_int_equal(fatal_calls, 3);
	assert_non_null(strstr(fatal_message, "DGEQP3"));
}

/*
 * The wrappers on their own: dgeqrf and dtpqrt agree on a stacked matrix
 * (up to signs of rows of R), dgeqp3 pivots, dtrtrs reports a zero pivot.
 */
static void
test_lapack_wrappers(void **state UNUSED)
{
	/* column-major 5 x 3: a 3 x 3 triangle over 2 rows */
	double		stacked[15] = {2, 0, 0, 1, 3,
		1, 4, 0, -1, 2,
	-3, 2, 5, 0.5, 1};
	double		tri[9] = {2, 0, 0, 1, 4, 0, -3, 2, 5};
	double		rows[6] = {1, 3, -1, 2, 0.5, 1};
	double		tau[3];
	double		a[4] = {1, 0, 0, 0};
	double		b[2] = {1, 1};
	int32_t		jpvt[3] = {0, 0, 0};
	double		piv[9] = {1, 0, 0, 0, 10, 0, 0, 0, 3};
	int32_t		zp = 7;
	mm_error	err;
	int			i,
				j;

	assert_int_equal(mm_lapack_dgeqrf(5, 3, stacked, 5, tau, &err), MM_OK);
	assert_int_equal(mm_lapack_dtpqrt(2, 3, 0, tri, 3, rows, 2, NULL, &err),
					 MM_OK);
	for (j = 0; j < 3; j++)
		for (i = 0; i <= j; i++)
		{
			double		sign = (stacked[i * 5 + i] < 0) == (tri[i * 3 + i] < 0) ? 1 : -1;

			assert_true(fabs(stacked[j * 5 + i] - sign * tri[j * 3 + i]) < 1e-13);
		}

	assert_int_equal(mm_lapack_dgeqp3(3, 3, piv, 3, jpvt, tau, &err), MM_OK);
	assert_int_equal(jpvt[0], 2);
	assert_true(fabs(fabs(piv[0]) - 10) < 1e-14);

	assert_int_equal(mm_lapack_dtrtrs('U', 'N', 2, 1, a, 2, b, 2, &zp, &err),
					 MM_ERR_DATA);
	assert_int_equal(zp, 1);
	a[3] = 2;
	b[0] = b[1] = 1;
	assert_int_equal(mm_lapack_dtrtrs('U', 'N', 2, 1, a, 2, b, 2, &zp, &err),
					 MM_OK);
	assert_int_equal(zp, -1);
	assert_true(b[0] == 1 && b[1] == 0.5);
}

static void
test_sizes(void **state UNUSED)
{
	mm_error	err;
	mm_linreg_state *s = NULL;
	int32_t		p;

	assert_int_equal(mm_linreg_state_size(0, 10), 0);
	assert_int_equal(mm_linreg_state_size(-1, 10), 0);
	assert_int_equal(mm_linreg_state_size(MM_LINREG_MAX_FEATURES + 1, 10), 0);
	assert_int_equal(mm_linreg_state_size(3, 0), 0);
	assert_int_equal(mm_linreg_state_size(3, -5), 0);
	assert_int_equal(mm_linreg_state_size(3, INT32_MAX), 0);
	assert_int_equal(mm_linreg_state_size(1, 1),
					 offsetof(mm_linreg_state, data) + 8 * (2 + 4 + 2));
	assert_true(mm_linreg_state_size(MM_LINREG_MAX_FEATURES,
									 mm_linreg_default_block(MM_LINREG_MAX_FEATURES)) > 0);
	for (p = 1; p <= MM_LINREG_MAX_FEATURES; p = p * 2 + 1)
	{
		int32_t		cap = mm_linreg_default_block(p);

		assert_true(cap >= 1);
		assert_true(cap >= 256 ||
					(size_t) (cap + 1) * (p + 1) * sizeof(double) > 4 * 1024 * 1024);
		assert_true((size_t) cap * (p + 1) * sizeof(double) <= 4 * 1024 * 1024);
	}
	assert_int_equal(mm_linreg_default_block(16), 256);
	assert_int_equal(mm_linreg_default_block(100), 404);
	assert_int_equal(mm_linreg_default_block(MM_LINREG_MAX_FEATURES), 127);
	/* parse rejects a bad block capacity */
	{
		mm_linreg_state *e = NewState(2, 4);
		mm_buf		b;

		mm_buf_init(&b);
		assert_int_equal(mm_linreg_serialize(e, &b, &err), MM_OK);
		assert_int_equal(mm_linreg_parse(b.data, b.len, -1, &s, &err),
						 MM_ERR_INVALID);
		assert_null(s);
		mm_buf_free(&b);
		mm_free(e);
	}
	/* merging different widths */
	{
		mm_linreg_state *a = NewState(2, 4);
		mm_linreg_state *c = NewState(3, 4);

		assert_int_equal(mm_linreg_merge(a, c, &err), MM_ERR_INVALID);
		mm_free(a);
		mm_free(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nist),
		cmocka_unit_test(test_rank_deficient),
		cmocka_unit_test(test_ridge),
		cmocka_unit_test(test_wide),
		cmocka_unit_test(test_merge_many),
		cmocka_unit_test(test_sums_of_squares),
		cmocka_unit_test(test_serialize),
		cmocka_unit_test(test_interrupt),
		cmocka_unit_test(test_lapack_wrappers),
		cmocka_unit_test(test_xerbla),
		cmocka_unit_test(test_sizes),
	};

	mm_set_runtime(&test_runtime);
	mm_blas_set_threads(1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
