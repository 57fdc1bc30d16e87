/*
 * main.c - memsim's guest firmware: the kernel_model core on real (emulated) hardware.
 *
 * Boot (multiboot v1, 32-bit protected mode, flat memory, no paging, no interrupts):
 * copy the boot information, read the memory map and the ACPI NUMA tables, build each
 * node's zones as Linux does (DMA below 16 MiB, DMA32 below 4 GiB) over the usable memory,
 * replay the trace module with the same C code
 * the host runs, write everything to the results area (results.h) and exit through
 * isa-debug-exit with the status.
 *
 * Command line: pcp=0|1 grouping=0|1 min_free_kbytes=N kmalloc_classes=8,16,... (the kmalloc
 * caches' sizes; absent: Linux's), the thermal model's thermal_access=N thermal_page=N
 * thermal_half_life=NS thermal_throttle=N (core/thermal.h; off without the heats), and for tests
 * fault=triple|hang.
 */
#include "acpi.h"
#include "fw.h"
#include "page_alloc.h"
#include "replay.h"
#include "results.h"
#include "slab.h"
#include "thermal.h"
#include "trace_ops.h"
#include "zonelist.h"

#define MB_BOOT_MAGIC 0x2BADB002u
#define MB_INFO_CMDLINE 0x4u
#define MB_INFO_MODS 0x8u
#define MB_INFO_MMAP 0x40u
#define MAX_MMAP 32
#define MAX_ERRORS 1000
#define BATCH 4096
#define STACK_PAINT 0x57AC57ACu

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
};

struct mb_module {
	uint32_t start, end, string, reserved;
};

struct range {
	uint64_t base, end;
};

extern char fw_image_end[], fw_stack_bottom[], fw_stack_top[];

static struct range usable[MAX_MMAP];
static uint32_t nr_usable;
static char cmdline[512];   /* 64 kmalloc classes of 4 digits fit */
static struct mb_module trace_mod;
static uint32_t have_trace, modules_end;

static struct mm_machine machine;
static struct mm_slab slab;
static struct kmem_cache caches[FW_MAX_CACHES];
static struct kmem_cache_cpu cache_cpu[FW_MAX_CACHES * FW_MAX_CPUS];
static struct kmem_cache_node cache_node[FW_MAX_CACHES * FW_MAX_NODES];
static struct mm_replay rp;
static uint32_t kmalloc_classes[MM_MAX_KMALLOC_CACHES];
static struct mm_replay_error_rec errors[MAX_ERRORS];
static uint32_t carve_next, carve_limit;

/* ---- primitives ------------------------------------------------------------------- */

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;

	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;

	if (p < q)
		return memcpy(d, s, n);
	while (n--)
		p[n] = q[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

void fw_puts(const char *s)
{
	while (*s)
		outb(FW_DEBUGCON, (uint8_t)*s++);
}

void fw_putx(uint32_t v)
{
	int i;

	fw_puts("0x");
	for (i = 28; i >= 0; i -= 4)
		outb(FW_DEBUGCON, (uint8_t)"0123456789abcdef"[(v >> i) & 15]);
}

void fw_exit(uint32_t status)
{
	struct fw_results *r = (struct fw_results *)FW_RESULTS_ADDR;

	r->status = status;
	fw_puts("memsim-fw: exit ");
	fw_putx(status);
	fw_puts("\n");
	outl(FW_EXIT_PORT, status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* ---- boot information ------------------------------------------------------------- */

static uint32_t arg(const char *key, uint32_t fallback)
{
	uint32_t n = 0, klen = 0, v = 0;
	const char *p;

	while (key[klen])
		klen++;
	for (p = cmdline; *p; p++) {
		if ((p == cmdline || p[-1] == ' ') && !memcmp(p, key, klen) && p[klen] == '=') {
			for (p += klen + 1; *p >= '0' && *p <= '9'; p++, n++)
				v = v * 10 + (uint32_t)(*p - '0');
			return n ? v : fallback;
		}
	}
	return fallback;
}

/* kmalloc_classes=a,b,c: the sizes into out[], their number (0: the key is absent). A list the
 * core would refuse is the command line's fault: the firmware stops with FW_BAD_CMDLINE. */
static uint32_t kmalloc_classes_arg(uint32_t *out)
{
	static const char key[] = "kmalloc_classes=";
	uint32_t n = 0, digits = 0;
	const char *p;

	for (p = cmdline; *p; p++)
		if ((p == cmdline || p[-1] == ' ') && !memcmp(p, key, sizeof(key) - 1))
			break;
	if (!*p)
		return 0;
	for (p += sizeof(key) - 1;; p++) {
		if (*p >= '0' && *p <= '9' && digits < 5) {
			if (!digits++) {
				if (n == MM_MAX_KMALLOC_CACHES)
					fw_exit(FW_BAD_CMDLINE);
				out[n++] = 0;
			}
			out[n - 1] = out[n - 1] * 10 + (uint32_t)(*p - '0');
		} else if (*p == ',' && digits) {
			digits = 0;
		} else if ((!*p || *p == ' ') && digits) {
			break;
		} else {
			fw_exit(FW_BAD_CMDLINE);
		}
	}
	if (!mm_kmalloc_classes_valid(out, n))
		fw_exit(FW_BAD_CMDLINE);
	return n;
}

static int has_word(const char *word)
{
	uint32_t len = 0;
	const char *p;

	while (word[len])
		len++;
	for (p = cmdline; *p; p++)
		if ((p == cmdline || p[-1] == ' ') && !memcmp(p, word, len) && (p[len] == ' ' || !p[len]))
			return 1;
	return 0;
}

/* Copy what the loader left in low memory (0x9000, 0x9500) before anything is written there. */
static void read_boot_info(uint32_t magic, const struct mb_info *mbi)
{
	uint32_t off, i;

	if (magic != MB_BOOT_MAGIC || !(mbi->flags & MB_INFO_MMAP))
		fw_exit(FW_BAD_BOOT);
	if (mbi->flags & MB_INFO_CMDLINE) {
		const char *c = (const char *)(uintptr_t)mbi->cmdline;

		for (i = 0; i < sizeof(cmdline) - 1 && c[i]; i++)
			cmdline[i] = c[i];
	}
	for (off = 0; off < mbi->mmap_length && nr_usable < MAX_MMAP;) {
		const uint8_t *e = (const uint8_t *)(uintptr_t)(mbi->mmap_addr + off);
		uint32_t size, type;
		uint64_t base, len;

		memcpy(&size, e, 4);
		memcpy(&base, e + 4, 8);
		memcpy(&len, e + 12, 8);
		memcpy(&type, e + 20, 4);
		if (type == 1 && len) {
			usable[nr_usable].base = base;
			usable[nr_usable].end = base + len;
			nr_usable++;
		}
		off += size + 4;
	}
	modules_end = 0;
	if ((mbi->flags & MB_INFO_MODS) && mbi->mods_count) {
		const struct mb_module *mods = (const struct mb_module *)(uintptr_t)mbi->mods_addr;

		trace_mod = mods[0];
		have_trace = 1;
		for (i = 0; i < mbi->mods_count; i++)
			if (mods[i].end > modules_end)
				modules_end = mods[i].end;
	}
}

/* ---- memory ----------------------------------------------------------------------- */

/* Zeroed metadata above everything the firmware holds. Sizes are 64-bit so that a product
 * such as nr_ids * 8 cannot wrap: what does not fit is FW_NO_MEMORY, never a short area. */
static void *carve(uint64_t bytes)
{
	uint32_t at = (carve_next + 63) & ~63u;

	if (at < carve_next || at > carve_limit || bytes > carve_limit - at)
		fw_exit(FW_NO_MEMORY);
	carve_next = at + (uint32_t)bytes;
	memset((void *)(uintptr_t)at, 0, (size_t)bytes);
	return (void *)(uintptr_t)at;
}

/* SRAT memory range i of node n in bytes, cut at 4 GiB (a 32-bit guest); 0 if nothing is left. */
static int srat_range(const struct fw_node *n, uint32_t i, uint64_t *base, uint64_t *end)
{
	*base = (uint64_t)n->srat_base_hi[i] << 32 | n->srat_base_lo[i];
	*end = *base + ((uint64_t)n->srat_len_hi[i] << 32 | n->srat_len_lo[i]);
	if (*end > 0x100000000ull)
		*end = 0x100000000ull;
	return *base < *end;
}

/* The first pfn of each zone type's range on x86 (MAX_DMA_PFN, MAX_DMA32_PFN); Normal has no
 * end in a 32-bit guest, whose memory stops at 4 GiB. */
static const uint32_t zone_first_pfn[] = { [ZONE_DMA] = 0, [ZONE_DMA32] = 4096, [ZONE_NORMAL] = 1u << 20 };

/* Each node spans its SRAT ranges (known before the firmware carves its metadata); its zones
 * are that span cut at the zone boundaries (zone_spanned_pages_in_node). */
static void zone_spans(struct fw_results *r)
{
	uint32_t nid, i, t;

	for (nid = 0; nid < r->nr_nodes; nid++) {
		struct fw_node *n = &r->node[nid];
		uint64_t lo = ~0ull, hi = 0, b, e;

		for (i = 0; i < n->nr_srat; i++) {
			if (!srat_range(n, i, &b, &e))
				continue;
			lo = b < lo ? b : lo;
			hi = e > hi ? e : hi;
		}
		if (hi <= lo)
			continue;
		n->start_pfn = (uint32_t)(lo >> 12);
		n->spanned_pages = (uint32_t)((hi + 4095) >> 12) - n->start_pfn;
		for (t = ZONE_DMA; t <= ZONE_NORMAL; t++) {
			uint32_t zlo = zone_first_pfn[t], zhi = t < ZONE_NORMAL ? zone_first_pfn[t + 1] : PFN_NONE;
			uint32_t s = n->start_pfn > zlo ? n->start_pfn : zlo;
			uint32_t end = n->start_pfn + n->spanned_pages < zhi ? n->start_pfn + n->spanned_pages : zhi;

			if (s < end) {
				n->zone[n->nr_zones].type = t;
				n->zone[n->nr_zones].start_pfn = s;
				n->zone[n->nr_zones].spanned_pages = end - s;
				n->nr_zones++;
			}
		}
	}
}

/* What each node hands the allocator: its SRAT ranges & the memory map's usable ranges, above
 * everything the firmware holds (reserved_end). */
static void usable_ranges(struct fw_results *r)
{
	uint32_t nid, i, k;
	uint64_t b, e;

	for (nid = 0; nid < r->nr_nodes; nid++) {
		struct fw_node *n = &r->node[nid];

		for (i = 0; i < n->nr_srat; i++) {
			if (!srat_range(n, i, &b, &e))
				continue;
			for (k = 0; k < nr_usable && n->nr_ranges < FW_MAX_RANGES; k++) {
				uint64_t s = usable[k].base > b ? usable[k].base : b;
				uint64_t t = usable[k].end < e ? usable[k].end : e;

				if (s < r->reserved_end)
					s = r->reserved_end;
				s = (s + 4095) >> 12;
				t >>= 12;
				if (s < t) {
					n->range_start[n->nr_ranges] = (uint32_t)s;
					n->range_end[n->nr_ranges] = (uint32_t)t;
					n->nr_ranges++;
				}
			}
		}
	}
}

/* Without SRAT: one node spanning the usable memory, CPU 0 on it. */
static void single_node(struct fw_results *r)
{
	uint32_t k;
	uint64_t top = 0;

	r->nr_nodes = 1;
	r->nr_cpus = 1;
	r->node[0].nr_cpus = 1;
	r->distance[0][0] = 10;
	for (k = 0; k < nr_usable; k++)
		top = usable[k].end > top ? usable[k].end : top;
	r->node[0].nr_srat = 1;
	r->node[0].srat_len_lo[0] = (uint32_t)(top > 0xffffffffull ? 0xffffffffull : top);
}

/* ---- replay ----------------------------------------------------------------------- */

static void report_state(struct fw_results *r)
{
	uint32_t nid, o, t, i, c, z;

	for (nid = 0; nid < r->nr_nodes; nid++) {
		for (t = 0; t < MIGRATE_TYPES; t++)
			for (o = 0; o < NR_PAGE_ORDERS; o++)
				r->nr_free[nid][t][o] = 0;
		for (i = 0; i < NR_NUMA_STAT_ITEMS; i++)
			r->numa[nid][i] = 0;
		for (i = 0; i < NR_ZONE_STAT_ITEMS; i++)
			r->zone_stat[nid][i] = 0;
		for (z = 0; z < MAX_NR_ZONES; z++) {
			const struct zone *zn = mm_zone(&machine, nid, z);

			for (t = 0; t < MIGRATE_TYPES; t++)
				for (o = 0; o < NR_PAGE_ORDERS; o++)
					r->nr_free[nid][t][o] += zn->free_area[o].nr_free_mt[t];
			for (i = 0; i < NR_NUMA_STAT_ITEMS; i++)
				r->numa[nid][i] += zn->numa[i];
			for (i = 0; i < NR_ZONE_STAT_ITEMS; i++)
				r->zone_stat[nid][i] += zn->stat[i];
		}
	}
	r->nr_caches = slab.nr_caches;
	for (c = 0; c < slab.nr_caches && c < FW_MAX_CACHES; c++) {
		uint32_t slabs = 0, objects = 0;

		for (nid = 0; nid < r->nr_nodes; nid++) {
			slabs += slab.node[c * r->nr_nodes + nid].nr_slabs;
			objects += (uint32_t)slab.node[c * r->nr_nodes + nid].total_objects;
		}
		r->cache_slabs[c] = slabs;
		r->cache_objects[c] = objects;
		r->cache_size[c] = slab.caches[c].object_size;
	}
	for (i = 0; i < NR_REPLAY_ERRORS; i++)
		r->error_count[i] = rp.error_count[i];
	mm_thermal_sync(&machine);
	for (nid = 0; nid < r->nr_nodes; nid++) {
		r->thermal_temp[nid] = machine.thermal.temp[nid];
		r->thermal_peak[nid] = machine.thermal.peak[nid];
		r->thermal_throttled_ns[nid] = machine.thermal.throttled_ns[nid];
	}
	r->alloc_failed = rp.alloc_failed;
	r->free_skipped = rp.free_skipped;
	r->access_skipped = rp.access_skipped;
	if (rp.nr_logged) {
		r->first_error_record = (uint32_t)errors[0].record;
		r->first_error_code = errors[0].code;
	}
}

static uint32_t stack_high_water(void)
{
	const uint32_t *p = (const uint32_t *)fw_stack_bottom;

	while ((const char *)p < fw_stack_top && *p == STACK_PAINT)
		p++;
	return (uint32_t)(fw_stack_top - (const char *)p);
}

static void paint_stack(void)
{
	uint32_t *p = (uint32_t *)fw_stack_bottom;
	const char *here = __builtin_frame_address(0);

	while ((const char *)p < here - 256)
		*p++ = STACK_PAINT;
}

static void triple_fault(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) none = { 0, 0 };

	__asm__ volatile("lidt %0; int3" : : "m"(none));
}

void fw_main(uint32_t magic, const struct mb_info *mbi)
{
	struct fw_results *r = (struct fw_results *)FW_RESULTS_ADDR;
	struct mm_trace_header hdr;
	const struct mm_op *ops;
	uint64_t nrec, done;
	uint32_t nid, cpu, i, k, nr_ids, nr_cpus_total, nr_classes;
	int n;

	paint_stack();
	read_boot_info(magic, mbi);
	memset(r, 0, sizeof(*r));
	r->magic = FW_RESULTS_MAGIC;
	r->version = FW_RESULTS_VERSION;
	r->status = FW_RUNNING;
	r->stack_size = (uint32_t)(fw_stack_top - fw_stack_bottom);
	fw_puts("memsim-fw: boot\n");
	if (has_word("fault=triple"))
		triple_fault();
	if (has_word("fault=hang"))
		for (;;)
			__asm__ volatile("pause");

	/* topology */
	n = acpi_topology(r);
	if (n < 0 || n > FW_MAX_NODES)
		fw_exit(FW_BAD_TOPOLOGY);
	if (n == 0)
		single_node(r);
	else
		r->nr_nodes = (uint32_t)n;
	if (!r->has_slit)
		for (nid = 0; nid < r->nr_nodes; nid++)
			for (i = 0; i < r->nr_nodes; i++)
				r->distance[nid][i] = nid == i ? 10 : 20;
	r->stage = 1;

	/* what the firmware holds: its image, the modules, then the metadata carved above them */
	r->image_end = (uint32_t)(uintptr_t)fw_image_end;
	r->modules_end = modules_end;
	carve_next = ((r->image_end > modules_end ? r->image_end : modules_end) + 4095) & ~4095u;
	carve_limit = 0;
	for (i = 0; i < nr_usable; i++)
		if (usable[i].base <= carve_next && usable[i].end > carve_next)
			carve_limit = usable[i].end > 0xffffffffull ? 0xffffffffu : (uint32_t)usable[i].end;
	fw_puts("memsim-fw: image end ");
	fw_putx(r->image_end);
	fw_puts(", modules end ");
	fw_putx(modules_end);
	fw_puts(", metadata from ");
	fw_putx(carve_next);
	fw_puts(" to at most ");
	fw_putx(carve_limit);
	fw_puts("\n");
	if (!have_trace)
		fw_exit(FW_NO_TRACE);
	if (trace_mod.end - trace_mod.start < sizeof(hdr))
		fw_exit(FW_BAD_TRACE);
	memcpy(&hdr, (const void *)(uintptr_t)trace_mod.start, sizeof(hdr));
	if (memcmp(hdr.magic, MM_TRACE_MAGIC, sizeof(hdr.magic)) || hdr.version < MM_TRACE_MIN_VERSION || hdr.version > MM_TRACE_VERSION ||
	    hdr.header_size != sizeof(hdr) || hdr.record_size != sizeof(struct mm_op) ||
	    hdr.nr_records > (trace_mod.end - trace_mod.start - sizeof(hdr)) / sizeof(struct mm_op))
		fw_exit(FW_BAD_TRACE);
	nrec = hdr.nr_records;
	nr_ids = hdr.nr_ids;
	ops = (const struct mm_op *)(uintptr_t)(trace_mod.start + sizeof(hdr));
	r->records_lo = (uint32_t)nrec;
	r->nr_ids = nr_ids;

	/* the metadata: one mem_map for every zone's page descriptors, per-zone pageblock types
	 * and pcp lists; the id map and one result per record */
	nr_cpus_total = r->nr_cpus;
	{
		uint8_t *pbmt[FW_MAX_NODES][FW_MAX_ZONES];
		struct per_cpu_pages *pcp[FW_MAX_NODES][FW_MAX_ZONES];
		uint32_t lo_pfn = PFN_NONE, hi_pfn = 0;
		struct page *mem_map;

		zone_spans(r);
		for (nid = 0; nid < r->nr_nodes; nid++) {
			const struct fw_node *nd = &r->node[nid];

			for (k = 0; k < nd->nr_zones; k++) {
				uint32_t lo = nd->zone[k].start_pfn, hi = lo + nd->zone[k].spanned_pages;

				lo_pfn = lo < lo_pfn ? lo : lo_pfn;
				hi_pfn = hi > hi_pfn ? hi : hi_pfn;
				pbmt[nid][k] = carve(((hi + PAGEBLOCK_NR_PAGES - 1) >> PAGEBLOCK_ORDER) - (lo >> PAGEBLOCK_ORDER) + 1);
				pcp[nid][k] = carve((uint64_t)nr_cpus_total * sizeof(struct per_cpu_pages));
			}
		}
		if (hi_pfn <= lo_pfn)
			fw_exit(FW_BAD_TOPOLOGY);
		mem_map = carve((uint64_t)(hi_pfn - lo_pfn) * sizeof(struct page));
		r->mem_map_addr = (uint32_t)(uintptr_t)mem_map;
		r->mem_map_pfn = lo_pfn;
		rp.ids = carve((uint64_t)nr_ids * sizeof(*rp.ids));
		rp.root = carve(nr_ids);                 /* leak tracking: the host's leak scan needs it */
		rp.alloc_record = carve((uint64_t)nr_ids * sizeof(*rp.alloc_record));
		r->root_addr = (uint32_t)(uintptr_t)rp.root;
		r->alloc_record_addr = (uint32_t)(uintptr_t)rp.alloc_record;
		rp.results = carve(nrec * sizeof(*rp.results));
		r->results_addr = (uint32_t)(uintptr_t)rp.results;
		r->ids_addr = (uint32_t)(uintptr_t)rp.ids;
		r->reserved_end = (carve_next + 4095) & ~4095u;
		usable_ranges(r);
		build_zonelists(r);

		r->flags = (arg("pcp", 1) ? MM_PCP : 0) | (arg("grouping", 1) ? 0 : MM_NO_MOBILITY_GROUPING);
		if (mm_machine_init(&machine, r->nr_nodes, nr_cpus_total, r->flags))
			fw_exit(FW_BAD_TOPOLOGY);
		for (cpu = 0; cpu < nr_cpus_total; cpu++)
			machine.cpu_to_node[cpu] = (uint8_t)r->cpu_to_node[cpu];
		for (nid = 0; nid < r->nr_nodes; nid++)
			for (i = 0; i < r->nr_nodes; i++)
				machine.zonelist[nid][i] = r->node[nid].zonelist[i];
		for (nid = 0; nid < r->nr_nodes; nid++) {
			struct fw_node *nd = &r->node[nid];

			for (k = 0; k < nd->nr_zones; k++) {
				const struct fw_zone *fz = &nd->zone[k];
				struct zone *z = mm_zone(&machine, nid, fz->type);

				if (mm_zone_init(&machine, nid, fz->type, fz->start_pfn, fz->spanned_pages,
						 mem_map + (fz->start_pfn - lo_pfn), pbmt[nid][k], pcp[nid][k],
						 (uintptr_t)fz->start_pfn << PAGE_SHIFT))
					fw_exit(FW_BAD_TOPOLOGY);
				/* each usable range's part in this zone */
				for (i = 0; i < nd->nr_ranges; i++) {
					uint32_t s = nd->range_start[i] > fz->start_pfn ? nd->range_start[i] : fz->start_pfn;
					uint32_t e = nd->range_end[i] < fz->start_pfn + fz->spanned_pages ?
						     nd->range_end[i] : fz->start_pfn + fz->spanned_pages;

					if (s < e)
						mm_zone_free_range(&machine, z, s, e);
				}
			}
		}
	}
	if (mm_thermal_setup(&machine, arg("thermal_access", 0), arg("thermal_page", 0), arg("thermal_half_life", 0),
			     arg("thermal_throttle", 0)))
		fw_exit(FW_BAD_CMDLINE);
	mm_setup_watermarks(&machine, arg("min_free_kbytes", 0));
	mm_setup_pcp(&machine);
	r->min_free_kbytes = machine.min_free_kbytes;
	for (nid = 0; nid < r->nr_nodes; nid++)   /* a node's, as the sums of its zones' */
		for (k = 0; k < MAX_NR_ZONES; k++)
			for (i = 0; i < NR_WMARK; i++)
				r->watermark[nid][i] += mm_zone(&machine, nid, k)->watermark[i];
	nr_classes = kmalloc_classes_arg(kmalloc_classes);
	if (mm_slab_init(&slab, &machine, caches, cache_cpu, cache_node, FW_MAX_CACHES, kmalloc_classes, nr_classes))
		fw_exit(FW_NO_MEMORY);
	rp.nr_ids = nr_ids;
	rp.max_errors = MAX_ERRORS;
	rp.errors = errors;
	r->stage = 2;

	/* the replay, in batches so that the host sees progress */
	r->stage = 3;
	for (done = 0; done < nrec;) {
		uint64_t n_batch = nrec - done > BATCH ? BATCH : nrec - done;
		uint64_t *all = rp.results;

		rp.results = all + done;
		mm_replay_run(&machine, &rp, ops + done, done, n_batch);
		rp.results = all;
		done += n_batch;
		report_state(r);    /* the host may be watching through shared memory */
		r->done_lo = (uint32_t)done;
	}
	report_state(r);
	r->stage = 4;
	r->stack_high_water = stack_high_water();
	fw_exit(FW_OK);
}
