/*
 * page_alloc.h - the buddy page allocator (after Linux 6.1 mm/page_alloc.c).
 *
 * Set-up order: mm_machine_init, mm_zone_init per node, mm_zone_free_range for
 * each usable range, then mm_setup_watermarks and mm_setup_pcp.
 */
#ifndef MM_PAGE_ALLOC_H
#define MM_PAGE_ALLOC_H

#include "bug.h"
#include "mm_types.h"

/* mem_map is pages - zone_start_pfn, kept as an integer so the arithmetic is defined. */
static inline struct page *pfn_to_page(const struct zone *z, uint32_t pfn)
{
	return (struct page *)(z->mem_map + (uintptr_t)pfn * sizeof(struct page));
}

static inline int zone_spans_pfn(const struct zone *z, uint32_t pfn)
{
	return pfn >= z->zone_start_pfn && pfn - z->zone_start_pfn < z->spanned_pages;
}

/* Doubly linked lists of pfns through struct page next/prev (one zone per list). */
static inline void mm_list_add(struct zone *z, struct mm_list *l, uint32_t pfn, int tail)
{
	struct page *p = pfn_to_page(z, pfn);

	if (l->head == PFN_NONE) {
		p->next = p->prev = PFN_NONE;
		l->head = l->tail = pfn;
	} else if (tail) {
		p->next = PFN_NONE;
		p->prev = l->tail;
		pfn_to_page(z, l->tail)->next = pfn;
		l->tail = pfn;
	} else {
		p->prev = PFN_NONE;
		p->next = l->head;
		pfn_to_page(z, l->head)->prev = pfn;
		l->head = pfn;
	}
}

static inline void mm_list_del(struct zone *z, struct mm_list *l, uint32_t pfn)
{
	struct page *p = pfn_to_page(z, pfn);

	MM_BUG_ON(p->prev == PFN_NONE ? l->head != pfn : pfn_to_page(z, p->prev)->next != pfn);
	MM_BUG_ON(p->next == PFN_NONE ? l->tail != pfn : pfn_to_page(z, p->next)->prev != pfn);

	if (p->prev == PFN_NONE)
		l->head = p->next;
	else
		pfn_to_page(z, p->prev)->next = p->next;
	if (p->next == PFN_NONE)
		l->tail = p->prev;
	else
		pfn_to_page(z, p->next)->prev = p->prev;
}

/* The bytes of a page: the model's direct map (real memory on the host and in the guest). */
static inline uint8_t *page_address(const struct zone *z, uint32_t pfn)
{
	return (uint8_t *)(z->direct_map + ((uintptr_t)pfn << PAGE_SHIFT));
}

/* Why mm_free_pages refused a free (the model is never changed by a refused free). */
enum mm_free_error {
	MM_FREE_OK = 0,
	MM_FREE_BAD_PFN,     /* pfn outside every zone */
	MM_FREE_NOT_ALLOCATED, /* not the head of an allocated block */
	MM_FREE_BAD_ORDER,   /* allocated with another order */
	MM_FREE_WRONG_KIND,  /* a slab or a large kmalloc: freed through the slab allocator */
	MM_FREE_BAD_CPU,     /* cpu outside the machine */
};

static inline uint64_t mm_all_nodes(const struct mm_machine *m)
{
	return m->nr_nodes >= 64 ? ~0ull : (1ull << m->nr_nodes) - 1;
}

/* Returns 0, or -1 (and sets nothing up) for 0 or more than MM_MAX_NODES nodes or MM_MAX_CPUS CPUs. */
int mm_machine_init(struct mm_machine *m, uint32_t nr_nodes, uint32_t nr_cpus, uint32_t flags);
/* memory: address where the zone's first page's bytes live (slab objects need it), or
 * MM_NO_MEMORY. It may be 0: in an identity-mapped guest the zone at pfn 0 lives there. */
#define MM_NO_MEMORY ((uintptr_t)-1)
void mm_zone_init(struct mm_machine *m, uint32_t nid, uint32_t start_pfn, uint32_t spanned_pages,
		  struct page *pages, uint8_t *pageblock_mt, struct per_cpu_pages *pcp, uintptr_t memory);
/* Hand [start_pfn, end_pfn) of a zone to the allocator, as memblock_free_all does at boot. */
void mm_zone_free_range(struct mm_machine *m, uint32_t nid, uint32_t start_pfn, uint32_t end_pfn);
/* min_free_kbytes == 0: derive it as init_per_zone_wmark_min does. */
void mm_setup_watermarks(struct mm_machine *m, uint32_t min_free_kbytes);
void mm_setup_pcp(struct mm_machine *m);

/* Allocate 2^order pages of a migratetype below MIGRATE_PCPTYPES. nid >= 0 prefers that node
 * (like alloc_pages_node); nid < 0 follows the CPU's memory policy (mempolicy.h). Returns the
 * pfn, or PFN_NONE when no zone can serve it or an argument is out of range. */
uint32_t mm_alloc_pages(struct mm_machine *m, uint32_t order, uint32_t migratetype, uint32_t cpu, int32_t nid);
/* __alloc_pages: try preferred's zonelist, skipping nodes outside nodemask; count_fail: a
 * failure counts against the preferred zone. For the core (mempolicy.c); arguments unchecked. */
uint32_t mm_alloc_pages_nodemask(struct mm_machine *m, uint32_t order, uint32_t mt, uint32_t cpu,
				 uint32_t preferred, uint64_t nodemask, int count_fail);

/* Free a block allocated by mm_alloc_pages, freed through CPU cpu's pcp lists. */
enum mm_free_error mm_free_pages(struct mm_machine *m, uint32_t pfn, uint32_t order, uint32_t cpu);
/* Free an allocated block without checking what it is (the slab allocator's path). */
void mm_free_block(struct mm_machine *m, struct zone *z, uint32_t pfn, uint32_t order, uint32_t cpu);
/* drain_all_pages: every pcp list of every CPU back to the buddy lists. */
void mm_drain_all_pages(struct mm_machine *m);

struct zone *mm_pfn_zone(struct mm_machine *m, uint32_t pfn);
int32_t mm_pfn_to_nid(struct mm_machine *m, uint32_t pfn);

#endif
