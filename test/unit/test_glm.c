/*
 * test_glm.c
 *	  Unit tests of the logistic regressions (mm_glm*.c).
 *
 * References:
 *	 - R's glm(family = binomial) on $MM_SHARED_DATA/logit/{mtcars,binary}.csv
 *	   (default ../shared/data from the repository root): every printed digit
 *	   of the coefficients and of the residual deviance must agree.
 *	 - scikit-learn fits in test/unit/fixtures/glm (made by
 *	   test/unit/fixtures/make_glm_fixtures.py): L2 binary, L1 binary,
 *	   multinomial L2 on breast cancer, iris and wine, coefficients within
 *	   1e-6 relative (floored at 1e-3 of the largest, for coefficients near
 *	   zero), with each solver.
 *	 - properties: separation is detected and bounded, interrupts return
 *	   MM_ERR_INTERRUPTED, weights mean replication, layouts agree, errors
 *	   are reported, memory stays within mm_glm_workspace_bytes() and is all
 *	   freed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm_core.h"
#include "mm_glm.h"

#define FIXTURE_DIR "test/unit/fixtures/glm"
#define REL_TOL 1e-6

/* ---------------------------------------------------------------------
 * Test runtime: malloc with accounting, a stop switch
 * ---------------------------------------------------------------------
 */

static size_t live_bytes = 0;
static size_t peak_bytes = 0;
static long live_blocks = 0;
static bool stop_flag = false;
static int	stop_after = -1;		/* >= 0: stop at that poll */
static int	polls = 0;
static int	fail_alloc_after = -1;	/* >= 0: allocations that succeed */

#define HEADER 16

static void *
TestAlloc(size_t size)
{
	unsigned char *p;

	if (fail_alloc_after == 0)
		return NULL;
	if (fail_alloc_after > 0)
		fail_alloc_after--;
	p = malloc(size + HEADER);
	if (p == NULL)
		return NULL;
	memcpy(p, &size, sizeof(size));
	live_bytes += size;
	live_blocks++;
	if (live_bytes > peak_bytes)
		peak_bytes = live_bytes;
	return p + HEADER;
}

static void
TestFree(void *ptr)
{
	unsigned char *p;
	size_t		size;

	if (ptr == NULL)
		return;
	p = (unsigned char *) ptr - HEADER;
	memcpy(&size, p, sizeof(size));
	live_bytes -= size;
	live_blocks--;
	free(p);
}

static void *
TestRealloc(void *ptr, size_t size)
{
	void	   *q = TestAlloc(size);
	size_t		old;

	if (q == NULL || ptr == NULL)
		return q;
	memcpy(&old, (unsigned char *) ptr - HEADER, sizeof(old));
	memcpy(q, ptr, old < size ? old : size);
	TestFree(ptr);
	return q;
}

static bool
TestShouldStop(void)
{
	polls++;
	if (stop_after >= 0 && polls > stop_after)
		return true;
	return stop_flag;
}

static void
TestFatal(const char *message)
{
	fprintf(stderr, "unexpected fatal error: %s\n", message);
	abort();
}

static const mm_runtime test_runtime = {
	TestAlloc, TestRealloc, TestFree, TestShouldStop, TestFatal
};

static int
Setup(void **state)
{
	mm_set_runtime(&test_runtime);
	stop_flag = false;
	stop_after = -1;
	polls = 0;
	fail_alloc_after = -1;
	peak_bytes = live_bytes;
	return 0;
}

static int
Teardown(void **state)
{
	/* every fit frees what it allocated, on success and on error */
	assert_int_equal(live_blocks, 0);
	assert_int_equal(live_bytes, 0);
	mm_set_runtime(NULL);
	return 0;
}

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

static uint64_t rng_state;

static double
RandUnit(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	z ^= z >> 31;
	return (double) (z >> 11) * (1.0 / 9007199254740992.0);
}

static double
RandNormal(void)
{
	double		u = RandUnit();
	double		v = RandUnit();

	return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

static const char *
SharedDataDir(void)
{
	const char *dir = getenv("MM_SHARED_DATA");

	return (dir != NULL && dir[0] != '\0') ? dir : "../shared/data";
}

/* |value - printed| within half a unit of the printed value's last digit */
static void
AssertPrinted(const char *what, double value, double printed, int decimals)
{
	double		half = 0.5 * pow(10.0, -decimals);

	if (!(fabs(value - printed) <= half * (1.0 + 1e-9)))
		fail_msg("%s: %.10g does not round to %.*f", what, value, decimals,
				 printed);
}

/*
 * A CSV file with a header line; fields without embedded commas (quotes
 * are stripped).  Returns the number of rows; columns[c] receives the
 * values of the named column c as doubles (strings: NaN).
 */
#define CSV_MAX_ROWS 1000
#define CSV_MAX_COLS 16

typedef struct Csv
{
	int			rows;
	int			cols;
	char		names[CSV_MAX_COLS][32];
	double	   *values;			/* rows x cols */
} Csv;

static void
SplitCsvLine(char *line, char **fields, int *count)
{
	char	   *s = line;

	*count = 0;
	while (*count < CSV_MAX_COLS)
	{
		char	   *end = strchr(s, ',');

		if (end)
			*end = '\0';
		if (*s == '"')
		{
			s++;
			if (s[0] && s[strlen(s) - 1] == '"')
				s[strlen(s) - 1] = '\0';
		}
		fields[(*count)++] = s;
		if (!end)
			break;
		s = end + 1;
	}
}

static void
ReadCsv(const char *relpath, Csv *csv)
{
	char		path[1024];
	char		line[1024];
	char	   *fields[CSV_MAX_COLS];
	FILE	   *f;
	int			count,
				c;

	memset(csv, 0, sizeof(*csv));
	snprintf(path, sizeof(path), "%s/%s", SharedDataDir(), relpath);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (set MM_SHARED_DATA to the shared data directory)",
				 path);
	assert_non_null(fgets(line, sizeof(line), f));
	line[strcspn(line, "\r\n")] = '\0';
	SplitCsvLine(line, fields, &count);
	csv->cols = count;
	for (c = 0; c < count; c++)
		snprintf(csv->names[c], sizeof(csv->names[c]), "%s", fields[c]);
	csv->values = calloc((size_t) CSV_MAX_ROWS * CSV_MAX_COLS, sizeof(double));
	assert_non_null(csv->values);
	while (fgets(line, sizeof(line), f))
	{
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		assert_true(csv->rows < CSV_MAX_ROWS);
		SplitCsvLine(line, fields, &count);
		assert_int_equal(count, csv->cols);
		for (c = 0; c < count; c++)
		{
			char	   *end;
			double		v = strtod(fields[c], &end);

			csv->values[csv->rows * csv->cols + c] =
				(end != fields[c] && *end == '\0') ? v : NAN;
		}
		csv->rows++;
	}
	fclose(f);
}

static double
CsvValue(const Csv *csv, int row, const char *name)
{
	int			c;

	for (c = 0; c < csv->cols; c++)
		if (strcmp(csv->names[c], name) == 0)
			return csv->values[row * csv->cols + c];
	fail_msg("no column %s", name);
	return NAN;
}

/* Transpose an n x p row-major matrix into column-major */
static double *
ColumnMajor(const double *x, int32_t n, int32_t p)
{
	double	   *c = malloc(sizeof(double) * (size_t) (n * p > 0 ? n * p : 1));
	int32_t		i,
				j;

	assert_non_null(c);
	for (i = 0; i < n; i++)
		for (j = 0; j < p; j++)
			c[i + (size_t) j * n] = x[(size_t) i * p + j];
	return c;
}

static mm_glm_data
RowData(const double *x, int32_t n, int32_t p, const double *w)
{
	mm_glm_data d;

	memset(&d, 0, sizeof(d));
	d.n = n;
	d.p = p;
	d.x = x;
	d.layout = MM_GLM_ROW_MAJOR;
	d.weights = w;
	return d;
}

/* Fit and insist on MM_OK, printing the error otherwise */
static void
FitBinary(const mm_glm_data *d, const double *y, const mm_glm_options *opt,
		  double *coef, double *b0, mm_glm_info *info)
{
	mm_error	err;
	mm_status	st;

	mm_error_clear(&err);
	st = mm_glm_logistic_fit(d, y, opt, coef, b0, info, &err);
	if (st != MM_OK)
		fail_msg("mm_glm_logistic_fit: status %d: %s (%s)", (int) st,
				 err.message, err.detail);
}

static void
FitMultinomial(const mm_glm_data *d, const int32_t *y, int32_t K,
			   const mm_glm_options *opt, double *coef, double *b0,
			   mm_glm_info *info)
{
	mm_error	err;
	mm_status	st;

	mm_error_clear(&err);
	st = mm_glm_multinomial_fit(d, y, K, opt, coef, b0, info, &err);
	if (st != MM_OK)
		fail_msg("mm_glm_multinomial_fit: status %d: %s (%s)", (int) st,
				 err.message, err.detail);
}

static bool
AllFinite(const double *v, int32_t count)
{
	int32_t		i;

	for (i = 0; i < count; i++)
		if (!isfinite(v[i]))
			return false;
	return true;
}

/* ---------------------------------------------------------------------
 * 1-2. R's glm
 * ---------------------------------------------------------------------
 */

static void
CheckMtcars(const mm_glm_data *d, const double *y, mm_glm_solver solver)
{
	mm_glm_options opt;
	mm_glm_info info;
	double		coef[2],
				b0;

	mm_glm_options_default(&opt);
	opt.solver = solver;
	FitBinary(d, y, &opt, coef, &b0, &info);
	assert_true(info.converged);
	assert_false(info.separable);
	AssertPrinted("intercept", b0, 18.86630, 5);
	AssertPrinted("hp", coef[0], 0.03626, 5);
	AssertPrinted("wt", coef[1], -8.08348, 5);
	AssertPrinted("residual deviance", info.deviance, 10.059, 3);
	/* R: "Null deviance: 43.230 on 31 degrees of freedom" */
	AssertPrinted("null deviance", info.null_deviance, 43.230, 3);
	assert_true(info.solver == (solver == MM_GLM_SOLVER_LBFGS ?
								MM_GLM_SOLVER_LBFGS : MM_GLM_SOLVER_NEWTON));
}

static void
test_r_mtcars(void **state)
{
	Csv			csv;
	double		x[32 * 2],
				y[32],
			   *xc;
	mm_glm_data d;
	int			i;

	ReadCsv("logit/mtcars.csv", &csv);
	assert_int_equal(csv.rows, 32);
	for (i = 0; i < 32; i++)
	{
		x[i * 2] = CsvValue(&csv, i, "hp");
		x[i * 2 + 1] = CsvValue(&csv, i, "wt");
		y[i] = CsvValue(&csv, i, "am");
	}
	free(csv.values);

	d = RowData(x, 32, 2, NULL);
	CheckMtcars(&d, y, MM_GLM_SOLVER_AUTO);
	CheckMtcars(&d, y, MM_GLM_SOLVER_LBFGS);

	xc = ColumnMajor(x, 32, 2);
	d.x = xc;
	d.layout = MM_GLM_COL_MAJOR;
	CheckMtcars(&d, y, MM_GLM_SOLVER_NEWTON);
	free(xc);
}

static void
test_r_admissions(void **state)
{
	Csv			csv;
	int32_t		n,
				p = 5,
				pad = 7,
				i,
				j,
				run;
	double	   *x,
			   *xpad,
			   *xc,
			   *y;
	mm_glm_data d;

	ReadCsv("logit/binary.csv", &csv);
	n = csv.rows;
	assert_int_equal(n, 400);
	x = malloc(sizeof(double) * n * p);
	xpad = malloc(sizeof(double) * n * pad);
	y = malloc(sizeof(double) * n);
	assert_non_null(x);
	assert_non_null(xpad);
	assert_non_null(y);
	for (i = 0; i < n; i++)
	{
		int			rank = (int) CsvValue(&csv, i, "rank");

		/* factor(rank) with level 1 as the reference */
		x[i * p + 0] = CsvValue(&csv, i, "gre");
		x[i * p + 1] = CsvValue(&csv, i, "gpa");
		x[i * p + 2] = rank == 2;
		x[i * p + 3] = rank == 3;
		x[i * p + 4] = rank == 4;
		y[i] = CsvValue(&csv, i, "admit");
		for (j = 0; j < pad; j++)
			xpad[i * pad + j] = j < p ? x[i * p + j] : NAN;
	}
	free(csv.values);
	xc = ColumnMajor(x, n, p);

	for (run = 0; run < 4; run++)
	{
		mm_glm_options opt;
		mm_glm_info info;
		double		coef[5],
					b0;

		mm_glm_options_default(&opt);
		d = RowData(x, n, p, NULL);
		if (run == 1)
		{
			/* a leading dimension with padding that must never be read */
			d.x = xpad;
			d.ldx = pad;
		}
		else if (run == 2)
		{
			d.x = xc;
			d.layout = MM_GLM_COL_MAJOR;
		}
		else if (run == 3)
			opt.solver = MM_GLM_SOLVER_LBFGS;
		FitBinary(&d, y, &opt, coef, &b0, &info);
		assert_true(info.converged);
		assert_false(info.separable);
		AssertPrinted("intercept", b0, -3.989979, 6);
		AssertPrinted("gre", coef[0], 0.002264, 6);
		AssertPrinted("gpa", coef[1], 0.804038, 6);
		AssertPrinted("rank2", coef[2], -0.675443, 6);
		AssertPrinted("rank3", coef[3], -1.340204, 6);
		AssertPrinted("rank4", coef[4], -1.551464, 6);
		AssertPrinted("residual deviance", info.deviance, 458.52, 2);
		/* R: "Null deviance: 499.98 on 399 degrees of freedom" */
		AssertPrinted("null deviance", info.null_deviance, 499.98, 2);
		if (run != 3)
			assert_true(info.iterations <= 10);
	}
	free(x);
	free(xpad);
	free(xc);
	free(y);
}

/* ---------------------------------------------------------------------
 * 3. scikit-learn fixtures
 * ---------------------------------------------------------------------
 */

typedef struct Dataset
{
	int32_t		n;
	int32_t		p;
	int32_t		classes;
	double	   *x;				/* row-major */
	int32_t    *label;
	double	   *ylabel;			/* labels as doubles, for binary */
} Dataset;

static void
LoadDataset(const char *name, Dataset *ds)
{
	char		path[512];
	FILE	   *f;
	int32_t		i,
				j;

	snprintf(path, sizeof(path), "%s/%s.data", FIXTURE_DIR, name);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (run the tests from the repository root)",
				 path);
	assert_int_equal(fscanf(f, "%d %d %d", &ds->n, &ds->p, &ds->classes), 3);
	ds->x = malloc(sizeof(double) * ds->n * ds->p);
	ds->label = malloc(sizeof(int32_t) * ds->n);
	ds->ylabel = malloc(sizeof(double) * ds->n);
	assert_non_null(ds->x);
	assert_non_null(ds->label);
	assert_non_null(ds->ylabel);
	for (i = 0; i < ds->n; i++)
	{
		assert_int_equal(fscanf(f, "%d", &ds->label[i]), 1);
		ds->ylabel[i] = ds->label[i];
		for (j = 0; j < ds->p; j++)
			assert_int_equal(fscanf(f, "%lf", &ds->x[i * ds->p + j]), 1);
	}
	fclose(f);
}

static void
FreeDataset(Dataset *ds)
{
	free(ds->x);
	free(ds->label);
	free(ds->ylabel);
}

/* Worst |a - b| / max(|b|, 1e-3 max|b|) over count values */
static double
WorstRelative(const double *a, const double *b, int32_t count)
{
	double		top = 0.0,
				worst = 0.0;
	int32_t		i;

	for (i = 0; i < count; i++)
		if (fabs(b[i]) > top)
			top = fabs(b[i]);
	for (i = 0; i < count; i++)
	{
		double		scale = fabs(b[i]) > 1e-3 * top ? fabs(b[i]) : 1e-3 * top;
		double		r = scale > 0.0 ? fabs(a[i] - b[i]) / scale : fabs(a[i]);

		if (!(r <= worst))
			worst = r;
	}
	return worst;
}

static void
test_sklearn_fixtures(void **state)
{
	char		path[512];
	char		word[64],
				name[64],
				dsname[64];
	FILE	   *f;
	int			cases = 0;
	double		worst_all = 0.0;

	snprintf(path, sizeof(path), "%s/cases.txt", FIXTURE_DIR);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (run the tests from the repository root)",
				 path);
	while (fscanf(f, "%63s", word) == 1)
	{
		int32_t		K,
					fit_intercept,
					weighted,
					rows,
					count,
					i,
					s;
		double		l2,
					l1;
		double	   *ref_coef,
				   *ref_b0,
				   *coef,
				   *b0,
				   *w = NULL;
		Dataset		ds;

		if (word[0] == '#')
		{
			int			c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		assert_string_equal(word, "case");
		assert_int_equal(fscanf(f, "%63s %63s %d %lf %lf %d %d", name, dsname,
								&K, &l2, &l1, &fit_intercept, &weighted), 7);
		LoadDataset(dsname, &ds);
		assert_int_equal(ds.classes, K);
		rows = K == 2 ? 1 : K;
		count = rows * ds.p;
		ref_coef = malloc(sizeof(double) * count);
		ref_b0 = malloc(sizeof(double) * rows);
		coef = malloc(sizeof(double) * count);
		b0 = malloc(sizeof(double) * rows);
		assert_true(ref_coef && ref_b0 && coef && b0);
		assert_int_equal(fscanf(f, "%63s", word), 1);
		assert_string_equal(word, "coef");
		for (i = 0; i < count; i++)
			assert_int_equal(fscanf(f, "%lf", &ref_coef[i]), 1);
		assert_int_equal(fscanf(f, "%63s", word), 1);
		assert_string_equal(word, "intercept");
		for (i = 0; i < rows; i++)
			assert_int_equal(fscanf(f, "%lf", &ref_b0[i]), 1);
		if (weighted)
		{
			w = malloc(sizeof(double) * ds.n);
			assert_non_null(w);
			for (i = 0; i < ds.n; i++)
				w[i] = 1.0 + (i % 3);
		}

		/* each solver that applies */
		for (s = 0; s < 2; s++)
		{
			mm_glm_options opt;
			mm_glm_info info;
			mm_glm_data d = RowData(ds.x, ds.n, ds.p, w);
			double		worst;

			mm_glm_options_default(&opt);
			opt.l2 = l2;
			opt.l1 = l1;
			opt.fit_intercept = fit_intercept != 0;
			opt.tol = 1e-13;
			opt.gtol = 1e-11;
			if (s == 1)
			{
				if (l1 > 0.0)
					break;
				opt.solver = MM_GLM_SOLVER_LBFGS;
				opt.max_iter = 5000;
			}
			peak_bytes = live_bytes;
			if (K == 2)
				FitBinary(&d, ds.ylabel, &opt, coef, b0, &info);
			else
				FitMultinomial(&d, ds.label, K, &opt, coef, b0, &info);
			if (!info.converged)
				fail_msg("%s (solver %d): not converged after %d iterations, stop %d, gradient %g",
						 name, (int) info.solver, (int) info.iterations,
						 (int) info.stop, info.grad_max);
			assert_true(peak_bytes <= mm_glm_workspace_bytes(ds.n, ds.p, K, &opt));
			worst = WorstRelative(coef, ref_coef, count);
			if (fit_intercept)
			{
				double		wb = WorstRelative(b0, ref_b0, rows);

				if (wb > worst)
					worst = wb;
			}
			else
				for (i = 0; i < rows; i++)
					assert_true(b0[i] == 0.0);
			if (!(worst <= REL_TOL))
				fail_msg("%s (solver %d): coefficients differ from scikit-learn's by %g relative",
						 name, (int) info.solver, worst);
			if (worst > worst_all)
				worst_all = worst;
			if (getenv("MM_GLM_VERBOSE"))
				printf("   %-24s solver %d: %3d iterations, worst %.2e\n", name,
					   (int) info.solver, (int) info.iterations, worst);
			if (l1 > 0.0)
			{
				/* the same coefficients are exactly zero */
				for (i = 0; i < count; i++)
					if ((coef[i] == 0.0) != (ref_coef[i] == 0.0))
						fail_msg("%s: coefficient %d is %g, scikit-learn's %g",
								 name, (int) i, coef[i], ref_coef[i]);
				assert_int_equal(info.solver, MM_GLM_SOLVER_PROX_NEWTON);
			}
			if (K > 2 && fit_intercept)
			{
				double		sum = 0.0;

				for (i = 0; i < K; i++)
					sum += b0[i];
				assert_true(fabs(sum) < 1e-10);
			}
			assert_false(info.separable);
		}
		cases++;
		free(ref_coef);
		free(ref_b0);
		free(coef);
		free(b0);
		free(w);
		FreeDataset(&ds);
	}
	fclose(f);
	assert_true(cases >= 10);
	printf("   %d scikit-learn cases, worst relative difference %.2e\n",
		   cases, worst_all);
}

/*
 * K = 2 multinomial is binary with half the l2: W_1 = -W_0 = beta / 2.
 */
static void
test_two_class_multinomial(void **state)
{
	Dataset		ds;
	mm_glm_options opt;
	mm_glm_info info;
	mm_glm_data d;
	double		beta[30],
				b,
				W[60],
				bw[2];
	int32_t		j;

	LoadDataset("breast_cancer", &ds);
	d = RowData(ds.x, ds.n, ds.p, NULL);
	mm_glm_options_default(&opt);
	opt.tol = 1e-13;
	opt.gtol = 1e-11;
	opt.l2 = 0.5;
	FitBinary(&d, ds.ylabel, &opt, beta, &b, &info);
	opt.l2 = 1.0;
	FitMultinomial(&d, ds.label, 2, &opt, W, bw, &info);
	for (j = 0; j < 30; j++)
	{
		assert_true(fabs(W[30 + j] - beta[j] / 2) <= 1e-9 * (1 + fabs(beta[j])));
		assert_true(fabs(W[j] + W[30 + j]) <= 1e-12 * (1 + fabs(beta[j])));
	}
	assert_true(fabs(bw[1] - b / 2) <= 1e-9 * (1 + fabs(b)));
	FreeDataset(&ds);
}

/* ---------------------------------------------------------------------
 * 4. Separation
 * ---------------------------------------------------------------------
 */

static void
test_complete_separation(void **state)
{
	double		x[20],
				y[20],
				coef[1],
				b0;
	mm_glm_data d;
	mm_glm_options opt;
	mm_glm_info info;
	int			i,
				s;

	for (i = 0; i < 20; i++)
	{
		x[i] = i + 1;
		y[i] = i >= 10;
	}
	d = RowData(x, 20, 1, NULL);
	for (s = 0; s < 2; s++)
	{
		mm_glm_options_default(&opt);
		opt.solver = s == 0 ? MM_GLM_SOLVER_NEWTON : MM_GLM_SOLVER_LBFGS;
		FitBinary(&d, y, &opt, coef, &b0, &info);
		assert_true(info.separable);
		assert_false(info.converged);
		assert_int_equal(info.stop, MM_GLM_STOP_SEPARATED);
		assert_true(info.iterations < 60);
		assert_true(isfinite(coef[0]) && isfinite(b0));
		assert_true(isfinite(info.deviance) && info.deviance >= 0.0);
		assert_true(info.deviance < info.null_deviance / 4);
		assert_true(coef[0] > 0.0);
		/* the boundary sits between 10 and 11 */
		assert_true(-b0 / coef[0] > 10.0 && -b0 / coef[0] < 11.0);
	}

	/* a penalty gives a finite optimum */
	mm_glm_options_default(&opt);
	opt.l2 = 0.1;
	FitBinary(&d, y, &opt, coef, &b0, &info);
	assert_true(info.converged);
	assert_false(info.separable);

	/* so does l1 */
	mm_glm_options_default(&opt);
	opt.l1 = 0.1;
	FitBinary(&d, y, &opt, coef, &b0, &info);
	assert_true(info.converged);
	assert_false(info.separable);
}

/*
 * Quasi-complete separation: x1 <= 5 is 0 except at x1 = 5, where both
 * labels occur; x2 is noise that overlaps.  The coefficient of x1 diverges,
 * that of x2 stays finite.
 */
static void
test_quasi_separation(void **state)
{
	double		x[40 * 2],
				y[40],
				coef[2],
				b0;
	mm_glm_data d;
	mm_glm_options opt;
	mm_glm_info info;
	int			i;

	rng_state = 7;
	for (i = 0; i < 40; i++)
	{
		x[i * 2] = 1 + (i % 9);
		x[i * 2 + 1] = RandNormal();
		y[i] = x[i * 2] > 5 ? 1.0 : (x[i * 2] == 5 ? (double) (i % 2) : 0.0);
	}
	d = RowData(x, 40, 2, NULL);
	mm_glm_options_default(&opt);
	FitBinary(&d, y, &opt, coef, &b0, &info);
	assert_true(info.separable);
	assert_false(info.converged);
	assert_true(info.iterations < 60);
	assert_true(AllFinite(coef, 2) && isfinite(b0));
	assert_true(info.deviance > 1.0);	/* the rows at x1 = 5 remain */
}

/* Iris without penalty: setosa is linearly separable from the others */
static void
test_multinomial_separation(void **state)
{
	Dataset		ds;
	mm_glm_options opt;
	mm_glm_info info;
	mm_glm_data d;
	double		coef[12],
				b0[3];
	int			s;

	LoadDataset("iris", &ds);
	d = RowData(ds.x, ds.n, ds.p, NULL);
	for (s = 0; s < 2; s++)
	{
		mm_glm_options_default(&opt);
		opt.solver = s == 0 ? MM_GLM_SOLVER_NEWTON : MM_GLM_SOLVER_LBFGS;
		FitMultinomial(&d, ds.label, 3, &opt, coef, b0, &info);
		if (s == 0)
		{
			assert_true(info.separable);
			assert_false(info.converged);
			assert_true(info.iterations < 60);
		}
		else
		{
			/*
			 * L-BFGS creeps: the rest of the fit has not settled when its
			 * tolerances are met, so no certificate; R's warning applies
			 */
			assert_true(info.separable || info.saturated_rows > 0);
			assert_true(info.iterations < 1000);
		}
		assert_true(AllFinite(coef, 12) && AllFinite(b0, 3));
		assert_true(isfinite(info.deviance));
	}
	FreeDataset(&ds);
}

/* ---------------------------------------------------------------------
 * 5. Interrupts
 * ---------------------------------------------------------------------
 */

static void
test_interrupt(void **state)
{
	Dataset		ds;
	mm_glm_options opt;
	mm_glm_info info;
	mm_glm_data d;
	mm_error	err;
	double		coef[39],
				b0[3];
	int			s,
				after;

	LoadDataset("wine", &ds);
	d = RowData(ds.x, ds.n, ds.p, NULL);
	for (after = 0; after <= 3; after += 3)
		for (s = 0; s < 4; s++)
		{
			mm_status	st;

			mm_glm_options_default(&opt);
			opt.l2 = 1.0;
			if (s == 1)
				opt.solver = MM_GLM_SOLVER_LBFGS;
			if (s == 2)
				opt.l1 = 0.5;
			polls = 0;
			stop_after = after;
			mm_error_clear(&err);
			if (s < 3)
			{
				/* class 0 against the others */
				double		y[178];
				int			i;

				for (i = 0; i < ds.n; i++)
					y[i] = ds.label[i] == 0;
				st = mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err);
			}
			else
				st = mm_glm_multinomial_fit(&d, ds.label, 3, &opt, coef, b0,
											&info, &err);
			assert_int_equal(st, MM_ERR_INTERRUPTED);
			assert_int_equal(err.status, MM_ERR_INTERRUPTED);
			assert_true(polls == after + 1);
			assert_int_equal(live_bytes, 0);
		}
	stop_after = -1;
	FreeDataset(&ds);
}

/* The in-Hessian poll: a large problem, stopped inside its first Hessian */
static void
test_interrupt_in_hessian(void **state)
{
	int32_t		n = 40000,
				p = 8,
				i,
				j;
	double	   *x = malloc(sizeof(double) * n * p);
	double	   *y = malloc(sizeof(double) * n);
	double		coef[8],
				b0;
	mm_glm_data d;
	mm_glm_info info;
	mm_error	err;

	assert_non_null(x);
	assert_non_null(y);
	rng_state = 3;
	for (i = 0; i < n; i++)
	{
		double		eta = 0.3;

		for (j = 0; j < p; j++)
		{
			x[i * p + j] = RandNormal();
			eta += (j - 3.5) * 0.2 * x[i * p + j];
		}
		y[i] = RandUnit() < 1.0 / (1.0 + exp(-eta));
	}
	d = RowData(x, n, p, NULL);
	/* poll 1: the first iteration; the Hessian then polls every 16 blocks */
	polls = 0;
	stop_after = 1;
	assert_int_equal(mm_glm_logistic_fit(&d, y, NULL, coef, &b0, &info, &err),
					 MM_ERR_INTERRUPTED);
	stop_after = -1;

	/* and it fits, with its recovering the generating coefficients */
	FitBinary(&d, y, NULL, coef, &b0, &info);
	assert_true(info.converged);
	for (j = 0; j < p; j++)
		assert_true(fabs(coef[j] - (j - 3.5) * 0.2) < 0.05);
	free(x);
	free(y);
}

/* ---------------------------------------------------------------------
 * Properties
 * ---------------------------------------------------------------------
 */

/* Integer weights are row replication; zero weights remove rows */
static void
test_weights_replicate(void **state)
{
	Dataset		ds,
				rep;
	mm_glm_options opt;
	mm_glm_info info;
	mm_glm_data d;
	double	   *w;
	double		c1[39],
				c2[39],
				b1[3],
				b2[3];
	int32_t		i,
				r,
				j;

	LoadDataset("wine", &ds);
	w = malloc(sizeof(double) * ds.n);
	rep.p = ds.p;
	rep.n = 0;
	rep.x = malloc(sizeof(double) * ds.n * 3 * ds.p);
	rep.label = malloc(sizeof(int32_t) * ds.n * 3);
	assert_true(w && rep.x && rep.label);
	for (i = 0; i < ds.n; i++)
	{
		w[i] = i % 4;
		for (r = 0; r < (int32_t) w[i]; r++)
		{
			for (j = 0; j < ds.p; j++)
				rep.x[rep.n * ds.p + j] = ds.x[i * ds.p + j];
			rep.label[rep.n++] = ds.label[i];
		}
	}
	mm_glm_options_default(&opt);
	opt.l2 = 0.7;
	opt.tol = 1e-13;
	opt.gtol = 1e-11;
	d = RowData(ds.x, ds.n, ds.p, w);
	FitMultinomial(&d, ds.label, 3, &opt, c1, b1, &info);
	d = RowData(rep.x, rep.n, rep.p, NULL);
	FitMultinomial(&d, rep.label, 3, &opt, c2, b2, &info);
	assert_true(WorstRelative(c1, c2, 39) < 1e-9);
	assert_true(WorstRelative(b1, b2, 3) < 1e-9);
	free(w);
	free(rep.x);
	free(rep.label);
	FreeDataset(&ds);
}

/*
 * A larger random multinomial problem over several row blocks: Newton and
 * L-BFGS, row- and column-major, agree; the estimate is near the truth.
 */
static void
test_random_multinomial(void **state)
{
	int32_t		n = 6000,
				p = 12,
				K = 4,
				i,
				j,
				k,
				run;
	double	   *x = malloc(sizeof(double) * n * p);
	int32_t    *y = malloc(sizeof(int32_t) * n);
	double		truth[4 * 12],
				coef[3][4 * 12],
				b0[3][4];
	double	   *xc;

	assert_non_null(x);
	assert_non_null(y);
	rng_state = 11;
	for (k = 0; k < K; k++)
		for (j = 0; j < p; j++)
			truth[k * p + j] = (k == 0) ? 0.0 : 0.6 * RandNormal();
	for (i = 0; i < n; i++)
	{
		double		e[4],
					top = -INFINITY,
					s = 0.0,
					u = RandUnit();

		for (j = 0; j < p; j++)
			x[i * p + j] = RandNormal() * (1 + j % 3);
		for (k = 0; k < K; k++)
		{
			e[k] = 0.2 * k;
			for (j = 0; j < p; j++)
				e[k] += truth[k * p + j] * x[i * p + j] / (1 + j % 3);
			if (e[k] > top)
				top = e[k];
		}
		for (k = 0; k < K; k++)
			s += (e[k] = exp(e[k] - top));
		y[i] = K - 1;
		for (k = 0; k < K; k++)
		{
			u -= e[k] / s;
			if (u < 0)
			{
				y[i] = k;
				break;
			}
		}
	}
	xc = ColumnMajor(x, n, p);
	for (run = 0; run < 3; run++)
	{
		mm_glm_options opt;
		mm_glm_info info;
		mm_glm_data d = RowData(run == 2 ? xc : x, n, p, NULL);

		if (run == 2)
			d.layout = MM_GLM_COL_MAJOR;
		mm_glm_options_default(&opt);
		opt.l2 = 2.0;
		opt.tol = 1e-13;
		opt.gtol = 1e-10;
		if (run == 1)
			opt.solver = MM_GLM_SOLVER_LBFGS;
		peak_bytes = live_bytes;
		FitMultinomial(&d, y, K, &opt, coef[run], b0[run], &info);
		assert_true(info.converged);
		assert_true(peak_bytes <= mm_glm_workspace_bytes(n, p, K, &opt));
		if (run == 0)
			assert_true(info.iterations <= 12);
	}
	assert_true(WorstRelative(coef[1], coef[0], K * p) < 1e-6);
	assert_true(WorstRelative(coef[2], coef[0], K * p) < 1e-10);
	assert_true(WorstRelative(b0[1], b0[0], K) < 1e-6);
	/* centered truth against the estimate, loosely */
	for (j = 0; j < p; j++)
	{
		double		mean = 0.0;

		for (k = 0; k < K; k++)
			mean += truth[k * p + j] / K;
		for (k = 0; k < K; k++)
			assert_true(fabs(coef[0][k * p + j] * (1 + j % 3) -
							 (truth[k * p + j] - mean)) < 0.15);
	}
	free(x);
	free(xc);
	free(y);
}

/* An l1 penalty beyond the largest gradient zeroes every coefficient */
static void
test_l1_all_zero(void **state)
{
	Dataset		ds;
	mm_glm_options opt;
	mm_glm_info info;
	mm_glm_data d;
	double		coef[30],
				b0,
				ybar = 0.0;
	int32_t		i;

	LoadDataset("breast_cancer", &ds);
	d = RowData(ds.x, ds.n, ds.p, NULL);
	for (i = 0; i < ds.n; i++)
		ybar += ds.ylabel[i] / ds.n;
	mm_glm_options_default(&opt);
	opt.l1 = 1e4;
	FitBinary(&d, ds.ylabel, &opt, coef, &b0, &info);
	assert_true(info.converged);
	for (i = 0; i < 30; i++)
		assert_true(coef[i] == 0.0);
	assert_true(fabs(b0 - log(ybar / (1 - ybar))) < 1e-12);
	assert_true(fabs(info.deviance - info.null_deviance) < 1e-9);
	FreeDataset(&ds);
}

/* Intercept-only models: closed forms */
static void
test_intercept_only(void **state)
{
	double		y[10] = {1, 0, 0, 1, 1, 1, 0, 1, 1, 1};
	int32_t		label[10] = {0, 1, 2, 2, 2, 1, 2, 2, 0, 2};
	double		b0,
				bk[3];
	mm_glm_data d = RowData(NULL, 10, 0, NULL);
	mm_glm_info info;

	FitBinary(&d, y, NULL, NULL, &b0, &info);
	assert_true(info.converged);
	assert_true(fabs(b0 - log(7.0 / 3.0)) < 1e-12);
	assert_true(fabs(info.deviance - info.null_deviance) < 1e-12);

	FitMultinomial(&d, label, 3, NULL, NULL, bk, &info);
	assert_true(info.converged);
	{
		double		mean = (log(0.2) + log(0.2) + log(0.6)) / 3;

		assert_true(fabs(bk[0] - (log(0.2) - mean)) < 1e-12);
		assert_true(fabs(bk[2] - (log(0.6) - mean)) < 1e-12);
	}
}

static void
ExpectError(mm_status expected, mm_status got, const mm_error *err)
{
	if (got != expected)
		fail_msg("expected status %d, got %d (%s)", (int) expected, (int) got,
				 err->message);
	assert_int_equal(err->status, expected);
	assert_true(err->message[0] != '\0');
}

static void
test_errors(void **state)
{
	double		x[12 * 3],
				y[12],
				w[12],
				coef[9],
				b0[3];
	int32_t		label[12];
	mm_glm_data d;
	mm_glm_options opt;
	mm_glm_info info;
	mm_error	err;
	int			i;

	rng_state = 5;
	for (i = 0; i < 12; i++)
	{
		x[i * 3] = RandNormal();
		x[i * 3 + 1] = RandNormal();
		x[i * 3 + 2] = 2 * x[i * 3] - x[i * 3 + 1];	/* collinear */
		y[i] = i % 2;
		label[i] = i % 3;
		w[i] = 1.0;
	}
	d = RowData(x, 12, 3, NULL);

	/* rank deficient without penalty; fine with l2 */
	mm_glm_options_default(&opt);
	ExpectError(MM_ERR_DATA, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);
	assert_true(strstr(err.message, "rank deficient") != NULL);
	ExpectError(MM_ERR_DATA, mm_glm_multinomial_fit(&d, label, 3, &opt, coef, b0, &info, &err), &err);
	opt.l2 = 0.1;
	FitBinary(&d, y, &opt, coef, b0, &info);
	assert_true(info.converged);
	FitMultinomial(&d, label, 3, &opt, coef, b0, &info);
	assert_true(info.converged);

	/* options */
	mm_glm_options_default(&opt);
	opt.l2 = -1;
	ExpectError(MM_ERR_INVALID, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);
	opt.l2 = NAN;
	ExpectError(MM_ERR_INVALID, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);
	mm_glm_options_default(&opt);
	opt.max_iter = -2;
	ExpectError(MM_ERR_INVALID, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);
	mm_glm_options_default(&opt);
	opt.l1 = 1;
	ExpectError(MM_ERR_UNSUPPORTED, mm_glm_multinomial_fit(&d, label, 3, &opt, coef, b0, &info, &err), &err);
	opt.solver = MM_GLM_SOLVER_LBFGS;
	ExpectError(MM_ERR_UNSUPPORTED, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);
	mm_glm_options_default(&opt);
	opt.solver = (mm_glm_solver) 42;
	ExpectError(MM_ERR_INVALID, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);

	/* data */
	mm_glm_options_default(&opt);
	opt.l2 = 1;
	d.ldx = 2;
	ExpectError(MM_ERR_INVALID, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);
	d.ldx = 0;
	d.n = 0;
	ExpectError(MM_ERR_DATA, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);
	d.n = 12;
	x[7] = NAN;
	ExpectError(MM_ERR_DATA, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);
	x[7] = INFINITY;
	ExpectError(MM_ERR_DATA, mm_glm_multinomial_fit(&d, label, 3, &opt, coef, b0, &info, &err), &err);
	x[7] = 0.5;
	y[3] = 0.5;
	ExpectError(MM_ERR_DATA, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);
	y[3] = 1;
	label[4] = 3;
	ExpectError(MM_ERR_DATA, mm_glm_multinomial_fit(&d, label, 3, &opt, coef, b0, &info, &err), &err);
	label[4] = -1;
	ExpectError(MM_ERR_DATA, mm_glm_multinomial_fit(&d, label, 3, &opt, coef, b0, &info, &err), &err);
	label[4] = 1;
	ExpectError(MM_ERR_INVALID, mm_glm_multinomial_fit(&d, label, 1, &opt, coef, b0, &info, &err), &err);
	/* a class without rows, and a class with only zero weights */
	ExpectError(MM_ERR_DATA, mm_glm_multinomial_fit(&d, label, 4, &opt, coef, b0, &info, &err), &err);
	d.weights = w;
	for (i = 0; i < 12; i++)
		w[i] = label[i] == 2 ? 0.0 : 1.0;
	ExpectError(MM_ERR_DATA, mm_glm_multinomial_fit(&d, label, 3, &opt, coef, b0, &info, &err), &err);
	w[0] = -1;
	ExpectError(MM_ERR_DATA, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);
	for (i = 0; i < 12; i++)
		w[i] = 0;
	ExpectError(MM_ERR_DATA, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);
	d.weights = NULL;
	/* one class only */
	for (i = 0; i < 12; i++)
		y[i] = 1;
	ExpectError(MM_ERR_DATA, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);
	/* nothing to fit */
	y[0] = 0;
	d.p = 0;
	opt.fit_intercept = false;
	ExpectError(MM_ERR_INVALID, mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err), &err);
	/* NULL arguments */
	d.p = 3;
	ExpectError(MM_ERR_INVALID, mm_glm_logistic_fit(NULL, y, &opt, coef, b0, &info, &err), &err);
	ExpectError(MM_ERR_INVALID, mm_glm_logistic_fit(&d, NULL, &opt, coef, b0, &info, &err), &err);
}

/* max_iter is honoured and reported */
static void
test_max_iter(void **state)
{
	Dataset		ds;
	mm_glm_options opt;
	mm_glm_info info;
	mm_glm_data d;
	double		coef[30],
				b0;

	LoadDataset("breast_cancer", &ds);
	d = RowData(ds.x, ds.n, ds.p, NULL);
	mm_glm_options_default(&opt);
	opt.l2 = 1;
	opt.max_iter = 2;
	FitBinary(&d, ds.ylabel, &opt, coef, &b0, &info);
	assert_false(info.converged);
	assert_int_equal(info.stop, MM_GLM_STOP_MAX_ITER);
	assert_int_equal(info.iterations, 2);
	assert_true(AllFinite(coef, 30));
	FreeDataset(&ds);
}

/* Every allocation failure is MM_ERR_NOMEM and leaks nothing */
static void
test_out_of_memory(void **state)
{
	Dataset		ds;
	mm_glm_data d;
	double		coef[39],
				b0[3],
				y[178];
	int			kind,
				i;

	LoadDataset("wine", &ds);
	d = RowData(ds.x, ds.n, ds.p, NULL);
	for (i = 0; i < ds.n; i++)
		y[i] = ds.label[i] == 1;
	for (kind = 0; kind < 4; kind++)
	{
		int			after;
		bool		done = false;

		for (after = 0; !done && after < 50; after++)
		{
			mm_glm_options opt;
			mm_glm_info info;
			mm_error	err;
			mm_status	st;

			mm_glm_options_default(&opt);
			opt.l2 = kind == 1 ? 0.0 : 1.0;
			if (kind == 2)
				opt.solver = MM_GLM_SOLVER_LBFGS;
			fail_alloc_after = after;
			if (kind == 3)
			{
				opt.l1 = 0.5;
				st = mm_glm_logistic_fit(&d, y, &opt, coef, b0, &info, &err);
			}
			else
				st = mm_glm_multinomial_fit(&d, ds.label, 3, &opt, coef, b0,
											&info, &err);
			fail_alloc_after = -1;
			if (st == MM_OK)
				done = true;
			else
				ExpectError(MM_ERR_NOMEM, st, &err);
			assert_int_equal(live_bytes, 0);
		}
		assert_true(done);
	}
	FreeDataset(&ds);
}

static void
test_workspace_bytes(void **state)
{
	mm_glm_options opt;

	mm_glm_options_default(&opt);
	assert_true(mm_glm_workspace_bytes(100, 5, 2, &opt) > 0);
	assert_true(mm_glm_workspace_bytes(100, 5, 3, NULL) > 0);
	assert_int_equal(mm_glm_workspace_bytes(0, 5, 2, &opt), 0);
	assert_int_equal(mm_glm_workspace_bytes(100, 5, 1, &opt), 0);
	/* beyond size_t, and beyond int32 parameters */
	assert_int_equal(mm_glm_workspace_bytes(INT32_MAX, INT32_MAX - 1, 50000, &opt), 0);
	/* L-BFGS needs no Hessian */
	opt.solver = MM_GLM_SOLVER_LBFGS;
	assert_true(mm_glm_workspace_bytes(100, 300, 2, &opt) <
				mm_glm_workspace_bytes(100, 300, 2, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_r_mtcars, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_r_admissions, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_sklearn_fixtures, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_two_class_multinomial, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_complete_separation, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_quasi_separation, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_multinomial_separation, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_interrupt, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_in_hessian, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_weights_replicate, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_random_multinomial, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_l1_all_zero, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_intercept_only, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_errors, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_max_iter, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_out_of_memory, Setup, Teardown),
		cmocka_unit_test_setup_teardown(test_workspace_bytes, Setup, Teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
