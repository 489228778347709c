/*
 * stats.c
 *	  Live prediction statistics (modelmgr.prediction_stats), and the
 *	  shared-memory segment, hooks and callbacks that training progress
 *	  (progress.c) shares with them.
 *
 * Both need modelmgr in shared_preload_libraries: PostgreSQL 15 hands out
 * shared memory and LWLocks only from shmem_request_hook in a preloaded
 * library.  Without preload nothing here is installed, counting and progress
 * calls are no-ops, and the views return one status row saying why.
 *
 * Prediction statistics.  A call site gets a backend-local counter for
 * (model id, version) once per statement and bumps it once per row; the
 * clock is read only at a statement's first row.  At the end of the
 * outermost statement (ExecutorEnd or ProcessUtility at nesting level 0,
 * tracked as pg_stat_statements does, with the planner counted as a level so
 * that an SPI query run while planning is never mistaken for a statement)
 * every counter with rows is flushed into a shared hash keyed by (database,
 * model id, version): calls, rows, total and max time, last call.  The hash
 * is fixed-size (modelmgr.max_tracked); when it is full, the entry called
 * least recently is evicted.  Membership changes take the LWLock
 * exclusively, counter updates take it shared plus the entry's spinlock.
 *
 * Calls are statements.  A parallel worker flushes its own rows at its own
 * ExecutorEnd, so one statement may flush several times (workers, then the
 * leader).  Each flush carries the statement's identity: the leader's pid
 * and its statement number, which the leader publishes in its backend slot
 * at the start of each top-level statement and workers read from there.  An
 * entry remembers the last few statements that counted a call on it and
 * does not count the same one twice; a statement's time is the longest span
 * (first prediction to end) reported by any of its processes.
 *
 * A statement that fails is flushed by the (sub)transaction abort callback:
 * the predictions it made are counted.  Rows counted by a parallel worker of
 * a failed statement are counted when the worker exits through the
 * transaction abort; rows of a backend that exits with FATAL are lost.
 *
 * The segment holds one slot per backend (MaxBackends slots, indexed by
 * BackendId; stats_internal.h): the owner's statement number, and its
 * training progress, which progress.c writes and reads.  The transaction,
 * subtransaction and backend-exit callbacks here also clear that progress
 * (mm_progress_reset, mm_progress_subxact_abort).
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "optimizer/planner.h"
#include "port/atomics.h"
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "mm_stats.h"
#include "stats_internal.h"

PG_FUNCTION_INFO_V1(mm_prediction_stats_1_0);
PG_FUNCTION_INFO_V1(mm_reset_prediction_stats);

#define MM_TRANCHE_NAME "modelmgr"
#define MM_RECENT_STATEMENTS 4

int			mm_stats_max_tracked = 1000;

/* ---- shared memory ------------------------------------------------------ */

typedef struct StatsKey
{
	Oid			dbid;
	int32		version;
	int64		model_id;
} StatsKey;

/* A statement that counted a call on an entry, and its longest span so far */
typedef struct StatementMark
{
	int32		pid;			/* the leader's pid; 0 = unused */
	uint64		seq;			/* the leader's statement number */
	double		ms;
} StatementMark;

typedef struct StatsEntry
{
	StatsKey	key;			/* hash key: must be first */
	slock_t		mutex;			/* protects everything below */
	char		model_name[MM_NAME_LEN];
	int64		calls;
	int64		rows;
	double		total_ms;
	double		max_ms;
	TimestampTz last_call;
	StatementMark recent[MM_RECENT_STATEMENTS];
	int			recent_next;
} StatsEntry;

static StatsShared *shared = NULL;
static HTAB *stats_hash = NULL;

/* ---- backend-local state ------------------------------------------------ */

typedef struct LocalKey
{
	int64		model_id;
	int32		version;
	int32		pad;
} LocalKey;

typedef struct LocalCounter
{
	LocalKey	key;			/* hash key: must be first */
	mm_stats_counter counter;
} LocalCounter;

static HTAB *local_counters = NULL;
static int	local_count = 0;

/* counters with rows since the last flush; room for every counter */
static mm_stats_counter **pending = NULL;
static int	pending_count = 0;
static int	pending_cap = 0;

static int	nesting_level = 0;
static uint64 statement_number = 1;
static bool callbacks_registered = false;

/* saved hooks */
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static planner_hook_type prev_planner_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void FlushCounters(void);

/* ---- setup -------------------------------------------------------------- */

static Size
SharedStructSize(void)
{
	return add_size(offsetof(StatsShared, slots),
					mul_size(MaxBackends, sizeof(BackendSlot)));
}

static void
StatsShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(add_size(MAXALIGN(SharedStructSize()),
									hash_estimate_size(mm_stats_max_tracked,
													   sizeof(StatsEntry))));
	RequestNamedLWLockTranche(MM_TRANCHE_NAME, 1);
}

static void
StatsShmemStartup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	shared = NULL;
	stats_hash = NULL;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("modelmgr live stats", SharedStructSize(), &found);
	if (!found)
	{
		memset(shared, 0, SharedStructSize());
		shared->lock = &(GetNamedLWLockTranche(MM_TRANCHE_NAME))->lock;
		shared->nslots = MaxBackends;
		for (int i = 0; i < shared->nslots; i++)
			pg_atomic_init_u64(&shared->slots[i].statement, 0);
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(StatsKey);
	info.entrysize = sizeof(StatsEntry);
	stats_hash = ShmemInitHash("modelmgr prediction stats",
							   mm_stats_max_tracked, mm_stats_max_tracked,
							   &info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

bool
mm_stats_enabled(void)
{
	return shared != NULL;
}

StatsShared *
mm_stats_shmem(void)
{
	return shared;
}
/* ---- statement boundaries ----------------------------------------------- */

/* A top-level statement starts: publish its number for parallel workers. */
static void
StatementStart(void)
{
	BackendSlot *slot = MySlot();

	if (slot != NULL)
		pg_atomic_write_u64(&slot->statement, statement_number);
}

/* A top-level statement ends (or fails): flush, and number the next one. */
static void
StatementEnd(void)
{
	if (pending_count > 0)
		FlushCounters();
	statement_number++;
}

static PlannedStmt *
StatsPlanner(Query *parse, const char *query_string, int cursorOptions,
			 ParamListInfo boundParams)
{
	PlannedStmt *result;

	nesting_level++;
	PG_TRY();
	{
		if (prev_planner_hook)
			result = prev_planner_hook(parse, query_string, cursorOptions, boundParams);
		else
			result = standard_planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
	return result;
}

static void
StatsExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (nesting_level == 0)
		StatementStart();
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static void
StatsExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
				 bool execute_once)
{
	/* parallel workers start here and read the number */
	if (nesting_level == 0)
		StatementStart();
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

static void
StatsExecutorFinish(QueryDesc *queryDesc)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

/*
 * Flush after the executor has shut down: by then the parallel workers of
 * this statement have finished and flushed their own rows.
 */
static void
StatsExecutorEnd(QueryDesc *queryDesc)
{
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
	if (nesting_level == 0)
		StatementEnd();
}

static void
StatsProcessUtility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
{
	bool		top = (nesting_level == 0);

	if (top)
		StatementStart();
	nesting_level++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
	if (top)
		StatementEnd();
}

/*
 * A top-level statement that fails ends in a (sub)transaction abort at
 * nesting level 0 (the PG_FINALLY blocks above have run by then): flush what
 * it predicted.  An abort at a deeper level (a PL/pgSQL exception block, a
 * procedure's ROLLBACK) belongs to a statement still running, which flushes
 * at its end.  Flushing takes no lock that the abort could have left held:
 * LWLocks are released before the callbacks run, and nothing here raises an
 * error while holding the spinlock.
 */
static void
StatsXactCallback(XactEvent event, void *arg)
{
	(void) arg;
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (nesting_level == 0)
				StatementEnd();
			mm_progress_reset();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			mm_progress_reset();
			break;
		default:
			break;
	}
}

static void
StatsSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	(void) parentSubid;
	(void) arg;
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	if (nesting_level == 0)
		StatementEnd();
	mm_progress_subxact_abort(mySubid);
}

static void
StatsBackendExit(int code, Datum arg)
{
	(void) code;
	(void) arg;
	mm_progress_reset();
}

void
mm_stats_register_callbacks(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(StatsXactCallback, NULL);
	RegisterSubXactCallback(StatsSubXactCallback, NULL);
	before_shmem_exit(StatsBackendExit, (Datum) 0);
	callbacks_registered = true;
}

void
mm_stats_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("modelmgr.max_tracked",
							"Most (model, version) pairs whose live prediction statistics are kept.",
							"When the table is full, the pair called least recently is evicted. Needs modelmgr in shared_preload_libraries.",
							&mm_stats_max_tracked, 1000, 100, 1000000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = StatsShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = StatsShmemStartup;
	prev_planner_hook = planner_hook;
	planner_hook = StatsPlanner;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = StatsExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = StatsExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = StatsExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = StatsExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = StatsProcessUtility;
}

/* ---- counting ----------------------------------------------------------- */

mm_stats_counter *
mm_stats_counter_for(int64 model_id, int32 version, const char *model_name)
{
	LocalKey	key;
	LocalCounter *lc;
	bool		found;

	if (shared == NULL)
		return NULL;
	if (local_counters == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(LocalKey);
		ctl.entrysize = sizeof(LocalCounter);
		ctl.hcxt = TopMemoryContext;
		local_counters = hash_create("modelmgr prediction counters", 16, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		pending_cap = 16;
		pending = MemoryContextAlloc(TopMemoryContext,
									 sizeof(mm_stats_counter *) * pending_cap);
		mm_stats_register_callbacks();
	}

	memset(&key, 0, sizeof(key));
	key.model_id = model_id;
	key.version = version;
	lc = hash_search(local_counters, &key, HASH_FIND, NULL);
	if (lc != NULL)
		return &lc->counter;
	if (local_count >= MM_STATS_LOCAL_MAX)
		return NULL;
	/* grown here, where an error is harmless, so queueing never fails */
	if (local_count >= pending_cap)
	{
		pending = repalloc(pending, sizeof(mm_stats_counter *) * pending_cap * 2);
		pending_cap *= 2;
	}

	/* dynahash never moves an entry: the pointer stays valid */
	lc = hash_search(local_counters, &key, HASH_ENTER, &found);
	memset(&lc->counter, 0, sizeof(lc->counter));
	lc->counter.model_id = model_id;
	lc->counter.version = version;
	strlcpy(lc->counter.model_name, model_name ? model_name : "",
			sizeof(lc->counter.model_name));
	INSTR_TIME_SET_ZERO(lc->counter.first);
	lc->counter.in_use = true;
	local_count++;
	return &lc->counter;
}

void
mm_stats_first_row(mm_stats_counter *c)
{
	INSTR_TIME_SET_CURRENT(c->first);
	if (!c->pending && pending_count < pending_cap)
	{
		c->pending = true;
		pending[pending_count++] = c;
	}
}

/*
 * The statement a flush belongs to: in a parallel worker, the leader's pid
 * and the statement number it published; elsewhere our own.
 */
static void
CurrentStatement(int32 *pid, uint64 *seq)
{
	if (IsParallelWorker() && MyProc->lockGroupLeader != NULL &&
		ParallelLeaderBackendId >= 1 && ParallelLeaderBackendId <= shared->nslots)
	{
		*pid = MyProc->lockGroupLeader->pid;
		*seq = pg_atomic_read_u64(&shared->slots[ParallelLeaderBackendId - 1].statement);
		return;
	}
	*pid = MyProcPid;
	*seq = statement_number;
}

/*
 * Evict the entry called least recently (caller holds the lock exclusively,
 * so no counter changes under us).
 */
static void
EvictOldest(void)
{
	HASH_SEQ_STATUS scan;
	StatsEntry *e;
	StatsEntry *oldest = NULL;

	hash_seq_init(&scan, stats_hash);
	while ((e = hash_seq_search(&scan)) != NULL)
	{
		if (oldest == NULL || e->last_call < oldest->last_call)
			oldest = e;
	}
	if (oldest != NULL)
		hash_search(stats_hash, &oldest->key, HASH_REMOVE, NULL);
}

/* The entry for key, created if missing; caller holds the lock exclusively. */
static StatsEntry *
CreateEntry(const StatsKey *key, const char *model_name)
{
	StatsEntry *e;
	bool		found;

	e = hash_search(stats_hash, key, HASH_FIND, NULL);
	if (e != NULL)
		return e;
	if (hash_get_num_entries(stats_hash) >= mm_stats_max_tracked)
		EvictOldest();
	/* ENTER_NULL: never raise here, this also runs in abort callbacks */
	e = hash_search(stats_hash, key, HASH_ENTER_NULL, &found);
	if (e != NULL && !found)
	{
		SpinLockInit(&e->mutex);
		strlcpy(e->model_name, model_name, sizeof(e->model_name));
		e->calls = 0;
		e->rows = 0;
		e->total_ms = 0;
		e->max_ms = 0;
		e->last_call = 0;
		memset(e->recent, 0, sizeof(e->recent));
		e->recent_next = 0;
	}
	return e;
}

static void
StoreCounts(const mm_stats_counter *c, int64 rows, double ms, TimestampTz now,
			int32 pid, uint64 seq)
{
	StatsKey	key;
	StatsEntry *e;
	StatementMark *mark = NULL;

	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.version = c->version;
	key.model_id = c->model_id;

	LWLockAcquire(shared->lock, LW_SHARED);
	e = hash_search(stats_hash, &key, HASH_FIND, NULL);
	if (e == NULL)
	{
		LWLockRelease(shared->lock);
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		e = CreateEntry(&key, c->model_name);
		if (e == NULL)
		{
			LWLockRelease(shared->lock);
			return;
		}
	}

	SpinLockAcquire(&e->mutex);
	e->rows += rows;
	if (now > e->last_call)
		e->last_call = now;
	for (int i = 0; i < MM_RECENT_STATEMENTS; i++)
	{
		if (e->recent[i].pid == pid && e->recent[i].seq == seq)
		{
			mark = &e->recent[i];
			break;
		}
	}
	if (mark == NULL)
	{
		/* the statement's first flush on this entry: a new call */
		mark = &e->recent[e->recent_next];
		e->recent_next = (e->recent_next + 1) % MM_RECENT_STATEMENTS;
		mark->pid = pid;
		mark->seq = seq;
		mark->ms = ms;
		e->calls++;
		e->total_ms += ms;
	}
	else if (ms > mark->ms)
	{
		/* another process of the same statement ran longer */
		e->total_ms += ms - mark->ms;
		mark->ms = ms;
	}
	if (mark->ms > e->max_ms)
		e->max_ms = mark->ms;
	SpinLockRelease(&e->mutex);

	LWLockRelease(shared->lock);
}

static void
FlushCounters(void)
{
	instr_time	now;
	TimestampTz ts = 0;
	int32		pid = 0;
	uint64		seq = 0;
	bool		started = false;

	if (shared == NULL)
		return;
	for (int i = 0; i < pending_count; i++)
	{
		mm_stats_counter *c = pending[i];
		int64		rows = c->rows;
		instr_time	span;

		/* taken first: a retry after an error never counts these twice */
		c->rows = 0;
		c->pending = false;
		if (rows <= 0)
			continue;
		if (!started)
		{
			INSTR_TIME_SET_CURRENT(now);
			ts = GetCurrentTimestamp();
			CurrentStatement(&pid, &seq);
			started = true;
		}
		span = now;
		INSTR_TIME_SUBTRACT(span, c->first);
		StoreCounts(c, rows, Max(INSTR_TIME_GET_MILLISEC(span), 0.0), ts, pid, seq);
	}
	pending_count = 0;
}

/* ---- SQL-callable ------------------------------------------------------- */

/* One row whose every column is NULL except the last, status. */
void
mm_stats_put_status_row(ReturnSetInfo *rsinfo, int ncols, const char *status)
{
	Datum	   *values = palloc0(sizeof(Datum) * ncols);
	bool	   *nulls = palloc(sizeof(bool) * ncols);

	for (int i = 0; i < ncols; i++)
		nulls[i] = true;
	values[ncols - 1] = CStringGetTextDatum(status);
	nulls[ncols - 1] = false;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

#define PREDICTION_STATS_COLS 9

/*
 * modelmgr.prediction_stats_1_0(): one row per (model, version) predicted
 * in the current database: model, version, calls, rows, total_time_ms,
 * mean_time_ms, max_time_ms, last_call, status.
 */
Datum
mm_prediction_stats_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS scan;
	StatsEntry *e;

	InitMaterializedSRF(fcinfo, 0);
	if (shared == NULL)
	{
		ereport(NOTICE, (errmsg("%s", MM_STATS_OFF_MESSAGE),
						 errhint("%s", MM_PRELOAD_HINT)));
		mm_stats_put_status_row(rsinfo, PREDICTION_STATS_COLS,
								MM_STATS_OFF_MESSAGE);
		return (Datum) 0;
	}

	LWLockAcquire(shared->lock, LW_SHARED);
	hash_seq_init(&scan, stats_hash);
	while ((e = hash_seq_search(&scan)) != NULL)
	{
		Datum		values[PREDICTION_STATS_COLS];
		bool		nulls[PREDICTION_STATS_COLS] = {0};
		int64		calls,
					rows;
		double		total_ms,
					max_ms;
		TimestampTz last_call;

		if (e->key.dbid != MyDatabaseId)
			continue;
		SpinLockAcquire(&e->mutex);
		calls = e->calls;
		rows = e->rows;
		total_ms = e->total_ms;
		max_ms = e->max_ms;
		last_call = e->last_call;
		SpinLockRelease(&e->mutex);

		values[0] = CStringGetTextDatum(e->model_name);
		values[1] = Int32GetDatum(e->key.version);
		values[2] = Int64GetDatum(calls);
		values[3] = Int64GetDatum(rows);
		values[4] = Float8GetDatum(total_ms);
		if (calls > 0)
			values[5] = Float8GetDatum(total_ms / calls);
		else
			nulls[5] = true;
		values[6] = Float8GetDatum(max_ms);
		values[7] = TimestampTzGetDatum(last_call);
		values[8] = CStringGetTextDatum("ok");
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(shared->lock);
	return (Datum) 0;
}

/*
 * modelmgr.reset_prediction_stats(): forget the statistics of the current
 * database (as pg_stat_reset does).  Not granted to PUBLIC.
 */
Datum
mm_reset_prediction_stats(PG_FUNCTION_ARGS)
{
	HASH_SEQ_STATUS scan;
	StatsEntry *e;

	(void) fcinfo;
	if (shared == NULL)
	{
		ereport(NOTICE, (errmsg("%s", MM_STATS_OFF_MESSAGE),
						 errhint("%s", MM_PRELOAD_HINT)));
		PG_RETURN_VOID();
	}
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&scan, stats_hash);
	while ((e = hash_seq_search(&scan)) != NULL)
	{
		/* removing the entry just returned is allowed during a scan */
		if (e->key.dbid == MyDatabaseId)
			hash_search(stats_hash, &e->key, HASH_REMOVE, NULL);
	}
	LWLockRelease(shared->lock);
	PG_RETURN_VOID();
}
