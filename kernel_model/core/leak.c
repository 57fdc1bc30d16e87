/* leak.c - the leak scan and memcheck's classification (see leak.h). */
#include "leak.h"
#include "mm_math.h"

uint32_t mm_leak_objects(struct mm_machine *m, const struct mm_replay *r, uint32_t *id, uint64_t *addr,
			 uint64_t *size)
{
	uint32_t i, n = 0;

	for (i = 0; i < r->nr_ids; i++) {
		const struct mm_id *e = &r->ids[i];

		if (e->state != ID_OBJECT && e->state != ID_LARGE)
			continue;
		mm_id_span(m, e, &addr[n], &size[n]);
		id[n++] = i;
	}
	return n;
}

void mm_leak_slab_use(struct mm_machine *m, const struct mm_replay *r, const uint32_t *id, uint32_t n,
		      uint32_t *slab, uint8_t *order, uint32_t *inuse, uint32_t *objects, uint8_t *active)
{
	uint32_t i, cpu;

	for (i = 0; i < n; i++) {
		const struct mm_id *e = &r->ids[id[i]];
		const struct page *p = pfn_to_page(mm_pfn_zone(m, e->pfn), e->pfn);
		const struct kmem_cache *s;

		slab[i] = e->pfn;
		order[i] = p->order;
		inuse[i] = objects[i] = active[i] = 0;
		if (e->state != ID_OBJECT)
			continue;
		MM_BUG_ON(!(p->flags & PG_slab) || p->info >= m->slab->nr_caches);
		s = &m->slab->caches[p->info];
		inuse[i] = p->inuse;
		objects[i] = (PAGE_SIZE << p->order) / s->size;
		for (cpu = 0; cpu < m->nr_cpus; cpu++)
			if (m->slab->cpu_slab[p->info * m->nr_cpus + cpu].slab == e->pfn)
				active[i] = 1;
	}
}

uint64_t mm_leak_words(struct mm_machine *m, const uint64_t *addr, const uint64_t *size, uint32_t n,
		       uint32_t *src, uint64_t *value, uint64_t cap)
{
	uint64_t found = 0, off;
	uint32_t i;

	for (i = 0; i < n; i++) {
		for (off = 0; off + 8 <= size[i]; off += 8) {
			uint64_t v = mm_get_u64(mm_model_bytes(m, addr[i] + off));

			if (!v)
				continue;
			if (found < cap) {
				src[found] = i;
				value[found] = v;
			}
			found++;
		}
	}
	return found;
}

#define UNSEEN 0xff
#define POINTED_TO 0xfe   /* unreached, but another unreached object points to it */

/* Breadth-first from queue[head..tail): mark targets still open (unseen, or pointed to
 * when that counts as open) `mark`, following only start pointers when starts_only.
 * Returns the new queue length. */
static uint32_t spread(const uint32_t *row, const uint32_t *col, const uint8_t *interior, uint8_t *kind,
		       uint32_t *queue, uint32_t head, uint32_t tail, uint8_t mark, int starts_only)
{
	uint32_t k;

	while (head < tail) {
		uint32_t i = queue[head++];

		for (k = row[i]; k < row[i + 1]; k++) {
			uint8_t t = kind[col[k]];

			if ((t != UNSEEN && t != POINTED_TO) || (starts_only && interior[k]))
				continue;
			kind[col[k]] = mark;
			queue[tail++] = col[k];
		}
	}
	return tail;
}

/* Mark object i definitely lost and everything it reaches indirectly lost. */
static uint32_t lost_from(const uint32_t *row, const uint32_t *col, const uint8_t *interior, uint8_t *kind,
			  uint32_t *queue, uint32_t tail, uint32_t i)
{
	kind[i] = LEAK_DEFINITE;
	queue[tail] = i;
	return spread(row, col, interior, kind, queue, tail, tail + 1, LEAK_INDIRECT, 0);
}

void mm_leak_classify(uint32_t n, const uint32_t *row, const uint32_t *col, const uint8_t *interior,
		      const uint8_t *root, uint8_t *kind, uint32_t *queue)
{
	uint32_t i, k, tail = 0;

	for (i = 0; i < n; i++) {
		kind[i] = root[i] ? LEAK_REACHABLE : UNSEEN;
		if (root[i])
			queue[tail++] = i;
	}
	/* still reachable through start pointers; from all reached so far, possibly lost */
	tail = spread(row, col, interior, kind, queue, 0, tail, LEAK_REACHABLE, 1);
	tail = spread(row, col, interior, kind, queue, 0, tail, LEAK_POSSIBLY, 0);
	/* among the unreached, those another unreached object points to */
	for (i = 0; i < n; i++)
		if (kind[i] == UNSEEN || kind[i] == POINTED_TO)
			for (k = row[i]; k < row[i + 1]; k++)
				if (kind[col[k]] == UNSEEN && col[k] != i)
					kind[col[k]] = POINTED_TO;
	/* nothing points to these: definitely lost, and what they reach indirectly lost */
	for (i = 0; i < n; i++)
		if (kind[i] == UNSEEN)
			tail = lost_from(row, col, interior, kind, queue, tail, i);
	/* what is left are cycles of lost objects: the first of each stands for it */
	for (i = 0; i < n; i++)
		if (kind[i] == POINTED_TO)
			tail = lost_from(row, col, interior, kind, queue, tail, i);
}
