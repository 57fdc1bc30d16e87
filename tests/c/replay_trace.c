/*
 * replay_trace.c - the core without Python: lay out a machine as kernel_model.Machine does
 * (a Normal zone per node, contiguous from BASE_PFN, CPUs numbered node by node), replay a trace file and write
 * one 64-bit result per record, as Machine.replay(results=True) gives them.
 *
 *   replay_trace TRACE RESULTS PAGES_PER_NODE CPUS_PER_NODE PCP GROUPING MIN_FREE_KBYTES ZONELIST...
 *
 * One ZONELIST per node: its node order, comma-separated. tests/test_freestanding.py builds it
 * with the core compiled freestanding (and under `make sanitize` with ASan, UBSan and
 * MM_DEBUG) and compares the results with the extension's. Exit status: 0, 1 for bad usage or
 * input, 3 for a failed MM_BUG_ON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "replay.h"
#include "slab.h"

#define BASE_PFN (1u << 20)
#define MAX_CACHES 256
#define MAX_ERRORS 1000

static void *zalloc(size_t n)
{
	void *p = calloc(n ? n : 1, 1);

	if (!p) {
		perror("calloc");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	static struct mm_machine m;
	static struct mm_slab sl;
	static struct mm_replay r;
	struct mm_trace_header h;
	uint32_t pages, cpus_per_node, nodes, nid, cpu, i;
	struct mm_op *ops;
	struct page *mem_map;
	FILE *f;

	if (argc < 9) {
		fprintf(stderr, "usage: %s TRACE RESULTS PAGES CPUS_PER_NODE PCP GROUPING MIN_FREE_KBYTES ZONELIST...\n",
			argv[0]);
		return 1;
	}
	pages = (uint32_t)strtoul(argv[3], 0, 0);
	cpus_per_node = (uint32_t)strtoul(argv[4], 0, 0);
	nodes = (uint32_t)(argc - 8);
	f = fopen(argv[1], "rb");
	if (!f || fread(&h, sizeof(h), 1, f) != 1 || memcmp(h.magic, MM_TRACE_MAGIC, sizeof(h.magic))) {
		fprintf(stderr, "%s: not a trace\n", argv[1]);
		return 1;
	}
	ops = zalloc(h.nr_records * sizeof(*ops));
	if (fread(ops, sizeof(*ops), h.nr_records, f) != h.nr_records) {
		fprintf(stderr, "%s: truncated\n", argv[1]);
		return 1;
	}
	fclose(f);

	if (mm_machine_init(&m, nodes, nodes * cpus_per_node,
			    (atoi(argv[5]) ? MM_PCP : 0) | (atoi(argv[6]) ? 0 : MM_NO_MOBILITY_GROUPING))) {
		fprintf(stderr, "%u nodes x %u CPUs: beyond the core's arrays\n", nodes, cpus_per_node);
		return 1;
	}
	for (cpu = 0; cpu < m.nr_cpus; cpu++)
		m.cpu_to_node[cpu] = (uint8_t)(cpu / cpus_per_node);
	for (nid = 0; nid < nodes; nid++) {
		char *p = argv[8 + nid];

		for (i = 0; i < nodes; i++) {
			unsigned long n = strtoul(p, &p, 10);

			if (n >= nodes || *p != (i + 1 < nodes ? ',' : '\0'))
				return fprintf(stderr, "zonelist %u: %u nodes expected\n", nid, nodes), 1;
			m.zonelist[nid][i] = (uint8_t)n;
			p += i + 1 < nodes;
		}
	}
	mem_map = zalloc((size_t)nodes * pages * sizeof(struct page));   /* one for every zone */
	for (nid = 0; nid < nodes; nid++) {
		uint32_t start = BASE_PFN + nid * pages;
		uint32_t blocks = ((start + pages + PAGEBLOCK_NR_PAGES - 1) >> PAGEBLOCK_ORDER) - (start >> PAGEBLOCK_ORDER);
		void *mem = mmap(0, (size_t)pages << PAGE_SHIFT, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (mem == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		if (mm_zone_init(&m, nid, ZONE_NORMAL, start, pages, mem_map + (size_t)nid * pages, zalloc(blocks),
				 zalloc(m.nr_cpus * sizeof(struct per_cpu_pages)), (uintptr_t)mem))
			return fprintf(stderr, "zone of node %u refused\n", nid), 1;
		mm_zone_free_range(&m, mm_zone(&m, nid, ZONE_NORMAL), start, start + pages);
	}
	mm_setup_watermarks(&m, (uint32_t)strtoul(argv[7], 0, 0));
	mm_setup_pcp(&m);
	if (mm_slab_init(&sl, &m, zalloc(MAX_CACHES * sizeof(struct kmem_cache)),
			 zalloc(MAX_CACHES * m.nr_cpus * sizeof(struct kmem_cache_cpu)),
			 zalloc(MAX_CACHES * nodes * sizeof(struct kmem_cache_node)), MAX_CACHES, 0, 0))
		return fprintf(stderr, "slab set-up failed\n"), 1;

	r.nr_ids = h.nr_ids;
	r.ids = zalloc((size_t)h.nr_ids * sizeof(*r.ids));
	r.root = zalloc(h.nr_ids);                          /* leak tracking: objects start zeroed */
	r.alloc_record = zalloc((size_t)h.nr_ids * sizeof(*r.alloc_record));
	r.stacks = zalloc(m.nr_cpus * sizeof(*r.stacks));
	r.stack_size = 16 << 10;
	r.max_errors = MAX_ERRORS;
	r.errors = zalloc(MAX_ERRORS * sizeof(*r.errors));
	r.results = zalloc(h.nr_records * sizeof(*r.results));
	mm_replay_run(&m, &r, ops, 0, h.nr_records);
	if (mm_bugged()) {
		const char *file, *cond;
		uint32_t line;

		mm_bug_take(&file, &line, &cond);
		fprintf(stderr, "%s:%u: MM_BUG_ON(%s)\n", file, line, cond);
		return 3;
	}
	f = fopen(argv[2], "wb");
	if (!f || fwrite(r.results, sizeof(*r.results), h.nr_records, f) != h.nr_records || fclose(f)) {
		perror(argv[2]);
		return 1;
	}
	return 0;
}
