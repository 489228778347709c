/*
 * modelmgr.c
 *	  Module entry: settings, the core's runtime (palloc allocator, interrupt
 *	  callback, fatal handler), and turning core errors into ereport().
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "mm_core.h"
#include "mm_lapack.h"
#include "mm_pg.h"
#include "mm_stats.h"

PG_MODULE_MAGIC;

int			mm_blas_threads = 1;
int			mm_model_cache_kb = 65536;
int			mm_max_training_memory_kb = 1048576;
bool		mm_allow_drop = false;
double		mm_psi_warning = 0.1;
double		mm_psi_alert = 0.25;
double		mm_metric_warning = 0.1;
double		mm_metric_alert = 0.25;
int			mm_health_window = 3;

/*
 * The core allocates through palloc in the current memory context; huge
 * allocations are allowed (the training memory setting bounds them) and a
 * failure returns NULL so the core can report MM_ERR_NOMEM with context.
 */
static void *
pg_core_alloc(size_t size)
{
	return palloc_extended(size == 0 ? 1 : size,
						   MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void *
pg_core_realloc(void *ptr, size_t size)
{
	return repalloc_huge(ptr, size == 0 ? 1 : size);
}

static void
pg_core_free(void *ptr)
{
	pfree(ptr);
}

/*
 * Stop only for a cancel or a termination.  InterruptPending alone is also
 * set for harmless events (a parallel worker's message, the client
 * connection check timer, pg_log_backend_memory_contexts), which must not
 * end a training.
 */
static bool
pg_core_should_stop(void)
{
	return InterruptPending && (QueryCancelPending || ProcDiePending);
}

static void
pg_core_fatal(const char *message)
{
	elog(ERROR, "modelmgr internal error: %s", message);
	pg_unreachable();
}

static const mm_runtime pg_runtime = {
	pg_core_alloc, pg_core_realloc, pg_core_free, pg_core_should_stop,
	pg_core_fatal
};

static void
assign_blas_threads(int newval, void *extra)
{
	(void) extra;
	mm_blas_set_threads(newval);
}

void		_PG_init(void);

static void
report_progress(int64_t iteration, double loss)
{
	mm_progress_iteration(iteration, loss);
}

void
_PG_init(void)
{
	mm_set_runtime(&pg_runtime);
	/* iterative fits show their iteration and loss in training_progress */
	mm_set_progress(report_progress);

	DefineCustomIntVariable("modelmgr.blas_threads",
							"Threads OpenBLAS may use inside a backend.",
							"Default 1: a backend is one process among many; more threads only help large single fits.",
							&mm_blas_threads, 1, 1, 64,
							PGC_USERSET, 0, NULL, assign_blas_threads, NULL);
	DefineCustomIntVariable("modelmgr.model_cache_size",
							"Memory for parsed models cached per backend.",
							NULL,
							&mm_model_cache_kb, 65536, 64, INT_MAX / 2,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("modelmgr.max_training_memory",
							"Most memory one training may hold in a backend.",
							"Covers in-memory states, buffered rows and samples; a training needing more stops with an error.",
							&mm_max_training_memory_kb, 1048576, 1024, INT_MAX / 2,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomBoolVariable("modelmgr.allow_drop",
							 "Allow DROP EXTENSION modelmgr while models exist.",
							 "Dropping the extension deletes every model; keep a pg_dump of them first.",
							 &mm_allow_drop, false,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("modelmgr.psi_warning",
							 "PSI of a feature or of the predictions from which monitor() warns.",
							 NULL, &mm_psi_warning, 0.1, 0.0, 100.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("modelmgr.psi_alert",
							 "PSI from which monitor() raises an alert.",
							 NULL, &mm_psi_alert, 0.25, 0.0, 100.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("modelmgr.metric_warning",
							 "Relative rise of rmse over the version's test rmse (or over the previous evaluations' moving average) from which health warns.",
							 NULL, &mm_metric_warning, 0.1, 0.0, 100.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("modelmgr.metric_alert",
							 "Relative rise of rmse from which health raises an alert.",
							 NULL, &mm_metric_alert, 0.25, 0.0, 100.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("modelmgr.health_window",
							"Evaluations per window of model_health's moving average.",
							NULL, &mm_health_window, 3, 1, 1000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	/* before reserving the prefix: it defines modelmgr.max_tracked */
	mm_stats_init();
	MarkGUCPrefixReserved("modelmgr");

	/* the assign hook does not run for the boot value */
	mm_blas_set_threads(mm_blas_threads);
	mm_predict_init();
}

Size
mm_training_memory_limit(void)
{
	return (Size) mm_max_training_memory_kb * 1024;
}

/*
 * Raise a core error with the SQLSTATE that fits its status.
 */
void
mm_raise(const mm_error *err)
{
	int			code;

	switch (err->status)
	{
		case MM_ERR_INVALID:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
		case MM_ERR_DATA:
			code = ERRCODE_DATA_EXCEPTION;
			break;
		case MM_ERR_CORRUPT:
			code = ERRCODE_DATA_EXCEPTION;
			break;
		case MM_ERR_UNSUPPORTED:
			code = ERRCODE_FEATURE_NOT_SUPPORTED;
			break;
		case MM_ERR_NOMEM:
			code = ERRCODE_OUT_OF_MEMORY;
			break;
		case MM_ERR_LIMIT:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		case MM_ERR_RANGE:
			code = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
			break;
		case MM_ERR_INTERRUPTED:
			CHECK_FOR_INTERRUPTS();
			/* a cancel that CHECK_FOR_INTERRUPTS could not act on now */
			code = ERRCODE_QUERY_CANCELED;
			break;
		default:
			code = ERRCODE_INTERNAL_ERROR;
			break;
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s", err->message[0] ? err->message : "modelmgr error"),
			 err->detail[0] ? errdetail("%s", err->detail) : 0,
			 err->hint[0] ? errhint("%s", err->hint) : 0));
	pg_unreachable();
}
