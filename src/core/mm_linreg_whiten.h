/*
 * mm_linreg_whiten.h
 *	  The whitened block fold, internal to mm_linreg.c (not part of the
 *	  core's interface).
 *
 * A block of m rows, stored row-major and shifted by the running means so
 * that their mean is some delta, enters (n_a, mean, R) as
 *     W = rows R^-1,  wbar = delta R^-1,
 *     R <- chol(I + W'W - (m^2 / (n_a + m)) wbar wbar') R
 * which is R_new' R_new = R'R + (the block's centered cross-products)
 * + n_a m / (n_a + m) delta delta', the update mm_linreg.c's Householder
 * fold makes.  W and W'W are two dgemm calls; the rest is O(k^3).  The
 * rounding errors act as a perturbation of each new row b of at most
 * c u (|b| |R^-1| |R|), so the fold is only made when that bound stays
 * within a small factor of the columns' scales and the block weighs at most
 * about as much as the rows already folded (see mm_linreg_whiten.c).
 */
#ifndef MM_LINREG_WHITEN_H
#define MM_LINREG_WHITEN_H

#include "mm_core.h"

/* The fold's scratch, carved from one block of doubles. */
typedef struct mm_whiten_work
{
	double	   *Rinv;			/* k x k, R^-1 (zeros below the diagonal) */
	double	   *L;				/* k x k, (R^-1)' */
	double	   *G;				/* k x (k + 1): W'W, then chol; W'1 */
	double	   *vec1;			/* k each: scratch vectors */
	double	   *vec2;
	double	   *delta;			/* the block's mean minus the running mean */
	double	   *Wt;				/* (k + 1) x m: W' and a row of ones */
} mm_whiten_work;

/*
 * Doubles of scratch for k columns and m rows on n_a folded ones, or 0 when
 * the fold is not worth trying (too wide, or too few rows folded yet).
 */
extern size_t mm_linreg_whiten_work_size(int32_t k, int32_t m, int64_t n_a);

/* Carve work (mm_linreg_whiten_work_size doubles) into w. */
extern void mm_linreg_whiten_layout(int32_t k, double *work, mm_whiten_work *w);

/*
 * R^-1 into w, and whether R passes the guards that do not depend on the
 * block.  Changes nothing else.
 */
extern bool mm_linreg_whiten_ready(int32_t k, const double *R,
								   const mm_whiten_work *w);

/*
 * After mm_linreg_whiten_ready accepted R: fold the m shifted rows into R
 * (leaving them as they are) and put their mean minus the running mean in
 * w->delta; false, with R unchanged, when the block weighs too much.
 */
extern bool mm_linreg_whiten_fold(int32_t k, int64_t n_a, double *R,
								  const double *rows, int32_t m,
								  const mm_whiten_work *w);

#endif							/* MM_LINREG_WHITEN_H */
