/*
 * test_alloc.h
 *	  The unit tests' runtime for src/core: a malloc-based allocator that
 *	  counts calls and live blocks, records the largest request, fails a
 *	  chosen call, and a stop flag for interrupt tests.  Each test program
 *	  is its own binary, so the static state is per program.
 *
 * UseTestAllocator(n) resets the counts and makes the n-th allocation
 * (1-based; 0 = none) fail; set ta.stop to make mm_should_stop() say stop.
 */
#ifndef MM_TEST_ALLOC_H
#define MM_TEST_ALLOC_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm_core.h"

static struct
{
	size_t		calls;
	size_t		fail_at;		/* 1-based call to fail; 0 = never */
	size_t		max_request;
	long		outstanding;	/* live blocks */
	bool		stop;			/* what mm_should_stop() answers */
} ta;

static void *
TestAlloc(size_t size)
{
	ta.calls++;
	if (size > ta.max_request)
		ta.max_request = size;
	if (ta.fail_at != 0 && ta.calls == ta.fail_at)
		return NULL;
	ta.outstanding++;
	return malloc(size == 0 ? 1 : size);
}

static void *
TestRealloc(void *ptr, size_t size)
{
	ta.calls++;
	if (size > ta.max_request)
		ta.max_request = size;
	if (ta.fail_at != 0 && ta.calls == ta.fail_at)
		return NULL;
	return realloc(ptr, size == 0 ? 1 : size);
}

static void
TestFree(void *ptr)
{
	ta.outstanding--;
	free(ptr);
}

static bool
TestStop(void)
{
	return ta.stop;
}

static void
TestFatal(const char *message)
{
	fprintf(stderr, "fatal: %s\n", message);
	abort();
}

static void
UseTestAllocator(size_t fail_at)
{
	static const mm_runtime rt = {
		TestAlloc, TestRealloc, TestFree, TestStop, TestFatal
	};

	memset(&ta, 0, sizeof(ta));
	ta.fail_at = fail_at;
	mm_set_runtime(&rt);
}

#endif							/* MM_TEST_ALLOC_H */
