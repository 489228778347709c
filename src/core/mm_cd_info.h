/*
 * mm_cd_info.h
 *	  What a coordinate descent run did: the one type the elastic net
 *	  (mm_enet.h) and the linear SVM (mm_svm.h) solvers share.  Its own
 *	  header so that neither solver's header includes the other's.
 */
#ifndef MM_CD_INFO_H
#define MM_CD_INFO_H

#include "mm_core.h"

/* What a coordinate descent run did (both solvers). */
typedef struct mm_cd_info
{
	int32_t		n_iter;			/* sweeps run (max over one-vs-rest models) */
	bool		converged;		/* stopping rule met (by every model) */
	double		dual_gap;		/* elastic net: the last duality gap in
								 * objective units, as scikit-learn's
								 * dual_gap_; SVM: the last spread of
								 * projected gradients */
} mm_cd_info;

#endif							/* MM_CD_INFO_H */
