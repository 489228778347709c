/*
 * mm_core.h
 *	  Runtime shared by every part of src/core: status codes and error
 *	  messages, the allocator table, the interrupt callback.
 *
 * The core never includes a PostgreSQL header.  The glue (src/pg) installs
 * an allocator built on palloc and an interrupt callback that looks at
 * InterruptPending; unit tests install malloc and a callback that never
 * stops.  Core functions return an mm_status and fill an mm_error; the glue
 * turns that into ereport() with the SQLSTATE matching the status.
 */
#ifndef MM_CORE_H
#define MM_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum mm_status
{
	MM_OK = 0,
	MM_ERR_INVALID,				/* bad argument or option (22023) */
	MM_ERR_DATA,				/* bad input data, e.g. NaN, rank deficient
								 * design (22000) */
	MM_ERR_CORRUPT,				/* bytes that are not a valid artifact or
								 * state (22000 / 22P02) */
	MM_ERR_UNSUPPORTED,			/* valid but not supported here (0A000) */
	MM_ERR_NOMEM,				/* allocation failed (53200) */
	MM_ERR_LIMIT,				/* a size limit was exceeded (54000) */
	MM_ERR_RANGE,				/* a result out of the range of double
								 * precision (22003) */
	MM_ERR_INTERRUPTED,			/* should_stop() said stop */
	MM_ERR_INTERNAL				/* cannot happen (XX000) */
} mm_status;

#define MM_MSG_LEN 256

typedef struct mm_error
{
	mm_status	status;
	char		message[MM_MSG_LEN];	/* lowercase, no period */
	char		detail[MM_MSG_LEN]; /* a sentence, or empty */
	char		hint[MM_MSG_LEN];	/* a sentence, or empty */
} mm_error;

/* Clear an error record (status MM_OK, empty strings). */
extern void mm_error_clear(mm_error *err);

/*
 * Record an error and return its status, so callers can write
 *	   return mm_fail(err, MM_ERR_INVALID, "bad %s", what);
 * err may be NULL.
 */
extern mm_status mm_fail(mm_error *err, mm_status status, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern void mm_error_detail(mm_error *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void mm_error_hint(mm_error *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/*
 * The runtime the glue installs.  alloc returns NULL on failure (the core
 * then reports MM_ERR_NOMEM); free accepts NULL.  should_stop is polled by
 * long loops; when it returns true the loop returns MM_ERR_INTERRUPTED and
 * the glue raises the pending interrupt.  fatal never returns: it is used by
 * our xerbla_ (LAPACK argument errors, which are bugs) and must longjmp or
 * abort.
 */
typedef struct mm_runtime
{
	void	   *(*alloc) (size_t size);
	void	   *(*realloc) (void *ptr, size_t size);
	void		(*free) (void *ptr);
	bool		(*should_stop) (void);
	void		(*fatal) (const char *message);
} mm_runtime;

/* Install a runtime; NULL restores the malloc-based default. */
extern void mm_set_runtime(const mm_runtime *runtime);

extern void *mm_alloc(size_t size);
extern void *mm_alloc0(size_t size);
extern void *mm_realloc(void *ptr, size_t size);
extern void mm_free(void *ptr);
extern char *mm_strdup(const char *s);
extern bool mm_should_stop(void);

/*
 * Progress of an iterative fit: solvers report each iteration (epoch,
 * sweep) and the current objective (NaN when they have none to hand); the
 * glue shows it in modelmgr.training_progress.  NULL (the default) ignores
 * reports.
 */
typedef void (*mm_progress_fn) (int64_t iteration, double loss);
extern void mm_set_progress(mm_progress_fn fn);
extern void mm_report_progress(int64_t iteration, double loss);
extern void mm_fatal(const char *message) __attribute__((noreturn));

/*
 * Overflow-checked size arithmetic: return false on overflow and leave
 * *result untouched.
 */
extern bool mm_size_mul(size_t a, size_t b, size_t *result);
extern bool mm_size_add(size_t a, size_t b, size_t *result);

#endif							/* MM_CORE_H */
