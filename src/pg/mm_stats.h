/*
 * mm_stats.h
 *	  Live prediction statistics and training progress in shared memory
 *	  (stats.c).  Both need modelmgr in shared_preload_libraries; without it
 *	  every function here is a cheap no-op and the monitoring views return one
 *	  status row saying so.
 *
 * Prediction counting is split so that the per-row cost is one increment:
 * a call site asks for its counter once per statement
 * (mm_stats_counter_for), counts each row with mm_stats_count_row, and the
 * executor hooks in stats.c flush every counter to shared memory once, at the
 * end of the outermost statement.  No lock and no clock read per row.
 */
#ifndef MM_STATS_H
#define MM_STATS_H

#include "postgres.h"

#include "portability/instr_time.h"

/*
 * Called from _PG_init, before MarkGUCPrefixReserved("modelmgr").  When the
 * library is being preloaded it defines modelmgr.max_tracked
 * (PGC_POSTMASTER; PostgreSQL allows such settings only during preload) and
 * installs the shared memory, executor and utility hooks.  Otherwise it does
 * nothing.
 */
extern void mm_stats_init(void);

/* True when the shared memory exists (modelmgr was preloaded). */
extern bool mm_stats_enabled(void);

/* Most (model, version) pairs tracked in shared memory (modelmgr.max_tracked). */
extern int	mm_stats_max_tracked;

/*
 * Backend-local counts of one (model id, version) during the current
 * statement.  The pointer stays valid, and keeps meaning the same pair, for
 * the life of the backend.
 */
typedef struct mm_stats_counter
{
	int64		model_id;
	int32		version;
	char		model_name[NAMEDATALEN * 4];
	int64		rows;			/* predict() calls in the current statement */
	instr_time	first;			/* when rows went 0 -> 1 */
	bool		in_use;
	bool		pending;		/* on the list of counters to flush */
} mm_stats_counter;

/* Most (model, version) pairs one backend counts over its life. */
#define MM_STATS_LOCAL_MAX 10000

/*
 * The counter for (model, version), or NULL when stats are disabled or this
 * backend already counts MM_STATS_LOCAL_MAX pairs.  Call it once per
 * statement per call site, not per row; keeping the pointer longer is safe.
 */
extern mm_stats_counter *mm_stats_counter_for(int64 model_id, int32 version,
											  const char *model_name);

/* A statement's first row on c: read the clock, queue c for the flush. */
extern void mm_stats_first_row(mm_stats_counter *c);

/* Per row: one increment; the clock is read only for a statement's first row. */
static inline void
mm_stats_count_row(mm_stats_counter *c)
{
	if (c != NULL && c->rows++ == 0)
		mm_stats_first_row(c);
}

/*
 * Training progress: one shared slot per backend.  No-ops when disabled.
 * The slot is cleared by mm_progress_end, and automatically when the
 * (sub)transaction that began the training aborts or the transaction ends.
 */
extern void mm_progress_begin(const char *model, const char *algorithm);
extern void mm_progress_phase(const char *phase);	/* read, fit, evaluate, save */
extern void mm_progress_rows(int64 rows_read);	/* every ~10000 rows */
extern void mm_progress_iteration(int64 iteration, double loss);
extern void mm_progress_end(void);

#endif							/* MM_STATS_H */
