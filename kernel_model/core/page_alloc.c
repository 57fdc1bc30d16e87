/*
 * page_alloc.c - the buddy page allocator, following Linux 6.1 mm/page_alloc.c:
 * free_area lists per order and migratetype, expand() on split, merging on
 * free, migratetype fallback with pageblock stealing, watermarks and per-CPU
 * page lists. What Linux has and this model leaves out: highatomic reserves,
 * CMA, watermark boosting (it needs kswapd), page shuffling, compaction and
 * reclaim, and ALLOC_NOFRAGMENT (Linux sets it only when a DMA32 zone exists).
 * An allocation tries the zonelist at the low watermark, then (the slow path,
 * where Linux would reclaim) at the min watermark, then fails.
 * Memory policies (which node, which nodes) are mempolicy.c's.
 * Freestanding: no libc, no allocation, no 64-bit division.
 */
#include "page_alloc.h"
#include "mempolicy.h"
#include "mm_math.h"

static inline uint32_t get_pageblock_migratetype(const struct zone *z, uint32_t pfn)
{
	return z->pageblock_mt[(pfn - (z->zone_start_pfn & ~(PAGEBLOCK_NR_PAGES - 1))) >> PAGEBLOCK_ORDER];
}

static void set_pageblock_migratetype(struct zone *z, uint32_t pfn, uint32_t mt)
{
	if (z->no_mobility_grouping && mt < MIGRATE_PCPTYPES)
		mt = MIGRATE_UNMOVABLE;
	z->pageblock_mt[(pfn - (z->zone_start_pfn & ~(PAGEBLOCK_NR_PAGES - 1))) >> PAGEBLOCK_ORDER] = (uint8_t)mt;
}

/* ---- free lists ---------------------------------------------------------- */

static void add_to_free_list(struct zone *z, uint32_t pfn, uint32_t order, uint32_t mt, int tail)
{
	struct page *p = pfn_to_page(z, pfn);
	struct free_area *area = &z->free_area[order];

	MM_BUG_ON(order > MAX_PAGE_ORDER || mt >= MIGRATE_TYPES);
	MM_BUG_ON(pfn & ((1u << order) - 1));   /* blocks are naturally aligned */
	MM_BUG_ON(!zone_spans_pfn(z, pfn) || !zone_spans_pfn(z, pfn + (1u << order) - 1));
	MM_BUG_ON(p->flags);                     /* on no list, and not allocated */
	p->flags = PG_buddy;
	p->order = (uint8_t)order;
	p->info = (uint16_t)mt;
	mm_list_add(z, &area->free_list[mt], pfn, tail);
	area->nr_free++;
	area->nr_free_mt[mt]++;
	z->nr_free_pages += 1u << order;
}

static void del_page_from_free_list(struct zone *z, uint32_t pfn, uint32_t order)
{
	struct page *p = pfn_to_page(z, pfn);
	struct free_area *area = &z->free_area[order];
	uint32_t mt = p->info;

	MM_BUG_ON(p->flags != PG_buddy || p->order != order || mt >= MIGRATE_TYPES);
	MM_BUG_ON(!area->nr_free_mt[mt] || z->nr_free_pages < (1u << order));
	mm_list_del(z, &area->free_list[mt], pfn);
	p->flags = 0;
	area->nr_free--;
	area->nr_free_mt[mt]--;
	z->nr_free_pages -= 1u << order;
}

/* list_move_tail onto another migratetype's list of the same order. */
static void move_to_free_list(struct zone *z, uint32_t pfn, uint32_t order, uint32_t mt)
{
	del_page_from_free_list(z, pfn, order);
	add_to_free_list(z, pfn, order, mt, 1);
}

static int page_is_buddy(struct zone *z, uint32_t buddy_pfn, uint32_t order)
{
	struct page *b;

	if (!zone_spans_pfn(z, buddy_pfn))
		return 0;
	b = pfn_to_page(z, buddy_pfn);
	return (b->flags & PG_buddy) && b->order == order;
}

/* The next-higher block is likely to merge soon: put this one at the tail. */
static int buddy_merge_likely(struct zone *z, uint32_t pfn, uint32_t buddy_pfn, uint32_t order)
{
	uint32_t higher;

	if (order >= MAX_PAGE_ORDER - 1)
		return 0;
	higher = buddy_pfn & pfn;
	return page_is_buddy(z, higher ^ (1u << (order + 1)), order + 1);
}

static inline int migratetype_is_mergeable(uint32_t mt)
{
	return mt < MIGRATE_PCPTYPES;
}

/* __free_one_page: merge with free buddies, then queue at head or tail. */
static void free_one_page(struct zone *z, uint32_t pfn, uint32_t order, uint32_t mt, int to_tail)
{
	uint32_t buddy_pfn = 0;

	MM_BUG_ON(order > MAX_PAGE_ORDER || mt >= MIGRATE_TYPES);
	while (order < MAX_PAGE_ORDER) {
		buddy_pfn = pfn ^ (1u << order);
		if (!page_is_buddy(z, buddy_pfn, order))
			break;
		if (order >= PAGEBLOCK_ORDER) {
			uint32_t buddy_mt = get_pageblock_migratetype(z, buddy_pfn);

			if (mt != buddy_mt && (!migratetype_is_mergeable(mt) ||
					       !migratetype_is_mergeable(buddy_mt)))
				break;
		}
		del_page_from_free_list(z, buddy_pfn, order);
		pfn &= buddy_pfn;
		order++;
	}
	if (!to_tail)
		to_tail = buddy_merge_likely(z, pfn, buddy_pfn, order);
	add_to_free_list(z, pfn, order, mt, to_tail);
}

/* ---- allocation from the buddy lists ------------------------------------- */

/* expand: keep the low half, give each upper half back one order lower. */
static void expand(struct zone *z, uint32_t pfn, uint32_t low, uint32_t high, uint32_t mt)
{
	uint32_t size = 1u << high;

	MM_BUG_ON(low > high || high > MAX_PAGE_ORDER);
	while (high > low) {
		high--;
		size >>= 1;
		add_to_free_list(z, pfn + size, high, mt, 0);
	}
}

static uint32_t rmqueue_smallest(struct zone *z, uint32_t order, uint32_t mt)
{
	uint32_t o, pfn;

	for (o = order; o <= MAX_PAGE_ORDER; o++) {
		pfn = z->free_area[o].free_list[mt].head;
		if (pfn == PFN_NONE)
			continue;
		del_page_from_free_list(z, pfn, o);
		expand(z, pfn, order, o, mt);
		pfn_to_page(z, pfn)->info = (uint16_t)mt;   /* set_pcppage_migratetype */
		return pfn;
	}
	return PFN_NONE;
}

static const uint8_t fallbacks[MIGRATE_PCPTYPES][2] = {
	[MIGRATE_UNMOVABLE] = { MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE },
	[MIGRATE_MOVABLE] = { MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE },
	[MIGRATE_RECLAIMABLE] = { MIGRATE_UNMOVABLE, MIGRATE_MOVABLE },
};

static int can_steal_fallback(const struct zone *z, uint32_t order, uint32_t start_mt)
{
	if (order >= PAGEBLOCK_ORDER)
		return 1;
	return order >= PAGEBLOCK_ORDER / 2 || start_mt == MIGRATE_RECLAIMABLE ||
	       start_mt == MIGRATE_UNMOVABLE || z->no_mobility_grouping;
}

static int find_suitable_fallback(const struct zone *z, uint32_t order, uint32_t mt, int *can_steal)
{
	const struct free_area *area = &z->free_area[order];
	int i;

	if (area->nr_free == 0)
		return -1;
	*can_steal = 0;
	for (i = 0; i < 2; i++) {
		uint32_t fmt = fallbacks[mt][i];

		if (area->free_list[fmt].head == PFN_NONE)
			continue;
		if (can_steal_fallback(z, order, mt))
			*can_steal = 1;
		return (int)fmt;
	}
	return -1;
}

/* move_freepages_block: all free blocks of pfn's pageblock onto mt's lists. */
static uint32_t move_freepages_block(struct zone *z, uint32_t pfn, uint32_t mt, uint32_t *movable)
{
	uint32_t start = pfn & ~(PAGEBLOCK_NR_PAGES - 1);
	uint32_t end = start + PAGEBLOCK_NR_PAGES;
	uint32_t moved = 0;

	*movable = 0;
	if (!zone_spans_pfn(z, start) || !zone_spans_pfn(z, end - 1))
		return 0;
	for (pfn = start; pfn < end;) {
		struct page *p = pfn_to_page(z, pfn);
		uint32_t n = 1u << p->order;

		if (p->flags & PG_buddy) {
			move_to_free_list(z, pfn, p->order, mt);
			moved += n;
		} else if (p->flags & PG_head) {
			/* an allocated block: movable allocations count as movable pages */
			if (!(p->flags & PG_slab) && p->info == MIGRATE_MOVABLE)
				*movable += n;
		} else if (!(p->flags & PG_pcp)) {
			n = 1;   /* a hole or a tail page */
		}
		pfn += n;
	}
	return moved;
}

static void steal_suitable_fallback(struct zone *z, uint32_t pfn, uint32_t start_type, int whole_block)
{
	uint32_t current_order = pfn_to_page(z, pfn)->order;
	uint32_t old_block_type = get_pageblock_migratetype(z, pfn);
	uint32_t free_pages, movable_pages, alike_pages;

	if (old_block_type == MIGRATE_HIGHATOMIC)
		goto single_page;
	if (current_order >= PAGEBLOCK_ORDER) {
		uint32_t i, nr = 1u << (current_order - PAGEBLOCK_ORDER);

		for (i = 0; i < nr; i++)
			set_pageblock_migratetype(z, pfn + (i << PAGEBLOCK_ORDER), start_type);
		goto single_page;
	}
	if (!whole_block)
		goto single_page;

	free_pages = move_freepages_block(z, pfn, start_type, &movable_pages);
	if (start_type == MIGRATE_MOVABLE)
		alike_pages = movable_pages;
	else if (old_block_type == MIGRATE_MOVABLE)
		alike_pages = PAGEBLOCK_NR_PAGES - (free_pages + movable_pages);
	else
		alike_pages = 0;
	if (!free_pages)
		goto single_page;
	if (free_pages + alike_pages >= (1u << (PAGEBLOCK_ORDER - 1)) || z->no_mobility_grouping)
		set_pageblock_migratetype(z, pfn, start_type);
	return;

single_page:
	move_to_free_list(z, pfn, current_order, start_type);
}

static int rmqueue_fallback(struct zone *z, uint32_t order, uint32_t start_mt)
{
	struct free_area *area = 0;
	int current_order, fmt = -1, can_steal = 0;

	for (current_order = MAX_PAGE_ORDER; current_order >= (int)order; current_order--) {
		area = &z->free_area[current_order];
		fmt = find_suitable_fallback(z, (uint32_t)current_order, start_mt, &can_steal);
		if (fmt == -1)
			continue;
		/* Movable and no whole-block steal: split the smallest block instead. */
		if (!can_steal && start_mt == MIGRATE_MOVABLE && current_order > (int)order) {
			for (current_order = (int)order; current_order <= MAX_PAGE_ORDER; current_order++) {
				area = &z->free_area[current_order];
				fmt = find_suitable_fallback(z, (uint32_t)current_order, start_mt, &can_steal);
				if (fmt != -1)
					break;
			}
		}
		steal_suitable_fallback(z, area->free_list[fmt].head, start_mt, can_steal);
		z->stat[ZS_EXTFRAG]++;
		return 1;
	}
	return 0;
}

static uint32_t rmqueue(struct zone *z, uint32_t order, uint32_t mt)
{
	uint32_t pfn;

	for (;;) {
		pfn = rmqueue_smallest(z, order, mt);
		if (pfn != PFN_NONE || !rmqueue_fallback(z, order, mt))
			return pfn;
	}
}

/* ---- per-CPU page lists -------------------------------------------------- */

static inline uint32_t order_to_pindex(uint32_t mt, uint32_t order)
{
	return MIGRATE_PCPTYPES * order + mt;
}

static void free_pcppages_bulk(struct zone *z, int32_t count, struct per_cpu_pages *pcp, int32_t pindex)
{
	int32_t min_pindex = 0, max_pindex = NR_PCP_LISTS - 1;

	if (count > pcp->count)
		count = pcp->count;
	pindex = pindex - 1;
	while (count > 0) {
		struct mm_list *list;
		uint32_t order;

		for (;;) {
			if (++pindex > max_pindex)
				pindex = min_pindex;
			list = &pcp->lists[pindex];
			if (list->head != PFN_NONE)
				break;
			if (pindex == max_pindex)
				max_pindex--;
			if (pindex == min_pindex)
				min_pindex++;
		}
		order = (uint32_t)pindex / MIGRATE_PCPTYPES;
		do {
			uint32_t pfn = list->tail;
			struct page *p = pfn_to_page(z, pfn);

			mm_list_del(z, list, pfn);
			p->flags = 0;
			count -= 1 << order;
			pcp->count -= 1 << order;
			z->stat[ZS_PCP_DRAIN]++;
			free_one_page(z, pfn, order, p->info, 0);
		} while (count > 0 && list->head != PFN_NONE);
	}
	MM_BUG_ON(pcp->count < 0);
}

static uint32_t rmqueue_pcplist(struct zone *z, struct per_cpu_pages *pcp, uint32_t order, uint32_t mt)
{
	struct mm_list *list = &pcp->lists[order_to_pindex(mt, order)];
	uint32_t pfn;

	pcp->free_factor >>= 1;
	if (list->head == PFN_NONE) {
		int32_t batch = pcp->batch, i;

		if (batch > 1) {
			batch >>= order;
			if (batch < 2)
				batch = 2;
		}
		for (i = 0; i < batch; i++) {   /* rmqueue_bulk */
			pfn = rmqueue(z, order, mt);
			if (pfn == PFN_NONE)
				break;
			pfn_to_page(z, pfn)->flags = PG_pcp;
			pfn_to_page(z, pfn)->order = (uint8_t)order;
			mm_list_add(z, list, pfn, 1);
			z->stat[ZS_PCP_REFILL]++;
		}
		pcp->count += i << order;
		if (list->head == PFN_NONE)
			return PFN_NONE;
	}
	pfn = list->head;
	MM_BUG_ON(pfn_to_page(z, pfn)->flags != PG_pcp || pfn_to_page(z, pfn)->order != order);
	mm_list_del(z, list, pfn);
	pcp->count -= 1 << order;
	MM_BUG_ON(pcp->count < 0);
	return pfn;
}

static int32_t nr_pcp_free(struct per_cpu_pages *pcp, int32_t high, int32_t batch, int free_high)
{
	int32_t min_nr_free, max_nr_free;

	if (free_high)
		return pcp->count;
	if (high < batch)
		return 1;
	min_nr_free = batch;
	max_nr_free = high - batch;
	batch <<= pcp->free_factor;
	if (batch < max_nr_free)
		pcp->free_factor++;
	if (batch < min_nr_free)
		batch = min_nr_free;
	if (batch > max_nr_free)
		batch = max_nr_free;
	return batch;
}

static void free_unref_page_commit(struct zone *z, struct per_cpu_pages *pcp, uint32_t pfn,
				   uint32_t order, uint32_t mt)
{
	uint32_t pindex = order_to_pindex(mt, order);
	int free_high;
	int32_t high;

	pfn_to_page(z, pfn)->flags = PG_pcp;
	mm_list_add(z, &pcp->lists[pindex], pfn, 0);
	pcp->count += 1 << order;
	free_high = pcp->free_factor && order && order <= PAGE_ALLOC_COSTLY_ORDER;
	high = free_high ? 0 : pcp->high;
	if (pcp->count >= high)
		free_pcppages_bulk(z, nr_pcp_free(pcp, high, pcp->batch, free_high), pcp, (int32_t)pindex);
}

/* ---- set-up -------------------------------------------------------------- */

int mm_machine_init(struct mm_machine *m, uint32_t nr_nodes, uint32_t nr_cpus, uint32_t flags)
{
	uint32_t i, j;

	/* every per-node and per-CPU array of the machine is sized by these */
	if (!nr_nodes || nr_nodes > MM_MAX_NODES || !nr_cpus || nr_cpus > MM_MAX_CPUS)
		return -1;
	mm_memzero(m, sizeof(*m));
	m->nr_nodes = nr_nodes;
	m->nr_cpus = nr_cpus;
	m->flags = flags;
	mm_mempolicy_init(m);
	for (i = 0; i < nr_nodes; i++)
		for (j = 0; j < nr_nodes; j++) {
			m->zonelist[i][j] = (uint8_t)((i + j) % nr_nodes);
			m->latency[i][j] = i == j ? 100 : 200;   /* SLIT 10 / 20 at 10 ns per unit */
		}
	return 0;
}

void mm_zone_init(struct mm_machine *m, uint32_t nid, uint32_t start_pfn, uint32_t spanned_pages,
		  struct page *pages, uint8_t *pageblock_mt, struct per_cpu_pages *pcp, uintptr_t memory)
{
	struct zone *z = &m->zones[nid];
	uint32_t o, t, cpu, pfn;

	MM_BUG_ON(nid >= m->nr_nodes);
	z->node = nid;
	z->zone_start_pfn = start_pfn;
	z->spanned_pages = spanned_pages;
	z->pages = pages;
	z->mem_map = (uintptr_t)pages - (uintptr_t)start_pfn * sizeof(struct page);
	z->has_memory = memory != MM_NO_MEMORY;
	z->direct_map = z->has_memory ? memory - ((uintptr_t)start_pfn << PAGE_SHIFT) : 0;
	z->pageblock_mt = pageblock_mt;
	z->pcp = pcp;
	for (o = 0; o < NR_PAGE_ORDERS; o++)
		for (t = 0; t < MIGRATE_TYPES; t++)
			z->free_area[o].free_list[t].head = z->free_area[o].free_list[t].tail = PFN_NONE;
	for (cpu = 0; cpu < m->nr_cpus; cpu++)
		for (t = 0; t < NR_PCP_LISTS; t++)
			pcp[cpu].lists[t].head = pcp[cpu].lists[t].tail = PFN_NONE;
	z->no_mobility_grouping = !!(m->flags & MM_NO_MOBILITY_GROUPING);
	/* memmap_init: every pageblock starts movable */
	for (pfn = start_pfn & ~(PAGEBLOCK_NR_PAGES - 1); pfn < start_pfn + spanned_pages; pfn += PAGEBLOCK_NR_PAGES)
		set_pageblock_migratetype(z, pfn < start_pfn ? start_pfn : pfn, MIGRATE_MOVABLE);
}

void mm_zone_free_range(struct mm_machine *m, uint32_t nid, uint32_t start, uint32_t end)
{
	struct zone *z = &m->zones[nid];

	MM_BUG_ON(nid >= m->nr_nodes || start > end || (start < end && !zone_spans_pfn(z, end - 1)));
	z->present_pages += end - start;
	z->managed_pages += end - start;
	/* __free_pages_memory: naturally aligned blocks, queued at the tail */
	while (start < end) {
		uint32_t order = MAX_PAGE_ORDER;

		while (order && (start & ((1u << order) - 1)))
			order--;
		while (start + (1u << order) > end)
			order--;
		free_one_page(z, start, order, get_pageblock_migratetype(z, start), 1);
		start += 1u << order;
	}
}

void mm_setup_watermarks(struct mm_machine *m, uint32_t min_free_kbytes)
{
	uint32_t nid, lowmem_pages = 0, pages_min;

	for (nid = 0; nid < m->nr_nodes; nid++)
		lowmem_pages += m->zones[nid].managed_pages;
	if (!min_free_kbytes) {
		/* init_per_zone_wmark_min: int_sqrt(lowmem_kbytes * 16), clamped */
		min_free_kbytes = mm_int_sqrt((uint64_t)lowmem_pages * (PAGE_SIZE >> 10) * 16);
		if (min_free_kbytes < 128)
			min_free_kbytes = 128;
		if (min_free_kbytes > 262144)
			min_free_kbytes = 262144;
	}
	m->min_free_kbytes = min_free_kbytes;
	pages_min = min_free_kbytes >> (PAGE_SHIFT - 10);
	for (nid = 0; nid < m->nr_nodes; nid++) {
		struct zone *z = &m->zones[nid];
		uint32_t min, tmp, scale;

		if (!lowmem_pages)
			break;
		/* __setup_per_zone_wmarks, watermark_scale_factor = 10 */
		min = (uint32_t)mm_div64_u64((uint64_t)pages_min * z->managed_pages, lowmem_pages);
		scale = (z->managed_pages / 10000) * 10 + ((z->managed_pages % 10000) * 10) / 10000;
		tmp = min >> 2;
		if (tmp < scale)
			tmp = scale;
		z->watermark[WMARK_MIN] = min;
		z->watermark[WMARK_LOW] = min + tmp;
		z->watermark[WMARK_HIGH] = min + 2 * tmp;
	}
}

static int32_t zone_batchsize(const struct zone *z)
{
	uint32_t batch = z->managed_pages >> 10, r;

	if (batch > (1u << 20) / PAGE_SIZE)
		batch = (1u << 20) / PAGE_SIZE;
	batch /= 4;
	if (batch < 1)
		batch = 1;
	batch += batch / 2;
	r = 1u << mm_ilog2(batch);   /* rounddown_pow_of_two */
	/* zone_set_pageset_high_and_batch: max(1, zone_batchsize()) */
	return r > 1 ? (int32_t)r - 1 : 1;
}

void mm_setup_pcp(struct mm_machine *m)
{
	uint32_t nid, cpu;

	for (nid = 0; nid < m->nr_nodes; nid++) {
		struct zone *z = &m->zones[nid];
		int32_t batch = zone_batchsize(z), high;
		uint32_t nr_split = 0;

		/* zone_highsize: the low watermark split over the node's CPUs */
		for (cpu = 0; cpu < m->nr_cpus; cpu++)
			nr_split += m->cpu_to_node[cpu] == nid;
		if (!nr_split)
			nr_split = m->nr_cpus;
		high = (int32_t)(z->watermark[WMARK_LOW] / nr_split);
		if (high < batch << 2)
			high = batch << 2;
		for (cpu = 0; cpu < m->nr_cpus; cpu++) {
			z->pcp[cpu].batch = batch;
			z->pcp[cpu].high = high;
		}
	}
}

/* ---- the allocator's entry points --------------------------------------- */

/* zone_watermark_ok: would an order-`order` allocation pass watermark `mark` (in pages)? */
static int zone_watermark_ok(const struct zone *z, uint32_t order, uint32_t mark)
{
	uint32_t o, t;

	if (!order)
		return z->nr_free_pages > mark;
	if ((int64_t)z->nr_free_pages - ((1 << order) - 1) <= (int64_t)mark)
		return 0;
	for (o = order; o <= MAX_PAGE_ORDER; o++) {
		if (!z->free_area[o].nr_free)
			continue;
		for (t = 0; t < MIGRATE_PCPTYPES; t++)
			if (z->free_area[o].free_list[t].head != PFN_NONE)
				return 1;
	}
	return 0;
}

/* zone_statistics: numastat of one successful allocation. */
static void zone_statistics(struct mm_machine *m, struct zone *preferred, struct zone *z, uint32_t cpu)
{
	if (z == preferred) {
		z->numa[NUMA_HIT]++;
	} else {
		z->numa[NUMA_MISS]++;
		preferred->numa[NUMA_FOREIGN]++;
	}
	z->numa[z->node == m->cpu_to_node[cpu] ? NUMA_LOCAL : NUMA_OTHER]++;
}

/*
 * get_page_from_freelist along preferred's zonelist, skipping nodes outside mask: at the
 * low watermark, then (the slow path, where Linux would reclaim) at min.
 */
uint32_t mm_alloc_pages_nodemask(struct mm_machine *m, uint32_t order, uint32_t mt, uint32_t cpu,
				 uint32_t preferred, uint64_t mask, int count_fail)
{
	struct zone *pz = 0;
	uint32_t wmark, i, pfn;

	for (i = 0; i < m->nr_nodes && !pz; i++)   /* the preferred zone: first one allowed */
		if ((mask >> m->zonelist[preferred][i]) & 1)
			pz = &m->zones[m->zonelist[preferred][i]];
	if (!pz)
		return PFN_NONE;
	for (wmark = WMARK_LOW;; wmark = WMARK_MIN) {
		for (i = 0; i < m->nr_nodes; i++) {
			uint32_t nid = m->zonelist[preferred][i];
			struct zone *z = &m->zones[nid];

			if (!((mask >> nid) & 1) || !z->managed_pages ||
			    !zone_watermark_ok(z, order, z->watermark[wmark]))
				continue;
			if ((m->flags & MM_PCP) && order <= PAGE_ALLOC_COSTLY_ORDER)
				pfn = rmqueue_pcplist(z, &z->pcp[cpu], order, mt);
			else
				pfn = rmqueue(z, order, mt);
			if (pfn == PFN_NONE)
				continue;
			{
				struct page *p = pfn_to_page(z, pfn);

				MM_BUG_ON(!zone_spans_pfn(z, pfn) || (pfn & ((1u << order) - 1)));
				p->flags = PG_head;
				p->order = (uint8_t)order;
				p->info = (uint16_t)mt;
			}
			z->stat[ZS_PGALLOC] += 1u << order;
			z->stat[ZS_ALLOC_SUCCESS]++;
			if (wmark == WMARK_MIN)
				pz->stat[ZS_WMARK_LOW_FAIL]++;
			zone_statistics(m, pz, z, cpu);
			return pfn;
		}
		if (wmark == WMARK_MIN)
			break;
	}
	if (count_fail)
		pz->stat[ZS_ALLOC_FAIL]++;
	return PFN_NONE;
}

uint32_t mm_alloc_pages(struct mm_machine *m, uint32_t order, uint32_t mt, uint32_t cpu, int32_t nid)
{
	/* the pcp lists and the fallback table hold the first MIGRATE_PCPTYPES types only */
	if (order > MAX_PAGE_ORDER || mt >= MIGRATE_PCPTYPES || cpu >= m->nr_cpus ||
	    (nid >= 0 && (uint32_t)nid >= m->nr_nodes))
		return PFN_NONE;
	if (m->flags & MM_NO_MOBILITY_GROUPING)
		mt = MIGRATE_UNMOVABLE;   /* gfp_migratetype */
	if (nid >= 0)
		return mm_alloc_pages_nodemask(m, order, mt, cpu, (uint32_t)nid, mm_all_nodes(m), 1);
	return mm_alloc_pages_policy(m, order, mt, cpu);
}

struct zone *mm_pfn_zone(struct mm_machine *m, uint32_t pfn)
{
	uint32_t nid;

	for (nid = 0; nid < m->nr_nodes; nid++)
		if (zone_spans_pfn(&m->zones[nid], pfn))
			return &m->zones[nid];
	return 0;
}

int32_t mm_pfn_to_nid(struct mm_machine *m, uint32_t pfn)
{
	struct zone *z = mm_pfn_zone(m, pfn);

	return z ? (int32_t)z->node : -1;
}

void mm_free_block(struct mm_machine *m, struct zone *z, uint32_t pfn, uint32_t order, uint32_t cpu)
{
	struct page *p = pfn_to_page(z, pfn);
	uint32_t mt;

	MM_BUG_ON(!(p->flags & PG_head) || p->order != order || cpu >= m->nr_cpus);
	p->flags = 0;
	z->stat[ZS_PGFREE] += 1u << order;
	mt = get_pageblock_migratetype(z, pfn);
	p->info = (uint16_t)mt;     /* free_unref_page_prepare */
	if ((m->flags & MM_PCP) && order <= PAGE_ALLOC_COSTLY_ORDER && mt != MIGRATE_ISOLATE) {
		if (mt >= MIGRATE_PCPTYPES)
			mt = MIGRATE_MOVABLE;     /* highatomic pages sit on the movable list */
		free_unref_page_commit(z, &z->pcp[cpu], pfn, order, mt);
	} else {
		free_one_page(z, pfn, order, mt, 0);
	}
}

enum mm_free_error mm_free_pages(struct mm_machine *m, uint32_t pfn, uint32_t order, uint32_t cpu)
{
	struct zone *z = mm_pfn_zone(m, pfn);
	struct page *p;

	if (cpu >= m->nr_cpus)
		return MM_FREE_BAD_CPU;
	if (!z)
		return MM_FREE_BAD_PFN;
	p = pfn_to_page(z, pfn);
	if (!(p->flags & PG_head))
		return MM_FREE_NOT_ALLOCATED;
	if (p->flags & (PG_slab | PG_large_kmalloc))
		return MM_FREE_WRONG_KIND;
	if (p->order != order)
		return MM_FREE_BAD_ORDER;
	mm_free_block(m, z, pfn, order, cpu);
	return MM_FREE_OK;
}

void mm_drain_all_pages(struct mm_machine *m)
{
	uint32_t nid, cpu;

	for (cpu = 0; cpu < m->nr_cpus; cpu++)
		for (nid = 0; nid < m->nr_nodes; nid++) {
			struct zone *z = &m->zones[nid];

			if (z->pcp && z->pcp[cpu].count)
				free_pcppages_bulk(z, z->pcp[cpu].count, &z->pcp[cpu], 0);
			MM_BUG_ON(z->pcp && z->pcp[cpu].count);
		}
}
