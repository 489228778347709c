/*
 * mm_core.c
 *	  Error records, the allocator table and the interrupt callback of the
 *	  core.  See mm_core.h.
 */
#include "mm_core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *
default_alloc(size_t size)
{
	return malloc(size == 0 ? 1 : size);
}

static void *
default_realloc(void *ptr, size_t size)
{
	return realloc(ptr, size == 0 ? 1 : size);
}

static void
default_free(void *ptr)
{
	free(ptr);
}

static bool
default_should_stop(void)
{
	return false;
}

static void
default_fatal(const char *message)
{
	fprintf(stderr, "modelmgr core: fatal: %s\n", message);
	abort();
}

static const mm_runtime default_runtime = {
	default_alloc, default_realloc, default_free, default_should_stop,
	default_fatal
};

static mm_runtime current = {
	default_alloc, default_realloc, default_free, default_should_stop,
	default_fatal
};

void
mm_set_runtime(const mm_runtime *runtime)
{
	current = runtime ? *runtime : default_runtime;
}

void *
mm_alloc(size_t size)
{
	return current.alloc(size);
}

void *
mm_alloc0(size_t size)
{
	void	   *p = current.alloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}

void *
mm_realloc(void *ptr, size_t size)
{
	if (ptr == NULL)
		return current.alloc(size);
	return current.realloc(ptr, size);
}

void
mm_free(void *ptr)
{
	if (ptr)
		current.free(ptr);
}

char *
mm_strdup(const char *s)
{
	size_t		len = strlen(s);
	char	   *copy = mm_alloc(len + 1);

	if (copy)
		memcpy(copy, s, len + 1);
	return copy;
}

static mm_progress_fn progress_fn = NULL;

void
mm_set_progress(mm_progress_fn fn)
{
	progress_fn = fn;
}

void
mm_report_progress(int64_t iteration, double loss)
{
	if (progress_fn)
		progress_fn(iteration, loss);
}

bool
mm_should_stop(void)
{
	return current.should_stop();
}

void
mm_fatal(const char *message)
{
	current.fatal(message);
	/* a fatal handler that returns is itself a bug */
	abort();
}

bool
mm_size_mul(size_t a, size_t b, size_t *result)
{
	if (a != 0 && b > SIZE_MAX / a)
		return false;
	*result = a * b;
	return true;
}

bool
mm_size_add(size_t a, size_t b, size_t *result)
{
	if (a > SIZE_MAX - b)
		return false;
	*result = a + b;
	return true;
}

void
mm_error_clear(mm_error *err)
{
	if (err == NULL)
		return;
	err->status = MM_OK;
	err->message[0] = '\0';
	err->detail[0] = '\0';
	err->hint[0] = '\0';
}

mm_status
mm_fail(mm_error *err, mm_status status, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return status;
	err->status = status;
	err->detail[0] = '\0';
	err->hint[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return status;
}

void
mm_error_detail(mm_error *err, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void
mm_error_hint(mm_error *err, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}
