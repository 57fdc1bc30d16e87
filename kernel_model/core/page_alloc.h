/*
 * page_alloc.h - the buddy page allocator (after Linux 6.1 mm/page_alloc.c).
 *
 * Set-up order: mm_machine_init, mm_zone_init per node, mm_zone_free_range for
 * each usable range, then mm_setup_watermarks and mm_setup_pcp.
 */
#ifndef MM_PAGE_ALLOC_H
#define MM_PAGE_ALLOC_H

#include "mm_types.h"

/* Error codes of mm_free_pages_checked. */
enum mm_free_error {
	MM_FREE_OK = 0,
	MM_FREE_BAD_PFN,     /* pfn outside every zone */
	MM_FREE_NOT_ALLOCATED, /* not the head of an allocated block */
	MM_FREE_BAD_ORDER,   /* allocated with another order */
};

void mm_machine_init(struct mm_machine *m, uint32_t nr_nodes, uint32_t nr_cpus, uint32_t flags);
void mm_zone_init(struct mm_machine *m, uint32_t nid, uint32_t start_pfn, uint32_t spanned_pages,
		  struct page *pages, uint8_t *pageblock_mt, struct per_cpu_pages *pcp);
/* Hand [start_pfn, end_pfn) of a zone to the allocator, as memblock_free_all does at boot. */
void mm_zone_free_range(struct mm_machine *m, uint32_t nid, uint32_t start_pfn, uint32_t end_pfn);
/* min_free_kbytes == 0: derive it as init_per_zone_wmark_min does. */
void mm_setup_watermarks(struct mm_machine *m, uint32_t min_free_kbytes);
void mm_setup_pcp(struct mm_machine *m);

/* Allocate 2^order pages; nid < 0 prefers the CPU's node. Returns the pfn or PFN_NONE. */
uint32_t mm_alloc_pages(struct mm_machine *m, uint32_t order, uint32_t migratetype, uint32_t cpu, int32_t nid);
/* Free a block allocated by mm_alloc_pages, freed through CPU cpu's pcp lists. */
enum mm_free_error mm_free_pages(struct mm_machine *m, uint32_t pfn, uint32_t order, uint32_t cpu);
/* drain_all_pages: every pcp list of every CPU back to the buddy lists. */
void mm_drain_all_pages(struct mm_machine *m);

struct zone *mm_pfn_zone(struct mm_machine *m, uint32_t pfn);
int32_t mm_pfn_to_nid(struct mm_machine *m, uint32_t pfn);
/* zone_watermark_ok: would an order-`order` allocation pass watermark `mark` (in pages)? */
int mm_zone_watermark_ok(const struct zone *z, uint32_t order, uint32_t mark);

/* Helpers shared with the other core modules. */
uint32_t mm_int_sqrt(uint64_t x);
uint64_t mm_div_u64(uint64_t n, uint64_t d);   /* d != 0 */

#endif
