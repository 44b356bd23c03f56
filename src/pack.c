/* pack: first-fit / best-fit / worst-fit decreasing over a vector size. */
#include "pack.h"

#include <stdlib.h>

typedef struct {
  double key;
  uint32_t item;
} ranked;

static int ranked_cmp(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->key != y->key)
    return x->key > y->key ? -1 : 1; /* larger first */
  return (x->item > y->item) - (x->item < y->item);
}

static int in_range(const int64_t *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (v[i] < 0 || v[i] > DL_PACK_MAX)
      return 0;
  return 1;
}

int dl_pack(size_t nitems, size_t nbins, size_t ndim, const int64_t *need,
            const int64_t *cap, int strategy, int32_t *place, int64_t *used) {
  if (ndim == 0 || ndim > DL_PACK_MAXDIM || nitems > INT32_MAX ||
      nbins > INT32_MAX || strategy < DL_PACK_BEST ||
      strategy > DL_PACK_WORST || !in_range(need, nitems * ndim) ||
      !in_range(cap, nbins * ndim))
    return DL_PACK_EINVAL;

  /* dimensions compare as fractions of the biggest bin in each; one no bin
   * has is left at 1 so nothing divides by zero (no item needing it fits) */
  double scale[DL_PACK_MAXDIM];
  for (size_t d = 0; d < ndim; d++) {
    int64_t most = 0;
    for (size_t b = 0; b < nbins; b++)
      if (cap[b * ndim + d] > most)
        most = cap[b * ndim + d];
    scale[d] = most > 0 ? 1.0 / (double)most : 1.0;
  }
  for (size_t i = 0; i < nbins * ndim; i++)
    used[i] = 0;
  if (nitems == 0)
    return DL_PACK_OK;

  ranked *order = malloc(nitems * sizeof *order);
  if (!order)
    return DL_PACK_NOMEM;
  for (size_t i = 0; i < nitems; i++) {
    double key = 0;
    for (size_t d = 0; d < ndim; d++) {
      double f = (double)need[i * ndim + d] * scale[d];
      if (f > key)
        key = f;
    }
    order[i].key = key;
    order[i].item = (uint32_t)i;
  }
  qsort(order, nitems, sizeof *order, ranked_cmp);

  for (size_t k = 0; k < nitems; k++) {
    size_t i = order[k].item;
    const int64_t *n = need + i * ndim;
    int32_t chosen = -1;
    double chosen_room = 0;
    for (size_t b = 0; b < nbins; b++) {
      const int64_t *c = cap + b * ndim;
      int64_t *u = used + b * ndim;
      double room = 0;
      size_t d;
      for (d = 0; d < ndim; d++) {
        int64_t left = c[d] - u[d] - n[d];
        if (left < 0)
          break;
        room += (double)left * scale[d];
      }
      if (d < ndim)
        continue;
      if (chosen < 0 || (strategy == DL_PACK_BEST && room < chosen_room) ||
          (strategy == DL_PACK_WORST && room > chosen_room)) {
        chosen = (int32_t)b;
        chosen_room = room;
        if (strategy == DL_PACK_FIRST)
          break;
      }
    }
    place[i] = chosen;
    if (chosen >= 0)
      for (size_t d = 0; d < ndim; d++)
        used[(size_t)chosen * ndim + d] += n[d];
  }
  free(order);
  return DL_PACK_OK;
}
