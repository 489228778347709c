/*
 * cd_test_common.h
 *	  What test_enet.c and test_svm.c share: the test runtime (malloc with
 *	  failure injection, a stop flag polled as mm_should_stop) and the
 *	  reader of the scikit-learn fixtures in test/unit/fixtures/cd (made by
 *	  test/unit/fixtures/make_cd_fixtures.py; see its header for the
 *	  formats).  Paths are relative to the repository root, where `make unit`
 *	  runs the tests.
 *
 * Functions are static inline, as in model_fixtures.h, so that a file using
 * only some of them compiles without unused-function warnings; each test
 * file includes this header once and gets its own runtime state.
 */
#ifndef CD_TEST_COMMON_H
#define CD_TEST_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm_core.h"

#define FIXTURE_DIR "test/unit/fixtures/cd/"

/* ---------------------------------------------------------------------
 * Test runtime: malloc with optional failure injection, a stop flag
 * ---------------------------------------------------------------------
 */

static bool stop_flag = false;
static int	stop_after = 0;			/* say stop at the n-th poll; 0 = never */
static int	polls = 0;
static int	alloc_fail_at = 0;		/* fail the n-th allocation; 0 = never */
static int	alloc_count = 0;

static inline void *
TestAlloc(size_t size)
{
	if (alloc_fail_at > 0 && ++alloc_count == alloc_fail_at)
		return NULL;
	return malloc(size == 0 ? 1 : size);
}

static inline void *
TestRealloc(void *ptr, size_t size)
{
	return realloc(ptr, size == 0 ? 1 : size);
}

static inline void
TestFree(void *ptr)
{
	free(ptr);
}

static inline bool
TestShouldStop(void)
{
	polls++;
	return stop_flag || (stop_after > 0 && polls >= stop_after);
}

static inline void
TestFatal(const char *message)
{
	fprintf(stderr, "unexpected fatal error: %s\n", message);
	abort();
}

static const mm_runtime test_runtime = {
	TestAlloc, TestRealloc, TestFree, TestShouldStop, TestFatal
};

static inline int
Setup(void **state)
{
	mm_set_runtime(&test_runtime);
	stop_flag = false;
	stop_after = 0;
	polls = 0;
	alloc_fail_at = 0;
	alloc_count = 0;
	return 0;
}

static inline int
Teardown(void **state)
{
	mm_set_runtime(NULL);
	return 0;
}

/* ---------------------------------------------------------------------
 * Fixture files
 * ---------------------------------------------------------------------
 */

/* A data file: rows of cols numbers, after a "rows cols" header. */
typedef struct Table
{
	int64_t		rows;
	int32_t		cols;			/* values per row as stored */
	double	   *v;				/* row-major */
} Table;

/* Next line that is not a comment or blank; NULL at the end. */
static inline char *
NextLine(FILE *fp, char **buf, size_t *cap)
{
	for (;;)
	{
		char	   *s;

		if (getline(buf, cap, fp) < 0)
			return NULL;
		s = *buf;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '#' && *s != '\n' && *s != '\0')
			return s;
	}
}

static inline FILE *
OpenFixture(const char *name)
{
	char		path[512];
	FILE	   *fp;

	snprintf(path, sizeof(path), FIXTURE_DIR "%s", name);
	fp = fopen(path, "r");
	if (fp == NULL)
		fail_msg("cannot open %s (run the tests from the repository root)",
				 path);
	return fp;
}

/*
 * A data file: its header gives rows and features, and each row holds the
 * features plus extra values (a target, or a split flag and a label).
 */
static inline Table
ReadTable(const char *name, int32_t extra)
{
	FILE	   *fp = OpenFixture(name);
	char	   *buf = NULL;
	size_t		cap = 0;
	char	   *line;
	long long	rows;
	int			feats;
	Table		t;
	int64_t		r;

	line = NextLine(fp, &buf, &cap);
	assert_non_null(line);
	assert_int_equal(sscanf(line, "%lld %d", &rows, &feats), 2);
	t.rows = rows;
	t.cols = feats + extra;
	t.v = malloc((size_t) t.rows * t.cols * sizeof(double));
	assert_non_null(t.v);
	for (r = 0; r < t.rows; r++)
	{
		char	   *s;
		int32_t		c;

		line = NextLine(fp, &buf, &cap);
		assert_non_null(line);
		s = line;
		for (c = 0; c < t.cols; c++)
		{
			char	   *end;

			t.v[r * t.cols + c] = strtod(s, &end);
			assert_true(end != s);
			s = end;
		}
	}
	free(buf);
	fclose(fp);
	return t;
}

/* Split a line into whitespace-separated tokens, in place. */
static inline int
Tokens(char *line, char **tok, int max)
{
	int			n = 0;
	char	   *save = NULL;
	char	   *s = strtok_r(line, " \t\n", &save);

	while (s != NULL && n < max)
	{
		tok[n++] = s;
		s = strtok_r(NULL, " \t\n", &save);
	}
	return n;
}

#define MAX_TOKENS 64

#endif							/* CD_TEST_COMMON_H */
