/* pack: vector bin packing of items (sizes in several dimensions, e.g. bytes
 * of memory and millicores of CPU) into bins.  Pure C (no Lua); the binding
 * src/l_pack.c reads Lua tables. */
#ifndef DELOC_PACK_H
#define DELOC_PACK_H

#include <stddef.h>
#include <stdint.h>

/* Sizes are integers, so sums are exact (CPU as millicores, not 0.1 + 0.2);
 * each must be >= 0 and <= DL_PACK_MAX, which keeps every sum in range. */
#define DL_PACK_MAX ((int64_t)1 << 53)
#define DL_PACK_MAXDIM 8

/* Items go in decreasing order of their size, the largest fraction of the
 * biggest bin they need in any dimension (ties: input order).  Each goes to
 *   BEST:  the bin it fits that is left with the least room (the sum over the
 *          dimensions of what stays free, each as a fraction of the biggest
 *          bin in that dimension): fills bins tight, keeps big holes open;
 *   FIRST: the first bin it fits, in input order;
 *   WORST: the bin left with the most room: spreads the load.
 * Ties go to the earlier bin.  The result depends only on the input. */
enum { DL_PACK_BEST = 0, DL_PACK_FIRST = 1, DL_PACK_WORST = 2 };
enum { DL_PACK_OK = 0, DL_PACK_NOMEM = -1, DL_PACK_EINVAL = -2 };

/* need[i * ndim + d]: item i's size in dimension d; cap[b * ndim + d]: bin b's.
 * place[i] receives the bin of item i or -1 when none had room; used[b * ndim
 * + d] what bin b holds.  DL_PACK_EINVAL: ndim is 0 or above DL_PACK_MAXDIM,
 * a count above INT32_MAX, a size out of range, or an unknown strategy. */
int dl_pack(size_t nitems, size_t nbins, size_t ndim, const int64_t *need,
            const int64_t *cap, int strategy, int32_t *place, int64_t *used);

#endif
