/*
 * vmstat.h - fragmentation indices of Linux mm/vmstat.c, in thousandths with
 * the kernel's integer arithmetic (fill_contig_page_info, __fragmentation_index,
 * unusable_free_index).
 */
#ifndef MM_VMSTAT_H
#define MM_VMSTAT_H

#include "mm_types.h"

/* nr_free: free blocks per order, NR_PAGE_ORDERS entries. */
int32_t mm_extfrag_index(const uint64_t *nr_free, uint32_t order);
int32_t mm_unusable_free_index(const uint64_t *nr_free, uint32_t order);

#endif
