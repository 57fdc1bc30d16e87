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

/*
 * The state of every page of node nid (its zones' span), for analyses that need the layout
 * (compaction what-if, mixed pageblocks): out[pfn - mm_node_start_pfn] is
 * PAGE_MAP_FREE (on a buddy or pcp list), 1 + migratetype for an allocated page,
 * PAGE_MAP_SLAB for a slab page, PAGE_MAP_HOLE for a page never given to the allocator
 * or outside every zone of the node. out has mm_node_spanned_pages entries.
 */
#define PAGE_MAP_FREE 0
#define PAGE_MAP_SLAB 0xfe
#define PAGE_MAP_HOLE 0xff
void mm_page_map(const struct mm_machine *m, uint32_t nid, uint8_t *out);
/* A node's span over its zones: its lowest pfn (PFN_NONE without memory) and pages to its end. */
uint32_t mm_node_start_pfn(const struct mm_machine *m, uint32_t nid);
uint32_t mm_node_spanned_pages(const struct mm_machine *m, uint32_t nid);

#endif
