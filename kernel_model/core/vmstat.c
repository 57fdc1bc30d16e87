/* vmstat.c - extfrag and unusable free index (see vmstat.h). */
#include "vmstat.h"
#include "mm_math.h"

struct contig_page_info {
	uint64_t free_pages;
	uint64_t free_blocks_total;
	uint64_t free_blocks_suitable;
};

static void fill_contig_page_info(const uint64_t *nr_free, uint32_t order, struct contig_page_info *info)
{
	uint32_t o;

	MM_BUG_ON(order > MAX_PAGE_ORDER);
	info->free_pages = info->free_blocks_total = info->free_blocks_suitable = 0;
	for (o = 0; o < NR_PAGE_ORDERS; o++) {
		info->free_blocks_total += nr_free[o];
		info->free_pages += nr_free[o] << o;
		if (o >= order)
			info->free_blocks_suitable += nr_free[o] << (o - order);
	}
}

int32_t mm_extfrag_index(const uint64_t *nr_free, uint32_t order)
{
	struct contig_page_info info;

	fill_contig_page_info(nr_free, order, &info);
	if (!info.free_blocks_total)
		return 0;
	if (info.free_blocks_suitable)
		return -1000;   /* the request would succeed */
	/* 1000 - (1000 + free_pages * 1000 / 2^order) / free_blocks_total; not clamped */
	return (int32_t)(1000 - (int64_t)mm_div64_u64(1000 + ((info.free_pages * 1000) >> order),
						      info.free_blocks_total));
}

int32_t mm_unusable_free_index(const uint64_t *nr_free, uint32_t order)
{
	struct contig_page_info info;

	fill_contig_page_info(nr_free, order, &info);
	if (!info.free_pages)
		return 1000;
	return (int32_t)mm_div64_u64((info.free_pages - (info.free_blocks_suitable << order)) * 1000,
				     info.free_pages);
}

void mm_page_map(const struct mm_machine *m, uint32_t nid, uint8_t *out)
{
	const struct zone *z;
	uint32_t i = 0, k, n;

	if (nid >= m->nr_nodes)
		return;
	z = &m->zones[nid];
	while (i < z->spanned_pages) {
		const struct page *p = &z->pages[i];
		uint8_t code;

		if (p->flags & (PG_buddy | PG_pcp))
			code = PAGE_MAP_FREE;
		else if (p->flags & PG_slab)
			code = PAGE_MAP_SLAB;
		else if (p->flags & PG_head)
			code = (uint8_t)(1 + p->info);
		else {
			out[i++] = PAGE_MAP_HOLE;   /* tail pages are reached through their heads */
			continue;
		}
		MM_BUG_ON(p->order > MAX_PAGE_ORDER);
		n = 1u << p->order;
		for (k = 0; k < n && i + k < z->spanned_pages; k++)
			out[i + k] = code;
		i += n;
	}
}
