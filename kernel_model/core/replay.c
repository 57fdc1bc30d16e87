/* replay.c - the op-stream interpreter (see replay.h). */
#include "mm_math.h"
#include "replay.h"
#include "slab.h"
#include "snapshot.h"
#include "thermal.h"

static void reject(struct mm_replay *r, uint64_t rec, uint32_t code, uint32_t id)
{
	MM_BUG_ON(code >= NR_REPLAY_ERRORS);
	r->error_count[code]++;
	if (r->nr_logged < r->max_errors) {
		r->errors[r->nr_logged].record = rec;
		r->errors[r->nr_logged].code = code;
		r->errors[r->nr_logged].id = id;
		r->nr_logged++;
	}
}

static inline int id_live(uint8_t state)
{
	return state == ID_PAGE || state >= ID_OBJECT;
}

/* Checks shared by every op that creates an object in id op->id; nid (if asked) from arg1. */
static uint32_t check_new_id(const struct mm_machine *m, const struct mm_replay *r, const struct mm_op *op,
			     int32_t *nid)
{
	if (op->id >= r->nr_ids)
		return RE_ID_RANGE;
	if (op->cpu >= m->nr_cpus)
		return RE_BAD_ARG;
	if (nid)
		*nid = -1;
	if (nid && op->arg1 != MM_NO_NODE) {
		if (op->arg1 >= m->nr_nodes)
			return RE_BAD_ARG;
		*nid = (int32_t)op->arg1;
	}
	return id_live(r->ids[op->id].state) ? RE_ID_LIVE : RE_NONE;
}

/* The id of a free: RE_NONE and *e when it names a live object; frees of failed allocations are skipped. */
static uint32_t check_free_id(const struct mm_machine *m, struct mm_replay *r, const struct mm_op *op,
			      struct mm_id **e, int *skip)
{
	*skip = 0;
	if (op->id >= r->nr_ids)
		return RE_ID_RANGE;
	if (op->cpu >= m->nr_cpus)
		return RE_BAD_ARG;
	*e = &r->ids[op->id];
	switch ((*e)->state) {
	case ID_UNUSED:
		return RE_UNKNOWN_ID;
	case ID_FREED:
		return RE_DOUBLE_FREE;
	case ID_FAILED:
		r->free_skipped++;
		(*e)->state = ID_FREED;
		*skip = 1;
		return RE_NONE;
	default:
		return RE_NONE;
	}
}

static inline void note_alloc_site(struct mm_replay *r, const struct mm_op *op)
{
	if (r->alloc_site)
		r->alloc_site[op->id] = op->site;
}

/* A free of live id, counted against the site that allocated it (the leak detector's Resource
 * class: sites that never free). */
static inline void note_free_site(struct mm_replay *r, uint32_t id)
{
	if (r->site_frees && r->alloc_site[id] < r->nr_sites)
		r->site_frees[r->alloc_site[id]]++;
}

static uint32_t alloc_failed(struct mm_replay *r, struct mm_id *e, uint64_t *result)
{
	e->state = ID_FAILED;
	r->alloc_failed++;
	*result = MM_RESULT_FAILED;
	return RE_NONE;
}

static uint32_t page_alloc(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op, uint64_t *result)
{
	struct mm_id *e;
	uint32_t pfn;
	int32_t nid;
	uint32_t err = check_new_id(m, r, op, &nid);

	if (err)
		return err;
	if (op->arg0 > MAX_PAGE_ORDER || (op->flags & ~(MM_ALLOC_MT_MASK | MM_ALLOC_ZONE_MASK)) ||
	    (op->flags & MM_ALLOC_MT_MASK) >= MIGRATE_PCPTYPES)
		return RE_BAD_ARG;
	e = &r->ids[op->id];
	pfn = mm_alloc_pages(m, op->arg0, op->flags, op->cpu, nid);   /* the flags are mm_alloc_flags() */
	if (pfn == PFN_NONE)
		return alloc_failed(r, e, result);
	e->state = ID_PAGE;
	e->pfn = pfn;
	e->offset = 0;
	e->order = (uint8_t)op->arg0;
	note_alloc_site(r, op);
	*result = pfn;
	return RE_NONE;
}

/* A free of something allocated before the trace (id MM_NO_ID), on an imported machine. */
static uint32_t pretrace_free(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op)
{
	uint32_t cache, done = 0;

	if (op->cpu >= m->nr_cpus)
		return RE_BAD_ARG;
	if (op->op == OP_PAGE_FREE) {
		if (op->arg0 > MAX_PAGE_ORDER)
			return RE_BAD_ARG;
		/* arg1: the pfn the traced machine freed, where the model looks first */
		done = mm_free_imported(m, op->arg1 < PFN_NONE ? (uint32_t)op->arg1 : PFN_NONE, op->arg0,
					op->cpu) != PFN_NONE;
	} else if (m->slab && op->site < r->nr_site_cache &&
		   (cache = r->site_cache[op->site]) < r->nr_imported_caches && r->imported_left[cache]) {
		uint64_t addr = r->imported_objs[r->imported_start[cache] + --r->imported_left[cache]];

		/* refused only if the machine's own API freed it already */
		done = mm_kmem_cache_free(m->slab, cache, addr, op->cpu) == SLAB_OK;
	}
	if (done)
		r->pretrace_freed++;
	else
		r->pretrace_skipped++;
	return RE_NONE;
}

static uint32_t page_free(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op)
{
	struct mm_id *e;
	int skip;
	uint32_t err;

	if (op->id == MM_NO_ID)
		return pretrace_free(m, r, op);
	err = check_free_id(m, r, op, &e, &skip);

	if (err || skip)
		return err;
	if (e->state != ID_PAGE)
		return RE_WRONG_KIND;
	if (op->arg0 != e->order)
		return RE_WRONG_ORDER;
	if (mm_free_pages(m, e->pfn, e->order, op->cpu) != MM_FREE_OK) {
		MM_BUG_ON(1);   /* the id map and the model disagree */
		return RE_WRONG_KIND;   /* never corrupt it */
	}
	note_free_site(r, op->id);
	e->state = ID_FREED;
	return RE_NONE;
}

static uint32_t kmalloc_op(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op, uint64_t *result)
{
	struct mm_id *e;
	int32_t nid;
	uint32_t block, err = check_new_id(m, r, op, &nid);
	uint64_t addr;

	if (err)
		return err;
	e = &r->ids[op->id];
	addr = mm_kmalloc(m->slab, op->arg0, op->cpu, nid, &block);
	if (!addr)
		return alloc_failed(r, e, result);
	*result = addr;
	note_alloc_site(r, op);
	if (addr == ZERO_SIZE_PTR) {
		e->state = ID_ZERO;
		return RE_NONE;
	}
	e->pfn = block;
	MM_BUG_ON(addr - ((uint64_t)block << PAGE_SHIFT) > UINT16_MAX);   /* objects past 64 KiB: one per slab */
	e->offset = (uint16_t)(addr - ((uint64_t)block << PAGE_SHIFT));
	if (op->arg0 > m->slab->kmalloc_max) {
		struct zone *z = mm_pfn_zone(m, block);

		e->state = ID_LARGE;
		e->order = pfn_to_page(z, block)->order;
	} else {
		e->state = ID_OBJECT;
	}
	return RE_NONE;
}

/* kfree, kmem_cache_free (cache >= 0) and free of an object id. */
static uint32_t object_free_op(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op, int64_t cache)
{
	struct mm_id *e;
	int skip;
	uint32_t err = check_free_id(m, r, op, &e, &skip);

	if (err || skip)
		return err;
	switch (e->state) {
	case ID_OBJECT:
		MM_BUG_ON(!(pfn_to_page(mm_pfn_zone(m, e->pfn), e->pfn)->flags & PG_slab));
		if (cache >= 0 && pfn_to_page(mm_pfn_zone(m, e->pfn), e->pfn)->info != cache)
			return RE_WRONG_CACHE;
		mm_slab_free_object(m->slab, e->pfn, e->offset, op->cpu);
		break;
	case ID_LARGE:
		MM_BUG_ON(!(pfn_to_page(mm_pfn_zone(m, e->pfn), e->pfn)->flags & PG_large_kmalloc));
		if (cache >= 0)
			return RE_WRONG_CACHE;
		mm_free_block(m, mm_pfn_zone(m, e->pfn), e->pfn, e->order, op->cpu);
		break;
	case ID_ZERO:
		if (cache >= 0)
			return RE_WRONG_CACHE;
		break;
	default:
		return RE_WRONG_KIND;
	}
	note_free_site(r, op->id);
	e->state = ID_FREED;
	return RE_NONE;
}

/* The kmem_cache index named by trace id `id`, or -1. */
static int64_t cache_of(const struct mm_replay *r, uint64_t id)
{
	if (id >= r->nr_ids || r->ids[id].state != ID_CACHE)
		return -1;
	return r->ids[id].pfn;
}

static uint32_t cache_create_op(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op, uint64_t *result)
{
	uint32_t err = check_new_id(m, r, op, 0), cache;

	if (err)
		return err;
	if (op->site < r->nr_site_cache && r->site_cache[op->site] != MM_NO_CACHE)
		cache = r->site_cache[op->site];   /* the machine has it already: imported */
	else
		cache = mm_kmem_cache_create(m->slab, op->arg0, (uint32_t)op->arg1, (uint32_t)(op->arg1 >> 32) &
				     (SLAB_HWCACHE_ALIGN | SLAB_RECLAIM_ACCOUNT), op->site);
	if (cache == MM_NO_CACHE)
		return RE_BAD_ARG;
	r->ids[op->id].state = ID_CACHE;
	r->ids[op->id].pfn = cache;
	*result = cache;
	return RE_NONE;
}

static uint32_t cache_alloc_op(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op, uint64_t *result)
{
	int64_t cache = cache_of(r, op->arg1);
	uint32_t err = check_new_id(m, r, op, 0), block;
	struct mm_id *e;
	uint64_t addr;

	if (err)
		return err;
	if (cache < 0)
		return RE_UNKNOWN_CACHE;
	e = &r->ids[op->id];
	addr = mm_kmem_cache_alloc(m->slab, (uint32_t)cache, op->cpu, -1, &block);
	if (!addr)
		return alloc_failed(r, e, result);
	e->state = ID_OBJECT;
	e->pfn = block;
	MM_BUG_ON(addr - ((uint64_t)block << PAGE_SHIFT) > UINT16_MAX);
	e->offset = (uint16_t)(addr - ((uint64_t)block << PAGE_SHIFT));
	note_alloc_site(r, op);
	*result = addr;
	return RE_NONE;
}

/* CACHE_DESTROY: kmem_cache_destroy of a cache the trace created. One with objects in use is
 * refused (cache_busy) and stays, as Linux keeps it after its warning. */
static __attribute__((noinline, cold)) uint32_t cache_destroy_op(struct mm_machine *m, struct mm_replay *r,
								 const struct mm_op *op)
{
	struct mm_id *e;

	if (op->id >= r->nr_ids)
		return RE_ID_RANGE;
	if (op->cpu >= m->nr_cpus)
		return RE_BAD_ARG;
	e = &r->ids[op->id];
	if (e->state == ID_FREED)
		return RE_DOUBLE_FREE;
	if (e->state != ID_CACHE)
		return RE_UNKNOWN_CACHE;
	if (mm_kmem_cache_destroy(m->slab, e->pfn, op->cpu))
		return RE_CACHE_BUSY;
	e->state = ID_FREED;
	return RE_NONE;
}

void mm_id_span(const struct mm_machine *m, const struct mm_id *e, uint64_t *addr, uint64_t *size)
{
	MM_BUG_ON(e->state != ID_OBJECT && e->state != ID_LARGE && e->state != ID_PAGE);
	*addr = (uint64_t)e->pfn << PAGE_SHIFT;
	if (e->state == ID_OBJECT) {
		*addr += e->offset;
		*size = m->slab->caches[pfn_to_page(mm_pfn_zone((struct mm_machine *)m, e->pfn), e->pfn)->info]
			.object_size;
	} else {
		*size = (uint64_t)PAGE_SIZE << e->order;
	}
}

uint8_t *mm_model_bytes(struct mm_machine *m, uint64_t addr)
{
	uint32_t pfn = (uint32_t)(addr >> PAGE_SHIFT);

	MM_BUG_ON(!mm_pfn_zone(m, pfn) || !mm_pfn_zone(m, pfn)->has_memory);
	return page_address(mm_pfn_zone(m, pfn), pfn) + (addr & (PAGE_SIZE - 1));
}

/*
 * The live object an op names (page allocations too when with_pages): 1 with its model
 * address and size, or 0 with *err. An id whose allocation failed gives 0 with RE_NONE:
 * the op is skipped and counted, since producers write traces without knowing what fails.
 */
static int live_object(struct mm_machine *m, struct mm_replay *r, uint32_t id, int with_pages, uint64_t *addr,
		       uint64_t *size, uint32_t *err)
{
	const struct mm_id *e;

	*err = RE_NONE;
	if (id >= r->nr_ids) {
		*err = RE_ID_RANGE;
		return 0;
	}
	e = &r->ids[id];
	switch (e->state) {
	case ID_PAGE:
		if (!with_pages)
			break;   /* pages neither hold nor take the pointers kmemleak follows */
		/* fall through */
	case ID_OBJECT:
	case ID_LARGE:
		mm_id_span(m, e, addr, size);
		return 1;
	case ID_UNUSED:
		*err = RE_UNKNOWN_ID;
		return 0;
	case ID_FREED:
		*err = RE_USE_AFTER_FREE;
		return 0;
	case ID_FAILED:
		r->access_skipped++;
		return 0;
	default:
		break;
	}
	*err = RE_WRONG_KIND;   /* caches, kmalloc(0), and pages where they do not count */
	return 0;
}

/* A new object under leak tracking: zeroed (init_on_alloc), not a root, born now. */
static void leak_track_alloc(struct mm_machine *m, struct mm_replay *r, uint32_t id, uint64_t rec)
{
	const struct mm_id *e = &r->ids[id];
	uint64_t addr, size;

	if (e->state != ID_OBJECT && e->state != ID_LARGE)
		return;   /* kmalloc(0), or the allocation failed */
	mm_id_span(m, e, &addr, &size);
	mm_memzero(mm_model_bytes(m, addr), (size_t)size);
	r->root[id] = 0;
	r->alloc_record[id] = rec;
}

/*
 * REF_SET / REF_CLEAR: write the target's address (plus an interior offset: arg1's
 * upper 32 bits) into the source object's bytes at arg0, or clear that word, as the
 * kernel stores a pointer. The leak scan reads these words back.
 */
static uint32_t ref_op(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op)
{
	uint64_t src, size, dst = 0, dst_size, value = 0;
	uint32_t err;

	if (op->cpu >= m->nr_cpus || !m->slab)
		return RE_BAD_ARG;
	if (!live_object(m, r, op->id, 0, &src, &size, &err))
		return err;
	if (op->arg0 & 7)
		return RE_UNALIGNED;
	if ((uint64_t)op->arg0 + 8 > size)
		return RE_OUT_OF_BOUNDS;
	if (op->op == OP_REF_SET) {
		if (!live_object(m, r, (uint32_t)op->arg1, 0, &dst, &dst_size, &err))
			return err;
		if ((op->arg1 >> 32) >= dst_size)
			return RE_OUT_OF_BOUNDS;
		value = dst + (op->arg1 >> 32);
	}
	mm_put_u64(mm_model_bytes(m, src + op->arg0), value);
	return RE_NONE;
}

/* ROOT_ADD / ROOT_DEL: the object is (no longer) a root of the leak scan; NOT_LEAK: it is
 * kmemleak_not_leak()'s grey object from now on (leak.h). */
static uint32_t root_op(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op)
{
	uint64_t addr, size;
	uint32_t err;

	if (op->cpu >= m->nr_cpus || !m->slab)
		return RE_BAD_ARG;
	if (!live_object(m, r, op->id, 0, &addr, &size, &err))
		return err;
	if (!r->root)
		return RE_NONE;
	if (op->op == OP_ROOT_ADD)
		r->root[op->id] |= MM_LEAK_ROOT;
	else if (op->op == OP_ROOT_DEL)
		r->root[op->id] &= (uint8_t)~MM_LEAK_ROOT;
	else
		r->root[op->id] |= MM_LEAK_NOT_LEAK;
	return RE_NONE;
}

/* Misses of every level below first, read before and after an access. */
static uint32_t level_misses(const struct cache *c, uint64_t *out)
{
	uint32_t n = 0;

	for (; c && n < MM_SITE_LEVELS; c = c->next)
		out[n++] = c->st.load_misses + c->st.store_misses;
	return n;
}

/* CALL / RET: the stack of the task the issuing CPU runs: depth, high-water mark (with its
 * chain) and overflows. */
static uint32_t stack_op(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op)
{
	struct mm_stack *s;
	uint32_t i;

	if (op->cpu >= m->nr_cpus)
		return RE_BAD_ARG;
	if (!r->stacks)
		return RE_NONE;
	s = mm_cpu_stack(m, r, op->cpu);
	if (op->op == OP_RET) {
		if (!s->top)
			return RE_BAD_ARG;   /* a return without a call */
		s->top--;
		s->depth -= s->size[s->top];
		return RE_NONE;
	}
	if (s->top == MM_STACK_FRAMES)
		return RE_BAD_ARG;       /* deeper than the model keeps */
	s->site[s->top] = op->site;
	s->size[s->top] = op->arg0;
	s->top++;
	s->depth += op->arg0;
	s->calls++;
	if (r->site_frame && op->site < r->nr_sites && op->arg0 > r->site_frame[op->site])
		r->site_frame[op->site] = op->arg0;
	if (s->depth > r->stack_size)
		s->overflows++;
	if (s->depth > s->high_water) {
		s->high_water = s->depth;
		s->hw_frames = s->top;
		s->hw_cpu = op->cpu;
		for (i = 0; i < s->top; i++) {
			s->hw_chain[i] = s->site[i];
			s->hw_size[i] = s->size[i];
		}
	}
	return RE_NONE;
}

/*
 * TASK: the issuing CPU runs task arg0 from now on (MM_NO_TASK: its own task again), on that
 * task's stack. A task still running on another CPU moves: that CPU runs its own task again.
 */
static __attribute__((noinline)) uint32_t task_op(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op)
{
	uint32_t cur, task = op->arg0;
	struct mm_stack *s;

	if (op->cpu >= m->nr_cpus || (task >= MM_MAX_TASKS && task != MM_NO_TASK))
		return RE_BAD_ARG;
	if (!r->stacks)
		return RE_NONE;
	cur = r->cpu_task[op->cpu];
	if (cur)
		r->stacks[m->nr_cpus + cur - 1].on_cpu = 0;
	r->cpu_task[op->cpu] = 0;
	if (task == MM_NO_TASK)
		return RE_NONE;
	s = &r->stacks[m->nr_cpus + task];
	if (s->on_cpu)
		r->cpu_task[s->on_cpu - 1] = 0;
	s->on_cpu = op->cpu + 1;
	r->cpu_task[op->cpu] = task + 1;
	return RE_NONE;
}

/* The access cost model: latency by the distance between the CPU's node and the page's. */
static int32_t numa_account(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op, uint64_t addr)
{
	uint32_t cpu_node = m->cpu_to_node[op->cpu], remote;
	int32_t mem_node;

	if ((addr >> PAGE_SHIFT) >= PFN_NONE || (mem_node = mm_pfn_to_nid(m, (uint32_t)(addr >> PAGE_SHIFT))) < 0)
		return -1;   /* a raw address outside the machine's memory */
	/* the per-site and per-object pairs count in the same order: local, remote */
	remote = (uint32_t)mem_node != cpu_node ? MM_ACCESS_REMOTE : MM_ACCESS_LOCAL;
	m->cpu_access[op->cpu][remote]++;
	m->cpu_access[op->cpu][MM_ACCESS_COST_NS] += m->latency[cpu_node][mem_node];
	m->node_access[mem_node]++;
	mm_note_access(m, (uint32_t)mem_node);
	if (r->site_remote && op->site < r->nr_sites)
		r->site_remote[op->site * 2 + remote]++;
	if (r->id_remote && !(op->flags & MM_ACCESS_RAW) && op->op != OP_IFETCH && op->id < r->nr_ids) {
		r->id_remote[op->id * 2 + remote]++;
		if (remote == MM_ACCESS_REMOTE) {
			uint32_t v = r->id_vote[op->id];

			if (!(v & MM_ID_VOTE_COUNT_MAX))
				v = cpu_node << MM_ID_VOTE_SHIFT;
			if (v >> MM_ID_VOTE_SHIFT != cpu_node)
				v--;
			else if ((v & MM_ID_VOTE_COUNT_MAX) != MM_ID_VOTE_COUNT_MAX)
				v++;
			r->id_vote[op->id] = v;
		}
	}
	return mem_node;
}

/* A placement's counters into its cache's (out: MM_ALIGN_WORDS per cache). */
static void align_add(const struct mm_align *a, uint64_t *out)
{
	uint64_t *w = &out[(uint64_t)a->cache * MM_ALIGN_WORDS];
	int straddles = a->lines > a->need;

	w[MM_ALIGN_PLACEMENTS]++;
	w[MM_ALIGN_STRADDLING] += straddles;
	w[MM_ALIGN_ACCESSES] += a->accesses;
	w[MM_ALIGN_AFFECTED] += straddles ? a->accesses : 0;
	w[MM_ALIGN_SPLIT] += a->split;
	w[MM_ALIGN_FIELD_SPLIT] += a->field_split;
}

void mm_align_totals(const struct mm_replay *r, uint64_t *out)
{
	uint32_t i, id;

	MM_BUG_ON(!r->cache_attr || !r->cache_attr->align);
	for (i = 0; i < r->cache_attr->nr_caches * MM_ALIGN_WORDS; i++)
		out[i] += r->cache_attr->cache_align[i];
	for (id = 0; id < r->nr_ids; id++)
		if (r->cache_attr->align[id].accesses)
			align_add(&r->cache_attr->align[id], out);
}

/* An access to bytes [off, off + size) of slab object id at base: the placement's accessed bytes
 * and the lines they span, here and if the object started a line. */
static void note_align(struct mm_machine *m, struct mm_replay *r, uint32_t id, uint64_t base, uint64_t off,
		       uint32_t size, uint32_t line_bits)
{
	struct mm_align *a = &r->cache_attr->align[id];
	const struct mm_id *e = &r->ids[id];
	uint32_t cache = pfn_to_page(mm_pfn_zone(m, e->pfn), e->pfn)->info;

	if (a->addr != base || a->cache != cache) {   /* the id names another object now */
		if (a->accesses)
			align_add(a, r->cache_attr->cache_align);
		a->addr = base;
		a->cache = cache;
		a->accesses = a->split = a->field_split = 0;
		a->lo = (uint32_t)off;
		a->hi = (uint32_t)off + size;
	}
	if (off < a->lo)
		a->lo = (uint32_t)off;
	if (off + size > a->hi)
		a->hi = (uint32_t)off + size;
	a->accesses++;
	a->split += ((base + off) >> line_bits) != ((base + off + size - 1) >> line_bits);
	a->field_split += (off >> line_bits) != ((off + size - 1) >> line_bits);
	a->lines = (uint32_t)(((base + a->hi - 1) >> line_bits) - ((base + a->lo) >> line_bits) + 1);
	a->need = (uint32_t)(((a->hi - 1) >> line_bits) - (a->lo >> line_bits) + 1);
}

/* A timed access's lookups served per level and its latency, to its call site and object. */
static void note_latency(struct mm_replay *r, const struct mm_op *op, int object, const uint64_t *served,
			 uint32_t depth, uint64_t ps)
{
	struct mm_cache_attr *a = r->cache_attr;
	uint32_t l;

	for (l = 0; l <= depth; l++) {
		uint32_t k = l == depth ? MM_LAT_MEMORY : l;

		if (l < depth && l >= MM_SITE_LEVELS)
			continue;   /* paths this deep are not timed (kernel_model.caches) */
		if (op->site < r->nr_sites)
			a->site_lat[op->site * MM_LAT_WORDS + k] += served[l];
		if (object)
			a->id_served[(uint64_t)op->id * (MM_SITE_LEVELS + 1) + k] += (uint32_t)served[l];
	}
	if (op->site < r->nr_sites)
		a->site_lat[op->site * MM_LAT_WORDS + MM_LAT_PS] += ps;
	if (object)
		a->id_ps[op->id] += ps;
}

/* LOAD / STORE / MODIFY / IFETCH: an object + offset (bounds-checked) or a raw address,
 * through the issuing CPU's caches, misses attributed to the call sites. */
static uint32_t access_op(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op, uint32_t kind)
{
	uint64_t addr, base = 0, limit, before[MM_SITE_LEVELS], after[MM_SITE_LEVELS], served[CACHE_LAT_SERVED], ps;
	uint32_t alloc_site = MM_NO_SITE, n = 0, l, err, depth;
	int32_t mem_node;
	struct cache_hierarchy *h;
	struct cache *first;

	if (op->cpu >= m->nr_cpus || !op->arg0 || op->arg0 > MM_MAX_ACCESS)
		return RE_BAD_ARG;
	if (kind == ACCESS_IFETCH || (op->flags & MM_ACCESS_RAW)) {
		addr = op->arg1;
	} else {
		if (!live_object(m, r, op->id, 1, &addr, &limit, &err))
			return err;
		if (op->arg1 >= limit || op->arg0 > limit - op->arg1)
			return RE_OUT_OF_BOUNDS;
		base = addr;
		addr += op->arg1;
		if (r->alloc_site)
			alloc_site = r->alloc_site[op->id];
	}
	mem_node = numa_account(m, r, op, addr);
	if (r->site_stride && op->site < r->nr_sites) {
		uint64_t *st = &r->site_stride[op->site * 4], stride = addr - st[0];

		if (stride && stride == st[1])
			st[2]++;   /* a regular stream a prefetcher could follow */
		st[3]++;
		st[0] = addr;
		st[1] = stride;
	}
	if (!m->cpu_caches || !(h = m->cpu_caches[op->cpu]))
		return RE_NONE;
	if (h->coh) {   /* who is behind a coherence miss: the call site and the object */
		h->tag = (uint64_t)op->site << MM_TAG_SITE_SHIFT | (base ? op->id : MM_NO_ID);
		h->tag_base = base;
	}
	first = kind == ACCESS_IFETCH ? h->i1 : h->d1;
	if (base && r->cache_attr && r->cache_attr->align && r->ids[op->id].state == ID_OBJECT)
		note_align(m, r, op->id, base, op->arg1, op->arg0, first->line_bits);
	if (!r->site_misses && !h->mem_ps) {
		cache_hierarchy_access(h, addr, op->arg0, kind);
		return RE_NONE;
	}
	if (r->site_misses)
		n = level_misses(first, before);
	if (h->mem_ps) {
		ps = cache_hierarchy_access_timed(h, addr, op->arg0, kind,
						  mem_node < 0 ? m->cpu_to_node[op->cpu] : (uint32_t)mem_node, served, &depth);
		if (r->cache_attr && r->cache_attr->site_lat)
			note_latency(r, op, base != 0, served, depth, ps);
	} else {
		cache_hierarchy_access(h, addr, op->arg0, kind);
	}
	if (!r->site_misses)
		return RE_NONE;
	level_misses(first, after);
	for (l = 0; l < n; l++) {
		if (op->site < r->nr_sites)
			r->site_misses[op->site * MM_SITE_LEVELS + l] += after[l] - before[l];
		if (alloc_site < r->nr_sites)
			r->alloc_site_misses[alloc_site * MM_SITE_LEVELS + l] += after[l] - before[l];
	}
	return RE_NONE;
}

static void copy_model_bytes(struct mm_machine *m, uint64_t to, uint64_t from, uint64_t n)
{
	uint8_t *d = mm_model_bytes(m, to);
	const uint8_t *p = mm_model_bytes(m, from);

	while (n--)
		*d++ = *p++;
}

int mm_replay_migrate(struct mm_machine *m, struct mm_replay *r, uint32_t id, uint32_t nid, uint32_t cpu)
{
	uint64_t from, size, to;
	struct mm_id *e;
	struct zone *z;
	uint32_t pfn;

	if (id >= r->nr_ids || nid >= m->nr_nodes || cpu >= m->nr_cpus)
		return -1;
	e = &r->ids[id];
	if (e->state != ID_PAGE && e->state != ID_OBJECT && e->state != ID_LARGE)
		return -1;
	mm_id_span(m, e, &from, &size);
	z = mm_pfn_zone(m, e->pfn);
	if (e->state == ID_OBJECT) {
		to = mm_kmem_cache_alloc(m->slab, pfn_to_page(z, e->pfn)->info, cpu, (int32_t)nid, &pfn);
		if (!to)
			return -2;
		if (mm_pfn_to_nid(m, pfn) != (int32_t)nid) {   /* the slab came from another node */
			mm_slab_free_object(m->slab, pfn, (uint32_t)(to - ((uint64_t)pfn << PAGE_SHIFT)), cpu);
			return -2;
		}
		copy_model_bytes(m, to, from, size);
		mm_slab_free_object(m->slab, e->pfn, e->offset, cpu);
		e->offset = (uint16_t)(to - ((uint64_t)pfn << PAGE_SHIFT));
	} else {
		uint32_t mt = e->state == ID_PAGE ? pfn_to_page(z, e->pfn)->info : MIGRATE_UNMOVABLE;

		pfn = mm_alloc_pages_nodemask(m, e->order, mt, cpu, nid, 1ull << nid, 0);
		if (pfn == PFN_NONE)
			return -2;
		if (e->state == ID_LARGE) {
			pfn_to_page(mm_pfn_zone(m, pfn), pfn)->flags |= PG_large_kmalloc;
			copy_model_bytes(m, (uint64_t)pfn << PAGE_SHIFT, from, size);
			mm_free_block(m, z, e->pfn, e->order, cpu);
		} else if (mm_free_pages(m, e->pfn, e->order, cpu) != MM_FREE_OK) {
			MM_BUG_ON(1);   /* the id map and the model disagree */
		}
	}
	e->pfn = pfn;
	return 0;
}

/*
 * Replay is bound by cache misses on the id map: a free looks up an id allocated
 * long before. Prefetching the entries of coming records hides that latency.
 */
#define PREFETCH_IDS 16

/* Before an op that may take or give back slabs: the slab usage counts in this record. 0 if the
 * machine has no slab allocator. */
static inline int slab_clock(struct mm_machine *m, uint64_t rec)
{
	if (!m->slab)
		return 0;
	m->slab->clock = rec;
	return 1;
}

void mm_replay_run(struct mm_machine *m, struct mm_replay *r, const struct mm_op *ops, uint64_t first, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		const struct mm_op *op = &ops[i];
		uint64_t result = MM_RESULT_NONE;
		uint32_t err;

		if (i + PREFETCH_IDS < n && ops[i + PREFETCH_IDS].id < r->nr_ids)
			__builtin_prefetch(&r->ids[ops[i + PREFETCH_IDS].id], 1);
		switch (op->op) {
		case OP_NOP:
		case OP_PHASE:
			err = RE_NONE;
			break;
		case OP_TIME:
			r->now_ns += op->arg1;
			mm_thermal_advance(m, op->arg1);
			err = RE_NONE;
			break;
		case OP_PAGE_ALLOC:
			err = page_alloc(m, r, op, &result);
			break;
		case OP_PAGE_FREE:
			err = page_free(m, r, op);
			break;
		case OP_KMALLOC:
			err = slab_clock(m, first + i) ? kmalloc_op(m, r, op, &result) : RE_UNSUPPORTED;
			break;
		case OP_KFREE:
			err = slab_clock(m, first + i) ? object_free_op(m, r, op, -1) : RE_UNSUPPORTED;
			break;
		case OP_CACHE_CREATE:
			err = m->slab ? cache_create_op(m, r, op, &result) : RE_UNSUPPORTED;
			break;
		case OP_CACHE_ALLOC:
			err = slab_clock(m, first + i) ? cache_alloc_op(m, r, op, &result) : RE_UNSUPPORTED;
			break;
		case OP_CALL:
		case OP_RET:
			err = stack_op(m, r, op);
			break;
		case OP_TASK:
			if (r->stacks && op->arg0 < MM_MAX_TASKS && op->arg0 >= r->nr_tasks) {
				r->need_tasks = op->arg0 + 1;
				n = i;   /* stop before it: the caller adds task stacks and replays from here */
				goto out;
			}
			err = task_op(m, r, op);
			break;
		case OP_MEMPOLICY:   /* flags = mode, arg1 = nodemask, for this CPU */
			err = mm_set_mempolicy(m, op->cpu, op->flags, op->arg1) ? RE_BAD_ARG : RE_NONE;
			break;
		case OP_MEMPOLICY_WEIGHT:   /* arg0 = node, arg1 = weight 1..255 */
			err = mm_set_il_weight(m, op->cpu, op->arg0, op->arg1 > 255 ? 0 : (uint32_t)op->arg1) ?
			      RE_BAD_ARG : RE_NONE;
			break;
		case OP_LOAD:
			err = access_op(m, r, op, ACCESS_LOAD);
			break;
		case OP_STORE:
			err = access_op(m, r, op, ACCESS_STORE);
			break;
		case OP_MODIFY:
			err = access_op(m, r, op, ACCESS_MODIFY);
			break;
		case OP_IFETCH:
			err = access_op(m, r, op, ACCESS_IFETCH);
			break;
		case OP_REF_SET:
		case OP_REF_CLEAR:
			err = ref_op(m, r, op);
			break;
		case OP_ROOT_ADD:
		case OP_ROOT_DEL:
		case OP_NOT_LEAK:
			err = root_op(m, r, op);
			break;
		case OP_CACHE_DESTROY:
			err = m->slab ? cache_destroy_op(m, r, op) : RE_UNSUPPORTED;
			break;
		case OP_CACHE_FREE:
			if (!slab_clock(m, first + i))
				err = RE_UNSUPPORTED;
			else if (op->id == MM_NO_ID)
				err = pretrace_free(m, r, op);
			else if (cache_of(r, op->arg1) < 0)
				err = RE_UNKNOWN_CACHE;
			else
				err = object_free_op(m, r, op, cache_of(r, op->arg1));
			break;
		default:
			err = op->op < NR_OPS ? RE_UNSUPPORTED : RE_BAD_OP;
			break;
		}
		if (!err && r->root && (op->op == OP_KMALLOC || op->op == OP_CACHE_ALLOC))
			leak_track_alloc(m, r, op->id, first + i);
		if (op->op < NR_OPS)
			r->op_count[op->op]++;
		if (err) {
			reject(r, first + i, err, op->id);
			result = MM_RESULT_ERROR;
		}
		if (r->results)
			r->results[i] = result;
		if (r->snap_done < r->nr_snap_at && first + i + 1 == r->snap_at[r->snap_done]) {
			mm_snapshot(m, r, first + i + 1, r->snap_rows + (uint64_t)r->snap_done * r->snap_stride);
			r->snap_done++;
		}
		if (mm_bugged()) {
			n = i + 1;   /* stop: the caller reports the bug */
			break;
		}
	}
out:
	r->nr_records += n;
}
