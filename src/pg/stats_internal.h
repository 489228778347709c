/*
 * stats_internal.h
 *	  What stats.c (live prediction statistics) and progress.c (training
 *	  progress) share and nobody else needs: the shared-memory segment, the
 *	  backend slots in it, the preload messages, and the calls through which
 *	  the transaction callbacks in stats.c clear training progress.
 *
 * stats.c owns the segment: it requests and attaches it, installs the hooks
 * and registers the (sub)transaction and backend-exit callbacks.  Each
 * backend's slot carries both its top-level statement number (for parallel
 * workers counting predictions) and its training progress.
 */
#ifndef MM_STATS_INTERNAL_H
#define MM_STATS_INTERNAL_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "funcapi.h"
#include "port/atomics.h"
#include "storage/backendid.h"
#include "storage/lwlock.h"

#define MM_NAME_LEN (NAMEDATALEN * 4)
#define MM_PHASE_LEN 16

#define MM_STATS_OFF_MESSAGE \
	"modelmgr is not in shared_preload_libraries: live prediction statistics are off"
#define MM_PROGRESS_OFF_MESSAGE \
	"modelmgr is not in shared_preload_libraries: training progress is off"
#define MM_PRELOAD_HINT \
	"Add modelmgr to shared_preload_libraries in postgresql.conf and restart the server."

typedef struct ProgressInfo
{
	bool		active;
	int32		pid;
	Oid			dbid;
	char		model[MM_NAME_LEN];
	char		algorithm[NAMEDATALEN];
	char		phase[MM_PHASE_LEN];
	int64		rows_read;
	int64		iteration;		/* < 0 = none reported */
	double		loss;			/* NaN = none reported */
	TimestampTz started_at;
} ProgressInfo;

typedef struct BackendSlot
{
	pg_atomic_uint64 statement;	/* owner's top-level statement number */
	uint32		changecount;	/* odd while the owner writes progress */
	ProgressInfo progress;
} BackendSlot;

typedef struct StatsShared
{
	LWLock	   *lock;			/* membership of the prediction stats hash */
	int			nslots;
	BackendSlot slots[FLEXIBLE_ARRAY_MEMBER];
} StatsShared;

/* stats.c: the shared segment, or NULL when modelmgr was not preloaded. */
extern StatsShared *mm_stats_shmem(void);

/*
 * stats.c: register the transaction, subtransaction and backend-exit
 * callbacks, once per backend.  Called before the first thing that needs
 * cleaning up at those points.
 */
extern void mm_stats_register_callbacks(void);

/* stats.c: one row whose every column is NULL except the last, status. */
extern void mm_stats_put_status_row(ReturnSetInfo *rsinfo, int ncols,
									const char *status);

/*
 * progress.c: clear this backend's training progress, if any.  Called at the
 * end (commit, prepare or abort) of every transaction and at backend exit.
 */
extern void mm_progress_reset(void);

/*
 * progress.c: subtransaction mySubid aborted; clear the training progress if
 * that subtransaction, or one it contained, began the training.
 */
extern void mm_progress_subxact_abort(SubTransactionId mySubid);

/* This backend's slot, or NULL (stats off, or a process without one). */
static inline BackendSlot *
MySlot(void)
{
	StatsShared *shared = mm_stats_shmem();

	if (shared == NULL || MyBackendId < 1 || MyBackendId > shared->nslots)
		return NULL;
	return &shared->slots[MyBackendId - 1];
}

#endif							/* MM_STATS_INTERNAL_H */
