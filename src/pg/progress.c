/*
 * progress.c
 *	  Training progress (modelmgr.training_progress) in shared memory.
 *
 * One slot per backend (MaxBackends slots, indexed by BackendId), in the
 * segment stats.c sets up; it needs modelmgr in shared_preload_libraries,
 * and without it every call here is a no-op and the view returns one status
 * row saying why.  A slot is written only by its owner under the changecount
 * protocol of PgBackendStatus, and read lock-free by the view.  A slot is
 * cleared by mm_progress_end, when the (sub)transaction that began the
 * training aborts, at the end of the transaction, and at backend exit (the
 * last three through the callbacks stats.c registers).
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/timestamp.h"

#include "mm_stats.h"
#include "stats_internal.h"

PG_FUNCTION_INFO_V1(mm_training_progress_1_0);

static bool progress_active = false;
static SubTransactionId progress_subid = InvalidSubTransactionId;

/*
 * The owner brackets each write with changecount increments; a reader
 * retries until it sees the same even count before and after its copy.
 */
#define PROGRESS_WRITE_BEGIN(slot) \
	do { (slot)->changecount++; pg_write_barrier(); } while (0)
#define PROGRESS_WRITE_END(slot) \
	do { pg_write_barrier(); (slot)->changecount++; } while (0)

void
mm_progress_begin(const char *model, const char *algorithm)
{
	volatile BackendSlot *slot = MySlot();

	if (slot == NULL)
		return;
	mm_stats_register_callbacks();
	PROGRESS_WRITE_BEGIN(slot);
	slot->progress.active = true;
	slot->progress.pid = MyProcPid;
	slot->progress.dbid = MyDatabaseId;
	strlcpy((char *) slot->progress.model, model ? model : "",
			sizeof(slot->progress.model));
	strlcpy((char *) slot->progress.algorithm, algorithm ? algorithm : "",
			sizeof(slot->progress.algorithm));
	strlcpy((char *) slot->progress.phase, "start", sizeof(slot->progress.phase));
	slot->progress.rows_read = 0;
	slot->progress.iteration = -1;
	slot->progress.loss = get_float8_nan();
	slot->progress.started_at = GetCurrentTimestamp();
	PROGRESS_WRITE_END(slot);
	progress_active = true;
	progress_subid = GetCurrentSubTransactionId();
}

void
mm_progress_phase(const char *phase)
{
	volatile BackendSlot *slot;

	if (!progress_active || (slot = MySlot()) == NULL)
		return;
	PROGRESS_WRITE_BEGIN(slot);
	strlcpy((char *) slot->progress.phase, phase ? phase : "",
			sizeof(slot->progress.phase));
	PROGRESS_WRITE_END(slot);
}

void
mm_progress_rows(int64 rows_read)
{
	volatile BackendSlot *slot;

	if (!progress_active || (slot = MySlot()) == NULL)
		return;
	PROGRESS_WRITE_BEGIN(slot);
	slot->progress.rows_read = rows_read;
	PROGRESS_WRITE_END(slot);
}

void
mm_progress_iteration(int64 iteration, double loss)
{
	volatile BackendSlot *slot;

	if (!progress_active || (slot = MySlot()) == NULL)
		return;
	PROGRESS_WRITE_BEGIN(slot);
	slot->progress.iteration = iteration;
	slot->progress.loss = loss;
	PROGRESS_WRITE_END(slot);
}

static void
ProgressClear(void)
{
	volatile BackendSlot *slot;

	if (!progress_active)
		return;
	progress_active = false;
	progress_subid = InvalidSubTransactionId;
	if ((slot = MySlot()) == NULL)
		return;
	PROGRESS_WRITE_BEGIN(slot);
	slot->progress.active = false;
	PROGRESS_WRITE_END(slot);
}

void
mm_progress_end(void)
{
	ProgressClear();
}

void
mm_progress_reset(void)
{
	ProgressClear();
}

void
mm_progress_subxact_abort(SubTransactionId mySubid)
{
	/* subtransaction ids grow: aborting mySubid aborts all opened after it */
	if (progress_active && mySubid <= progress_subid)
		ProgressClear();
}

/* A consistent copy of slot i's progress. */
static void
ReadProgress(StatsShared *shared, int i, ProgressInfo *out)
{
	volatile BackendSlot *slot = &shared->slots[i];

	for (;;)
	{
		uint32		before = slot->changecount;
		uint32		after;

		pg_read_barrier();
		memcpy(out, (const ProgressInfo *) &slot->progress, sizeof(*out));
		pg_read_barrier();
		after = slot->changecount;
		if (before == after && (before & 1) == 0)
			return;
		CHECK_FOR_INTERRUPTS();
	}
}

#define TRAINING_PROGRESS_COLS 10

/*
 * modelmgr.training_progress_1_0(): trainings running in the current
 * database: pid, model, algorithm, phase, rows_read, iteration, loss,
 * started_at, elapsed_seconds, status.
 */
Datum
mm_training_progress_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz now = GetCurrentTimestamp();
	StatsShared *shared = mm_stats_shmem();

	InitMaterializedSRF(fcinfo, 0);
	if (shared == NULL)
	{
		ereport(NOTICE, (errmsg("%s", MM_PROGRESS_OFF_MESSAGE),
						 errhint("%s", MM_PRELOAD_HINT)));
		mm_stats_put_status_row(rsinfo, TRAINING_PROGRESS_COLS,
								MM_PROGRESS_OFF_MESSAGE);
		return (Datum) 0;
	}

	for (int i = 0; i < shared->nslots; i++)
	{
		ProgressInfo p;
		Datum		values[TRAINING_PROGRESS_COLS];
		bool		nulls[TRAINING_PROGRESS_COLS] = {0};

		ReadProgress(shared, i, &p);
		if (!p.active || p.dbid != MyDatabaseId)
			continue;
		/* a slot whose owner is gone is stale (it cannot be, but be sure) */
		if (BackendPidGetProc(p.pid) == NULL)
			continue;
		p.model[sizeof(p.model) - 1] = '\0';
		p.algorithm[sizeof(p.algorithm) - 1] = '\0';
		p.phase[sizeof(p.phase) - 1] = '\0';

		values[0] = Int32GetDatum(p.pid);
		values[1] = CStringGetTextDatum(p.model);
		values[2] = CStringGetTextDatum(p.algorithm);
		values[3] = CStringGetTextDatum(p.phase);
		values[4] = Int64GetDatum(p.rows_read);
		if (p.iteration >= 0)
			values[5] = Int64GetDatum(p.iteration);
		else
			nulls[5] = true;
		if (isfinite(p.loss))
			values[6] = Float8GetDatum(p.loss);
		else
			nulls[6] = true;
		values[7] = TimestampTzGetDatum(p.started_at);
		values[8] = Float8GetDatum(Max(now - p.started_at, 0) / 1000000.0);
		values[9] = CStringGetTextDatum("ok");
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
