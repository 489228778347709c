/*
 * mm_linreg_internal.h
 *	  Helpers shared by mm_linreg.c and mm_linreg_solve.c; not part of the
 *	  core's interface.
 */
#ifndef MM_LINREG_INTERNAL_H
#define MM_LINREG_INTERNAL_H

#include "mm_linreg.h"

/* Whether the means and the upper triangle of R are all finite. */
extern bool mm_linreg_stats_finite(int32_t p, const double *mean, const double *R);

/* The error for statistics that overflowed (or took in a NaN). */
extern mm_status mm_linreg_fail_not_finite(mm_error *err);

#endif							/* MM_LINREG_INTERNAL_H */
