/*
 * results.h - what the firmware tells the host, at physical address FW_RESULTS_ADDR.
 *
 * The host reads it from the guest's RAM (a memory-backend-file shared with QEMU), while
 * the guest runs and after it exits; sim/guest/results.py mirrors this layout field by
 * field (every field has a fixed width: the same bytes in the 32-bit guest and on the host).
 */
#ifndef FW_RESULTS_H
#define FW_RESULTS_H

#include <stdint.h>

#include "mm_types.h"
#include "replay.h"

#define FW_RESULTS_ADDR 0x10000u      /* conventional memory below 1 MiB: never the allocator's */
#define FW_RESULTS_MAGIC 0x524d534du  /* "MSMR" */
#define FW_RESULTS_VERSION 2
#define FW_MAX_NODES 8
#define FW_MAX_CPUS 8
#define FW_MAX_RANGES 4
#define FW_MAX_CACHES 64
#define FW_MAX_ZONES 3                /* DMA, DMA32 and Normal: a node's populated zones */

/* status: also the isa-debug-exit code (QEMU exits with status * 2 + 1) */
enum fw_status {
	FW_OK = 0,
	FW_RUNNING = 1,        /* still replaying (live view) */
	FW_BAD_BOOT = 2,       /* not started by a multiboot loader, or no memory map */
	FW_NO_TRACE = 3,       /* no trace module */
	FW_BAD_TRACE = 4,      /* the module is not a memsim trace (or does not fit) */
	FW_NO_MEMORY = 5,      /* the metadata does not fit in memory */
	FW_BAD_TOPOLOGY = 6,   /* more nodes or CPUs than the firmware handles */
	FW_BAD_CMDLINE = 7,    /* a command-line value the firmware or the core cannot use */
};

/* A zone as Linux lays it out from the memory map: the node's span cut at 16 MiB and 4 GiB. */
struct fw_zone {
	uint32_t type;                              /* enum zone_type */
	uint32_t start_pfn, spanned_pages;
};

struct fw_node {
	uint32_t start_pfn, spanned_pages;          /* the node's span */
	uint32_t nr_ranges;                         /* usable pfn ranges handed to the allocator */
	uint32_t range_start[FW_MAX_RANGES], range_end[FW_MAX_RANGES];
	uint32_t nr_srat;                           /* SRAT memory affinity ranges (bytes) */
	uint32_t srat_base_lo[FW_MAX_RANGES], srat_base_hi[FW_MAX_RANGES];
	uint32_t srat_len_lo[FW_MAX_RANGES], srat_len_hi[FW_MAX_RANGES];
	uint32_t nr_cpus;
	uint32_t cpu_apic[FW_MAX_CPUS];
	uint8_t zonelist[FW_MAX_NODES];
	uint32_t nr_zones;                          /* populated zones, lowest type first */
	struct fw_zone zone[FW_MAX_ZONES];
};

struct fw_results {
	uint32_t magic, version, status, stage;     /* stage: 1 topology, 2 set up, 3 replaying, 4 done */
	uint32_t nr_nodes, nr_cpus, has_slit, has_hmat;
	uint32_t flags;                             /* mm_machine flags used (pcp, mobility grouping) */
	uint32_t min_free_kbytes;
	uint32_t image_end, modules_end, reserved_end;   /* physical addresses */
	uint32_t stack_size, stack_high_water;      /* bytes (painted stack) */
	uint32_t cpu_to_node[FW_MAX_CPUS];
	uint8_t distance[FW_MAX_NODES][FW_MAX_NODES];
	uint32_t hmat_latency[FW_MAX_NODES][FW_MAX_NODES];   /* ns, initiator x target, 0 = none */
	struct fw_node node[FW_MAX_NODES];
	uint32_t records_lo, records_hi;            /* records in the trace */
	uint32_t done_lo, done_hi;                  /* records replayed so far */
	uint32_t results_addr;                      /* u64 per record (MM_RESULT_*), or 0 */
	uint32_t nr_ids;
	uint64_t error_count[NR_REPLAY_ERRORS];
	uint64_t alloc_failed, free_skipped, access_skipped;
	uint32_t nr_free[FW_MAX_NODES][MIGRATE_TYPES][NR_PAGE_ORDERS];   /* over a node's zones */
	uint64_t numa[FW_MAX_NODES][NR_NUMA_STAT_ITEMS];
	uint64_t zone_stat[FW_MAX_NODES][NR_ZONE_STAT_ITEMS];
	uint32_t nr_caches;
	uint32_t cache_slabs[FW_MAX_CACHES];        /* slabs over all nodes */
	uint32_t cache_objects[FW_MAX_CACHES];      /* objects in use */
	uint32_t ids_addr;                          /* the replay's id map (live view, leak scan) */
	uint32_t first_error_record, first_error_code;
	/* the leak scan reads guest memory as kmemleak would: which ids are roots and when they
	 * were allocated, the page descriptors (a slab page's info is its cache) and each
	 * cache's object size */
	uint32_t root_addr, alloc_record_addr;      /* u8 and u64 per id */
	uint32_t mem_map_addr, mem_map_pfn;         /* the one mem_map: struct page of mem_map_pfn */
	uint32_t cache_size[FW_MAX_CACHES];
	uint32_t watermark[FW_MAX_NODES][NR_WMARK];   /* min, low, high in pages, as set up from min_free_kbytes */
	uint64_t thermal_temp[FW_MAX_NODES];          /* the thermal model per node (millidegrees, ns) */
	uint64_t thermal_peak[FW_MAX_NODES];
	uint64_t thermal_throttled_ns[FW_MAX_NODES];
};

#endif
