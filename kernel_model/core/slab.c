/*
 * slab.c - SLUB-style slab allocator (see slab.h), following Linux 6.1 mm/slub.c:
 * the per-CPU active slab with its lockless freelist, per-CPU partial lists,
 * per-node partial lists with min_partial, and the kmalloc size classes.
 */
#include "mm_math.h"
#include "slab.h"

static const uint32_t kmalloc_sizes[] = { KMALLOC_SIZES };

_Static_assert(sizeof(kmalloc_sizes) == NR_KMALLOC_CACHES * sizeof(uint32_t), "one size per kmalloc cache");
_Static_assert(MM_MAX_KMALLOC_CACHES <= 256, "size_index[] holds cache indices in a byte");

/* SLUB_STATS */
#define stat(s, item) ((s)->stat[item]++)

static inline uint32_t order_objects(uint32_t order, uint32_t size)
{
	return (PAGE_SIZE << order) / size;
}

static inline struct kmem_cache_cpu *cpu_slab(struct mm_slab *sl, uint32_t cache, uint32_t cpu)
{
	return &sl->cpu_slab[cache * sl->m->nr_cpus + cpu];
}

static inline struct kmem_cache_node *get_node(struct mm_slab *sl, uint32_t cache, uint32_t nid)
{
	return &sl->node[cache * sl->m->nr_nodes + nid];
}

static inline uint16_t *freeptr(const struct zone *z, const struct kmem_cache *s, uint32_t slab, uint32_t idx)
{
	return (uint16_t *)(page_address(z, slab) + idx * s->size + s->offset);
}

static inline uint64_t obj_addr(const struct kmem_cache *s, uint32_t slab, uint32_t idx)
{
	return ((uint64_t)slab << PAGE_SHIFT) + idx * s->size;
}

/* ---- sizes (calculate_sizes, calculate_order) ----------------------------- */

static uint32_t calc_slab_order(uint32_t size, uint32_t min_objects, uint32_t max_order, uint32_t fract_leftover)
{
	uint32_t order;

	if (order_objects(0, size) > MAX_OBJS_PER_PAGE)
		return mm_get_order((uint64_t)size * MAX_OBJS_PER_PAGE) - 1;
	for (order = mm_get_order((uint64_t)min_objects * size); order <= max_order; order++) {
		uint32_t slab_size = PAGE_SIZE << order;

		if (slab_size % size <= slab_size / fract_leftover)
			break;
	}
	return order;
}

uint32_t mm_slab_calculate_order(uint32_t size, uint32_t nr_cpus)
{
	uint32_t min_objects = 4 * (mm_fls(nr_cpus) + 1);
	uint32_t max_objects, order, fraction;

	if (!size)
		return 0;   /* nothing to hold: any slab will do */
	max_objects = order_objects(SLUB_MAX_ORDER, size);
	if (min_objects > max_objects)
		min_objects = max_objects;
	while (min_objects > 1) {
		for (fraction = 16; fraction >= 4; fraction /= 2) {
			order = calc_slab_order(size, min_objects, SLUB_MAX_ORDER, fraction);
			if (order <= SLUB_MAX_ORDER)
				return order;
		}
		min_objects--;
	}
	order = calc_slab_order(size, 1, SLUB_MAX_ORDER, 1);
	if (order <= SLUB_MAX_ORDER)
		return order;
	return calc_slab_order(size, 1, MAX_PAGE_ORDER + 1, 1);
}

/* The kmalloc cache of a request of 1..kmalloc_max bytes. */
static inline uint32_t kmalloc_slot(const struct mm_slab *sl, uint64_t size)
{
	return sl->size_index[(size - 1) >> KMALLOC_SHIFT_LOW];
}

uint32_t mm_kmalloc_cache(const struct mm_slab *sl, uint64_t size)
{
	if (!size || size > sl->kmalloc_max)
		return MM_NO_CACHE;
	return kmalloc_slot(sl, size);
}

int mm_kmalloc_classes_valid(const uint32_t *sizes, uint32_t n)
{
	uint32_t i;

	if (!n || n > MM_MAX_KMALLOC_CACHES)
		return 0;
	for (i = 0; i < n; i++)
		if (!sizes[i] || sizes[i] % 8 || sizes[i] > KMALLOC_MAX_CACHE_SIZE || (i && sizes[i] <= sizes[i - 1]))
			return 0;
	return 1;
}

uint32_t mm_kmem_cache_create(struct mm_slab *sl, uint32_t size, uint32_t align, uint32_t flags, uint32_t name_id)
{
	struct kmem_cache *s;
	uint32_t idx = sl->nr_caches, i, nr_objects, slot;

	if (idx == sl->max_caches || size == 0 || size > (PAGE_SIZE << MAX_PAGE_ORDER) ||
	    (align & (align - 1)) || align > (PAGE_SIZE << MAX_PAGE_ORDER))
		return MM_NO_CACHE;
	s = &sl->caches[idx];
	mm_memzero(s, sizeof(*s));
	/* calculate_alignment */
	if (flags & SLAB_HWCACHE_ALIGN) {
		uint32_t ralign = 64;

		while (size <= ralign / 2)
			ralign /= 2;
		if (align < ralign)
			align = ralign;
	}
	if (align < 8)
		align = 8;                  /* ARCH_SLAB_MINALIGN */
	align = (align + 7) & ~7u;
	/* calculate_sizes: no debug metadata, free pointer in the middle of the object */
	slot = (size + 7) & ~7u;
	slot = (slot + align - 1) & ~(align - 1);
	s->object_size = size;
	s->size = slot;
	s->align = align;
	s->offset = (size / 2) & ~7u;
	s->flags = flags;
	s->name_id = name_id;
	s->order = (uint8_t)mm_slab_calculate_order(slot, sl->m->nr_cpus);
	s->min_order = (uint8_t)mm_get_order(slot);
	s->objects = (uint16_t)order_objects(s->order, slot);
	/* set_min_partial(s, ilog2(size) / 2), clamped to 5..10 */
	s->min_partial = mm_ilog2(slot) / 2;
	if (s->min_partial < 5)
		s->min_partial = 5;
	if (s->min_partial > 10)
		s->min_partial = 10;
	/* set_cpu_partial */
	nr_objects = slot >= PAGE_SIZE ? 6 : slot >= 1024 ? 24 : slot >= 256 ? 52 : 120;
	s->cpu_partial = nr_objects;
	s->cpu_partial_slabs = (nr_objects * 2 + s->objects - 1) / s->objects;
	for (i = 0; i < sl->m->nr_cpus; i++) {
		struct kmem_cache_cpu *c = cpu_slab(sl, idx, i);

		c->slab = c->partial = PFN_NONE;
		c->freelist = SLAB_NO_OBJ;
		c->partial_slabs = 0;
	}
	for (i = 0; i < sl->m->nr_nodes; i++) {
		struct kmem_cache_node *n = get_node(sl, idx, i);

		n->partial.head = n->partial.tail = PFN_NONE;
		n->nr_partial = n->nr_slabs = 0;
		n->total_objects = 0;
	}
	sl->nr_caches++;
	return idx;
}

int mm_slab_init(struct mm_slab *sl, struct mm_machine *m, struct kmem_cache *caches,
		 struct kmem_cache_cpu *cpu, struct kmem_cache_node *node, uint32_t max_caches,
		 const uint32_t *classes, uint32_t nr_classes)
{
	uint32_t i, at = 0;

	if (!nr_classes) {
		classes = kmalloc_sizes;
		nr_classes = NR_KMALLOC_CACHES;
	}
	if (!mm_kmalloc_classes_valid(classes, nr_classes))
		return -1;
	mm_memzero(sl, sizeof(*sl));
	sl->m = m;
	sl->max_caches = max_caches;
	sl->caches = caches;
	sl->cpu_slab = cpu;
	sl->node = node;
	for (i = 0; i < m->nr_populated; i++)
		if (!m->populated[i]->has_memory)
			return -1;   /* slabs need the zone's memory */
	/* create_kmalloc_caches: the classes in ascending order (Linux's: 8 16 32 64 96 128 192 256 ... 8k),
	 * each laid out as any cache is; a request goes to the smallest class that holds it */
	for (i = 0; i < nr_classes; i++) {
		uint32_t size = classes[i];
		uint32_t align = mm_is_power_of_2(size) ? size : 8;   /* natural alignment for powers of 2 */

		if (mm_kmem_cache_create(sl, size, align, SLAB_KMALLOC, i) != i)
			return -1;
		for (; at < size >> KMALLOC_SHIFT_LOW; at++)
			sl->size_index[at] = (uint8_t)i;
	}
	sl->nr_kmalloc = nr_classes;
	sl->kmalloc_max = classes[nr_classes - 1];
	m->slab = sl;
	return 0;
}

/* ---- slabs and partial lists --------------------------------------------- */

static inline uint32_t slab_objects(const struct kmem_cache *s, const struct page *p)
{
	return order_objects(p->order, s->size);
}

static void add_partial(struct mm_slab *sl, struct kmem_cache_node *n, uint32_t slab, int tail)
{
	n->nr_partial++;
	mm_list_add(mm_pfn_zone(sl->m, slab), &n->partial, slab, tail);
}

static void remove_partial(struct mm_slab *sl, struct kmem_cache_node *n, uint32_t slab)
{
	MM_BUG_ON(!n->nr_partial);
	mm_list_del(mm_pfn_zone(sl->m, slab), &n->partial, slab);
	n->nr_partial--;
}

/* allocate_slab: s->oo, falling back to s->min; the freelist in address order. */
static uint32_t new_slab(struct mm_slab *sl, uint32_t cache, uint32_t cpu, int32_t nid)
{
	struct kmem_cache *s = &sl->caches[cache];
	uint32_t mt = (s->flags & SLAB_RECLAIM_ACCOUNT) ? MIGRATE_RECLAIMABLE : MIGRATE_UNMOVABLE;
	uint32_t pfn = mm_alloc_pages(sl->m, s->order, mt, cpu, nid);
	uint32_t objects, i;
	struct zone *z;
	struct page *p;

	if (pfn == PFN_NONE) {
		pfn = mm_alloc_pages(sl->m, s->min_order, mt, cpu, nid);
		if (pfn == PFN_NONE)
			return PFN_NONE;
		stat(s, ORDER_FALLBACK);
	}
	z = mm_pfn_zone(sl->m, pfn);
	p = pfn_to_page(z, pfn);
	p->flags = PG_head | PG_slab;
	p->info = (uint16_t)cache;
	p->inuse = 0;
	objects = slab_objects(s, p);
	MM_BUG_ON(!objects || objects > MAX_OBJS_PER_PAGE);
	for (i = 0; i + 1 < objects; i++)
		*freeptr(z, s, pfn, i) = (uint16_t)(i + 1);
	*freeptr(z, s, pfn, objects - 1) = SLAB_NO_OBJ;
	p->freelist = 0;
	return pfn;
}

/* A slab of cache s (head page p) is counted in (add) or out of usage[], at record sl->clock. */
static void account_slab(struct mm_slab *sl, const struct kmem_cache *s, const struct page *p, int add)
{
	uint64_t pages = 1ull << p->order, tail = (PAGE_SIZE << p->order) - slab_objects(s, p) * s->size;
	uint32_t k;

	for (k = (s->flags & SLAB_KMALLOC) ? SLAB_USAGE_KMALLOC : SLAB_USAGE_ALL; k < NR_SLAB_USAGE; k++) {
		struct mm_slab_usage *u = &sl->usage[k];

		if (sl->clock > u->since) {
			u->area += u->pages * (sl->clock - u->since);
			u->since = sl->clock;
		}
		if (!add) {
			MM_BUG_ON(u->pages < pages || u->tail < tail);
			u->pages -= pages;
			u->tail -= tail;
			continue;
		}
		u->pages += pages;
		u->tail += tail;
		if (u->pages > u->peak) {
			u->peak = u->pages;
			u->peak_record = sl->clock;
			u->peak_tail = u->tail;
		}
	}
}

static void discard_slab(struct mm_slab *sl, uint32_t cache, uint32_t slab, uint32_t cpu)
{
	struct kmem_cache *s = &sl->caches[cache];
	struct zone *z = mm_pfn_zone(sl->m, slab);
	struct page *p = pfn_to_page(z, slab);
	struct kmem_cache_node *n = get_node(sl, cache, z->node);

	MM_BUG_ON(p->inuse || !n->nr_slabs || n->total_objects < slab_objects(s, p));
	n->nr_slabs--;
	n->total_objects -= slab_objects(s, p);
	account_slab(sl, s, p, 0);
	stat(s, FREE_SLAB);
	mm_free_block(sl->m, z, slab, p->order, cpu);
}

/* __unfreeze_partials: a CPU's partial slabs go to their node lists, empty ones away. */
static void unfreeze_partials(struct mm_slab *sl, uint32_t cache, uint32_t slab, uint32_t cpu)
{
	struct kmem_cache *s = &sl->caches[cache];
	uint32_t discard = PFN_NONE;

	while (slab != PFN_NONE) {
		struct zone *z = mm_pfn_zone(sl->m, slab);
		struct page *p = pfn_to_page(z, slab);
		struct kmem_cache_node *n = get_node(sl, cache, z->node);
		uint32_t next = p->next;

		p->flags &= ~PG_frozen;
		if (!p->inuse && n->nr_partial >= s->min_partial) {
			p->next = discard;
			discard = slab;
		} else {
			add_partial(sl, n, slab, 1);
			stat(s, FREE_ADD_PARTIAL);
		}
		slab = next;
	}
	while (discard != PFN_NONE) {
		uint32_t next = pfn_to_page(mm_pfn_zone(sl->m, discard), discard)->next;

		stat(s, DEACTIVATE_EMPTY);
		discard_slab(sl, cache, discard, cpu);
		discard = next;
	}
}

static void put_cpu_partial(struct mm_slab *sl, uint32_t cache, uint32_t slab, int drain, uint32_t cpu)
{
	struct kmem_cache *s = &sl->caches[cache];
	struct kmem_cache_cpu *c = cpu_slab(sl, cache, cpu);
	uint32_t old = c->partial, to_unfreeze = PFN_NONE, slabs = 0;

	if (old != PFN_NONE) {
		if (drain && c->partial_slabs >= s->cpu_partial_slabs) {
			to_unfreeze = old;
			old = PFN_NONE;
		} else {
			slabs = c->partial_slabs;
		}
	}
	pfn_to_page(mm_pfn_zone(sl->m, slab), slab)->next = old;
	c->partial = slab;
	c->partial_slabs = (uint16_t)(slabs + 1);
	if (to_unfreeze != PFN_NONE) {
		unfreeze_partials(sl, cache, to_unfreeze, cpu);
		stat(s, CPU_PARTIAL_DRAIN);
	}
}

/* deactivate_slab: give the CPU's freelist back to the slab and unfreeze it. */
static void deactivate_slab(struct mm_slab *sl, uint32_t cache, uint32_t slab, uint32_t freelist, uint32_t cpu)
{
	struct kmem_cache *s = &sl->caches[cache];
	struct zone *z = mm_pfn_zone(sl->m, slab);
	struct page *p = pfn_to_page(z, slab);
	struct kmem_cache_node *n = get_node(sl, cache, z->node);
	uint32_t it, last = SLAB_NO_OBJ, free_delta = 0;
	int tail = 0;

	if (p->freelist != SLAB_NO_OBJ) {
		stat(s, DEACTIVATE_REMOTE_FREES);
		tail = 1;
	}
	for (it = freelist; it != SLAB_NO_OBJ; it = *freeptr(z, s, slab, it)) {
		MM_BUG_ON(it >= slab_objects(s, p));
		last = it;
		free_delta++;
	}
	MM_BUG_ON(free_delta > p->inuse);
	if (last != SLAB_NO_OBJ) {
		p->inuse -= (uint16_t)free_delta;
		*freeptr(z, s, slab, last) = p->freelist;
		p->freelist = (uint16_t)freelist;
	}
	p->flags &= ~PG_frozen;
	if (!p->inuse && n->nr_partial >= s->min_partial) {
		stat(s, DEACTIVATE_EMPTY);
		discard_slab(sl, cache, slab, cpu);
	} else if (p->freelist != SLAB_NO_OBJ) {
		add_partial(sl, n, slab, tail);
		stat(s, tail ? DEACTIVATE_TO_TAIL : DEACTIVATE_TO_HEAD);
	} else {
		stat(s, DEACTIVATE_FULL);
	}
}

/* get_partial_node: one slab for the CPU, and more onto its partial list. */
static uint32_t get_partial_node(struct mm_slab *sl, uint32_t cache, uint32_t nid, uint32_t cpu, uint32_t *slab_out)
{
	struct kmem_cache *s = &sl->caches[cache];
	struct kmem_cache_node *n = get_node(sl, cache, nid);
	struct zone *z;   /* any zone of the machine: they share one mem_map */
	uint32_t slab, next, object = SLAB_NO_OBJ, partial_slabs = 0;

	if (!n->nr_partial)
		return SLAB_NO_OBJ;
	z = mm_pfn_zone(sl->m, n->partial.head);
	for (slab = n->partial.head; slab != PFN_NONE; slab = next) {
		struct page *p = pfn_to_page(z, slab);
		uint32_t freelist = p->freelist;

		next = p->next;
		/* acquire_slab */
		if (object == SLAB_NO_OBJ) {
			p->inuse = (uint16_t)slab_objects(s, p);
			p->freelist = SLAB_NO_OBJ;
		}
		p->flags |= PG_frozen;
		remove_partial(sl, n, slab);
		if (object == SLAB_NO_OBJ) {
			*slab_out = slab;
			stat(s, ALLOC_FROM_PARTIAL);
			object = freelist;
		} else {
			put_cpu_partial(sl, cache, slab, 0, cpu);
			stat(s, CPU_PARTIAL_NODE);
			partial_slabs++;
		}
		if (partial_slabs > s->cpu_partial_slabs / 2)
			break;
	}
	return object;
}

static inline int node_match(struct mm_slab *sl, uint32_t slab, int32_t nid)
{
	return nid < 0 || mm_pfn_to_nid(sl->m, slab) == nid;
}

/* ___slab_alloc: the slow path. Returns the object index in *slab_out's slab, or SLAB_NO_OBJ. */
static uint32_t slab_alloc_slow(struct mm_slab *sl, uint32_t cache, uint32_t cpu, int32_t nid, uint32_t *slab_out)
{
	struct kmem_cache *s = &sl->caches[cache];
	struct kmem_cache_cpu *c = cpu_slab(sl, cache, cpu);
	uint32_t slab = c->slab, freelist;
	struct zone *z;
	struct page *p;

	stat(s, ALLOC_SLOWPATH);
	if (slab == PFN_NONE)
		goto new_slab;
redo:
	if (!node_match(sl, slab, nid)) {
		stat(s, ALLOC_NODE_MISMATCH);
		freelist = c->freelist;
		c->slab = PFN_NONE;
		c->freelist = SLAB_NO_OBJ;
		deactivate_slab(sl, cache, slab, freelist, cpu);
		goto new_slab;
	}
	if (c->freelist != SLAB_NO_OBJ)
		goto load_freelist;
	/* get_freelist: objects freed to the slab by other CPUs */
	p = pfn_to_page(mm_pfn_zone(sl->m, slab), slab);
	freelist = p->freelist;
	p->freelist = SLAB_NO_OBJ;
	p->inuse = (uint16_t)slab_objects(s, p);
	if (freelist == SLAB_NO_OBJ) {
		p->flags &= ~PG_frozen;
		c->slab = PFN_NONE;
		stat(s, DEACTIVATE_BYPASS);
		goto new_slab;
	}
	stat(s, ALLOC_REFILL);
	c->freelist = (uint16_t)freelist;
load_freelist:
	z = mm_pfn_zone(sl->m, c->slab);
	freelist = c->freelist;
	c->freelist = *freeptr(z, s, c->slab, freelist);
	*slab_out = c->slab;
	return freelist;

new_slab:
	if (c->partial != PFN_NONE) {
		slab = c->slab = c->partial;
		c->partial = pfn_to_page(mm_pfn_zone(sl->m, slab), slab)->next;
		c->partial_slabs--;
		stat(s, CPU_PARTIAL_ALLOC);
		goto redo;
	}
	freelist = get_partial_node(sl, cache, nid < 0 ? sl->m->cpu_to_node[cpu] : (uint32_t)nid, cpu, &slab);
	if (freelist == SLAB_NO_OBJ) {
		slab = new_slab(sl, cache, cpu, nid);
		if (slab == PFN_NONE)
			return SLAB_NO_OBJ;
		stat(s, ALLOC_SLAB);
		z = mm_pfn_zone(sl->m, slab);
		p = pfn_to_page(z, slab);
		freelist = p->freelist;
		p->freelist = SLAB_NO_OBJ;
		p->inuse = (uint16_t)slab_objects(s, p);
		p->flags |= PG_frozen;
		get_node(sl, cache, z->node)->nr_slabs++;
		get_node(sl, cache, z->node)->total_objects += p->inuse;
		account_slab(sl, s, p, 1);
	}
	c->slab = slab;
	c->freelist = (uint16_t)freelist;
	goto load_freelist;
}

/* slab_alloc_node: the lockless fast path, else the slow path. */
static uint32_t slab_alloc(struct mm_slab *sl, uint32_t cache, uint32_t cpu, int32_t nid, uint32_t *slab_out)
{
	struct kmem_cache *s = &sl->caches[cache];
	struct kmem_cache_cpu *c = cpu_slab(sl, cache, cpu);

	if (nid >= 0 && !sl->m->node_data[nid].node_managed_pages)
		nid = -1;   /* a node without memory: ignore the constraint */
	if (c->freelist != SLAB_NO_OBJ && node_match(sl, c->slab, nid)) {
		uint32_t idx = c->freelist;

		c->freelist = *freeptr(mm_pfn_zone(sl->m, c->slab), s, c->slab, idx);
		stat(s, ALLOC_FASTPATH);
		*slab_out = c->slab;
		return idx;
	}
	return slab_alloc_slow(sl, cache, cpu, nid, slab_out);
}

/* __slab_free: a free to a slab that is not this CPU's active slab. */
static void slab_free_slow(struct mm_slab *sl, uint32_t cache, struct zone *z, uint32_t slab, uint32_t idx,
			   uint32_t cpu)
{
	struct kmem_cache *s = &sl->caches[cache];
	struct page *p = pfn_to_page(z, slab);
	uint32_t prior = p->freelist;
	int was_frozen = !!(p->flags & PG_frozen);
	struct kmem_cache_node *n;

	stat(s, FREE_SLOWPATH);
	MM_BUG_ON(!p->inuse || p->inuse > slab_objects(s, p));
	*freeptr(z, s, slab, idx) = (uint16_t)prior;
	p->freelist = (uint16_t)idx;
	p->inuse--;
	if (was_frozen) {
		stat(s, FREE_FROZEN);
		return;
	}
	if (prior == SLAB_NO_OBJ) {
		/* it was full and on no list: freeze it onto this CPU's partial list */
		p->flags |= PG_frozen;
		put_cpu_partial(sl, cache, slab, 1, cpu);
		stat(s, CPU_PARTIAL_FREE);
		return;
	}
	if (p->inuse)
		return;   /* still partial, already on its node's list */
	n = get_node(sl, cache, z->node);
	if (n->nr_partial >= s->min_partial) {
		remove_partial(sl, n, slab);
		stat(s, FREE_REMOVE_PARTIAL);
		discard_slab(sl, cache, slab, cpu);
	}
}

void mm_slab_free_object(struct mm_slab *sl, uint32_t slab, uint32_t offset, uint32_t cpu)
{
	struct zone *z = mm_pfn_zone(sl->m, slab);
	uint32_t cache = pfn_to_page(z, slab)->info;
	struct kmem_cache *s = &sl->caches[cache];
	struct kmem_cache_cpu *c = cpu_slab(sl, cache, cpu);
	uint32_t idx = offset / s->size;

	MM_BUG_ON((pfn_to_page(z, slab)->flags & (PG_head | PG_slab)) != (PG_head | PG_slab));
	MM_BUG_ON(offset % s->size || idx >= slab_objects(s, pfn_to_page(z, slab)) || cpu >= sl->m->nr_cpus);
	if (slab == c->slab) {
		*freeptr(z, s, slab, idx) = c->freelist;
		c->freelist = (uint16_t)idx;
		stat(s, FREE_FASTPATH);
		return;
	}
	slab_free_slow(sl, cache, z, slab, idx, cpu);
}

/* ---- entry points ------------------------------------------------------- */

/* The arguments every allocation entry point checks. */
static int slab_args_ok(const struct mm_slab *sl, uint32_t cpu, int32_t nid)
{
	return cpu < sl->m->nr_cpus && (nid < 0 || (uint32_t)nid < sl->m->nr_nodes);
}

/* kmem_cache_alloc_node, the arguments checked. */
static uint64_t cache_alloc(struct mm_slab *sl, uint32_t cache, uint32_t cpu, int32_t nid, uint32_t *block)
{
	uint32_t slab, idx = slab_alloc(sl, cache, cpu, nid, &slab);

	if (idx == SLAB_NO_OBJ)
		return 0;
	MM_BUG_ON(idx >= slab_objects(&sl->caches[cache], pfn_to_page(mm_pfn_zone(sl->m, slab), slab)));
	if (block)
		*block = slab;
	return obj_addr(&sl->caches[cache], slab, idx);
}

uint64_t mm_kmem_cache_alloc(struct mm_slab *sl, uint32_t cache, uint32_t cpu, int32_t nid, uint32_t *block)
{
	if (cache >= sl->nr_caches || (sl->caches[cache].flags & SLAB_DESTROYED) || !slab_args_ok(sl, cpu, nid))
		return 0;
	return cache_alloc(sl, cache, cpu, nid, block);
}

uint64_t mm_kmalloc(struct mm_slab *sl, uint64_t size, uint32_t cpu, int32_t nid, uint32_t *block)
{
	uint32_t cache, pfn, order;
	uint64_t addr;

	if (!slab_args_ok(sl, cpu, nid))
		return 0;
	if (size == 0)
		return ZERO_SIZE_PTR;
	if (size > sl->kmalloc_max) {
		/* kmalloc_large: a compound page allocation */
		if (size > ((uint64_t)PAGE_SIZE << MAX_PAGE_ORDER))
			return 0;
		order = mm_get_order(size);
		pfn = mm_alloc_pages(sl->m, order, MIGRATE_UNMOVABLE, cpu, nid);
		if (pfn == PFN_NONE)
			return 0;
		pfn_to_page(mm_pfn_zone(sl->m, pfn), pfn)->flags |= PG_large_kmalloc;
		if (block)
			*block = pfn;
		sl->large_kmalloc_calls++;
		sl->large_kmalloc_requested += size;
		sl->large_kmalloc_allocated += (uint64_t)PAGE_SIZE << order;
		return (uint64_t)pfn << PAGE_SHIFT;
	}
	cache = kmalloc_slot(sl, size);
	addr = cache_alloc(sl, cache, cpu, nid, block);
	if (addr) {
		sl->caches[cache].kmalloc_calls++;
		sl->caches[cache].kmalloc_requested += size;
	}
	return addr;
}

uint32_t mm_block_head(struct mm_machine *m, uint32_t pfn, struct zone **zp)
{
	struct zone *z = mm_pfn_zone(m, pfn);
	uint32_t k;

	*zp = z;
	if (!z)
		return PFN_NONE;
	/* Blocks are naturally aligned and only heads carry flags. */
	for (k = 0; k <= MAX_PAGE_ORDER; k++) {
		uint32_t head = pfn & ~((1u << k) - 1);
		struct page *p;

		if (!zone_spans_pfn(z, head))
			break;
		p = pfn_to_page(z, head);
		if (p->flags)
			return ((p->flags & PG_head) && p->order >= k) ? head : PFN_NONE;
	}
	return PFN_NONE;
}

static int object_is_free(struct mm_slab *sl, struct zone *z, uint32_t cache, uint32_t slab, uint32_t idx)
{
	const struct kmem_cache *s = &sl->caches[cache];
	uint32_t it, cpu;

	for (it = pfn_to_page(z, slab)->freelist; it != SLAB_NO_OBJ; it = *freeptr(z, s, slab, it))
		if (it == idx)
			return 1;
	for (cpu = 0; cpu < sl->m->nr_cpus; cpu++) {
		const struct kmem_cache_cpu *c = cpu_slab(sl, cache, cpu);

		if (c->slab != slab)
			continue;
		for (it = c->freelist; it != SLAB_NO_OBJ; it = *freeptr(z, s, slab, it))
			if (it == idx)
				return 1;
	}
	return 0;
}

/* Validate a free of addr; on success *slab_out / *offset_out locate the object. */
static enum mm_slab_error check_object(struct mm_slab *sl, uint64_t addr, uint32_t *slab_out, uint32_t *offset_out)
{
	struct zone *z;
	uint32_t slab = mm_block_head(sl->m, (uint32_t)(addr >> PAGE_SHIFT), &z), offset, cache;
	struct page *p;

	if (slab == PFN_NONE || (addr >> PAGE_SHIFT) >= PFN_NONE)
		return SLAB_ENOTOBJ;
	p = pfn_to_page(z, slab);
	*slab_out = slab;
	*offset_out = offset = (uint32_t)(addr - ((uint64_t)slab << PAGE_SHIFT));
	if (p->flags & PG_large_kmalloc)
		return offset ? SLAB_ENOTOBJ : SLAB_OK;
	if (!(p->flags & PG_slab))
		return SLAB_EPAGE;
	cache = p->info;
	if (offset % sl->caches[cache].size || offset / sl->caches[cache].size >= slab_objects(&sl->caches[cache], p))
		return SLAB_ENOTOBJ;
	if (object_is_free(sl, z, cache, slab, offset / sl->caches[cache].size))
		return SLAB_EDOUBLE;
	return SLAB_OK;
}

enum mm_slab_error mm_kfree(struct mm_slab *sl, uint64_t addr, uint32_t cpu)
{
	uint32_t slab, offset;
	enum mm_slab_error err;
	struct zone *z;
	struct page *p;

	if (cpu >= sl->m->nr_cpus)
		return SLAB_EBADCPU;
	if (addr <= ZERO_SIZE_PTR)
		return SLAB_OK;   /* kfree(NULL) and kfree(ZERO_SIZE_PTR) do nothing */
	err = check_object(sl, addr, &slab, &offset);
	if (err)
		return err;
	z = mm_pfn_zone(sl->m, slab);
	p = pfn_to_page(z, slab);
	if (p->flags & PG_large_kmalloc)
		mm_free_block(sl->m, z, slab, p->order, cpu);
	else
		mm_slab_free_object(sl, slab, offset, cpu);
	return SLAB_OK;
}

enum mm_slab_error mm_kmem_cache_free(struct mm_slab *sl, uint32_t cache, uint64_t addr, uint32_t cpu)
{
	uint32_t slab, offset;
	enum mm_slab_error err;
	struct zone *z;

	if (cpu >= sl->m->nr_cpus)
		return SLAB_EBADCPU;
	err = check_object(sl, addr, &slab, &offset);
	if (err)
		return err;
	z = mm_pfn_zone(sl->m, slab);
	if (!(pfn_to_page(z, slab)->flags & PG_slab))
		return SLAB_ENOTOBJ;
	if (pfn_to_page(z, slab)->info != cache)
		return SLAB_EWRONG_CACHE;
	mm_slab_free_object(sl, slab, offset, cpu);
	return SLAB_OK;
}

uint64_t mm_slab_pages(const struct mm_slab *sl)
{
	uint32_t idx, nid, nodes = sl->m->nr_nodes;
	uint64_t total = 0;

	for (idx = 0; idx < sl->nr_caches; idx++)
		for (nid = 0; nid < nodes; nid++)
			total += (uint64_t)sl->node[idx * nodes + nid].nr_slabs << sl->caches[idx].order;
	return total;
}

/* ---- kmem_cache_destroy -------------------------------------------------- */

static inline struct page *slab_page(struct mm_slab *sl, uint32_t slab)
{
	return pfn_to_page(mm_pfn_zone(sl->m, slab), slab);
}

/* Free objects on the slabs of a list linked through next (a node's or a CPU's partial list). */
static uint64_t list_free(struct mm_slab *sl, const struct kmem_cache *s, uint32_t slab)
{
	uint64_t free = 0;

	for (; slab != PFN_NONE; slab = slab_page(sl, slab)->next)
		free += slab_objects(s, slab_page(sl, slab)) - slab_page(sl, slab)->inuse;
	return free;
}

/* Objects of a cache in use: its slabs' objects less the free ones, counted where SLUB keeps
 * them (a CPU's active slab holds its free objects on the CPU's freelist and, freed by other
 * CPUs, on the slab's; every other slab's inuse is exact). */
static uint64_t objects_inuse(struct mm_slab *sl, uint32_t cache)
{
	const struct kmem_cache *s = &sl->caches[cache];
	uint64_t total = 0, free = 0;
	uint32_t nid, cpu, it;

	for (nid = 0; nid < sl->m->nr_nodes; nid++) {
		total += get_node(sl, cache, nid)->total_objects;
		free += list_free(sl, s, get_node(sl, cache, nid)->partial.head);
	}
	for (cpu = 0; cpu < sl->m->nr_cpus; cpu++) {
		const struct kmem_cache_cpu *c = cpu_slab(sl, cache, cpu);

		free += list_free(sl, s, c->partial);
		if (c->slab == PFN_NONE)
			continue;
		free += slab_objects(s, slab_page(sl, c->slab)) - slab_page(sl, c->slab)->inuse;
		for (it = c->freelist; it != SLAB_NO_OBJ; it = *freeptr(mm_pfn_zone(sl->m, c->slab), s, c->slab, it))
			free++;
	}
	MM_BUG_ON(free > total);
	return total - free;
}

uint64_t mm_kmem_cache_inuse(struct mm_slab *sl, uint32_t cache)
{
	return cache < sl->nr_caches ? objects_inuse(sl, cache) : 0;
}

int mm_kmem_cache_destroy(struct mm_slab *sl, uint32_t cache, uint32_t cpu)
{
	struct kmem_cache *s;
	uint32_t i, slab;

	if (cache >= sl->nr_caches || cpu >= sl->m->nr_cpus)
		return -1;
	s = &sl->caches[cache];
	if ((s->flags & (SLAB_KMALLOC | SLAB_DESTROYED)) || objects_inuse(sl, cache))
		return -1;
	/* flush_all: every CPU's slabs back to the node lists (empty ones freed on the way) */
	for (i = 0; i < sl->m->nr_cpus; i++) {
		struct kmem_cache_cpu *c = cpu_slab(sl, cache, i);

		if (c->slab != PFN_NONE)
			deactivate_slab(sl, cache, c->slab, c->freelist, cpu);
		if (c->partial != PFN_NONE)
			unfreeze_partials(sl, cache, c->partial, cpu);
		c->slab = c->partial = PFN_NONE;
		c->freelist = SLAB_NO_OBJ;
		c->partial_slabs = 0;
	}
	/* free_partial: nothing is in use, so every slab left is empty and on its node's list */
	for (i = 0; i < sl->m->nr_nodes; i++) {
		struct kmem_cache_node *n = get_node(sl, cache, i);

		while ((slab = n->partial.head) != PFN_NONE) {
			remove_partial(sl, n, slab);
			discard_slab(sl, cache, slab, cpu);
		}
		MM_BUG_ON(n->nr_slabs || n->total_objects);
	}
	s->flags |= SLAB_DESTROYED;
	return 0;
}
