/* replay.c - the op-stream interpreter (see replay.h). */
#include "replay.h"

static void reject(struct mm_replay *r, uint64_t rec, uint32_t code, uint32_t id)
{
	r->error_count[code]++;
	if (r->nr_logged < r->max_errors) {
		r->errors[r->nr_logged].record = rec;
		r->errors[r->nr_logged].code = code;
		r->errors[r->nr_logged].id = id;
		r->nr_logged++;
	}
}

static uint32_t page_alloc(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op, uint64_t *result)
{
	struct mm_id *e;
	uint32_t pfn;
	int32_t nid = -1;

	if (op->id >= r->nr_ids)
		return RE_ID_RANGE;
	if (op->arg0 > MAX_PAGE_ORDER || op->flags >= MIGRATE_PCPTYPES || op->cpu >= m->nr_cpus)
		return RE_BAD_ARG;
	if (op->arg1 != MM_NO_NODE) {
		if (op->arg1 >= m->nr_nodes)
			return RE_BAD_ARG;
		nid = (int32_t)op->arg1;
	}
	e = &r->ids[op->id];
	if (e->state == ID_PAGE)
		return RE_ID_LIVE;
	pfn = mm_alloc_pages(m, op->arg0, op->flags, op->cpu, nid);
	if (pfn == PFN_NONE) {
		e->state = ID_FAILED;
		r->alloc_failed++;
		*result = MM_RESULT_FAILED;
		return RE_NONE;
	}
	e->state = ID_PAGE;
	e->pfn = pfn;
	e->offset = 0;
	e->order = (uint8_t)op->arg0;
	*result = pfn;
	return RE_NONE;
}

static uint32_t page_free(struct mm_machine *m, struct mm_replay *r, const struct mm_op *op)
{
	struct mm_id *e;

	if (op->id >= r->nr_ids)
		return RE_ID_RANGE;
	if (op->cpu >= m->nr_cpus)
		return RE_BAD_ARG;
	e = &r->ids[op->id];
	switch (e->state) {
	case ID_UNUSED:
		return RE_UNKNOWN_ID;
	case ID_FREED:
		return RE_DOUBLE_FREE;
	case ID_FAILED:
		r->free_skipped++;
		e->state = ID_FREED;
		return RE_NONE;
	case ID_PAGE:
		break;
	default:
		return RE_WRONG_KIND;
	}
	if (op->arg0 != e->order)
		return RE_WRONG_ORDER;
	if (mm_free_pages(m, e->pfn, e->order, op->cpu) != MM_FREE_OK)
		return RE_WRONG_KIND;   /* the model disagrees: never corrupt it */
	e->state = ID_FREED;
	return RE_NONE;
}

/*
 * Replay is bound by cache misses on the id map: a free looks up an id allocated
 * long before. Prefetching the entries of coming records hides that latency.
 */
#define PREFETCH_IDS 16

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
		case OP_TIME:
			err = RE_NONE;
			break;
		case OP_PAGE_ALLOC:
			err = page_alloc(m, r, op, &result);
			break;
		case OP_PAGE_FREE:
			err = page_free(m, r, op);
			break;
		default:
			err = op->op < NR_OPS ? RE_UNSUPPORTED : RE_BAD_OP;
			break;
		}
		if (op->op < NR_OPS)
			r->op_count[op->op]++;
		if (err) {
			reject(r, first + i, err, op->id);
			result = MM_RESULT_ERROR;
		}
		if (r->results)
			r->results[i] = result;
	}
	r->nr_records += n;
}
