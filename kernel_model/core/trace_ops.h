/*
 * trace_ops.h - the op-stream record, shared by the host replayer, the trace
 * file format (docs/trace-format.md) and the guest firmware. Little-endian,
 * 24 bytes, the same bytes everywhere.
 */
#ifndef MM_TRACE_OPS_H
#define MM_TRACE_OPS_H

#include <stdint.h>

struct mm_op {
	uint8_t op;        /* enum mm_opcode */
	uint8_t flags;     /* op-specific: migratetype, access kind, policy mode */
	uint16_t cpu;      /* CPU / thread issuing the op */
	uint32_t site;     /* call-site id: index into the trace's string table */
	uint32_t id;       /* trace-level object id (dense, < nr_ids) */
	uint32_t arg0;     /* op-specific: order, size, offset, frame size ... */
	uint64_t arg1;     /* op-specific: node, address, target id, time ... */
};

_Static_assert(sizeof(struct mm_op) == 24, "mm_op is 24 bytes");

/* Every op code is reserved here (X(id, code, name)); the replayer implements a growing subset. */
#define MM_OPS(X) \
	X(OP_NOP, 0, "nop") \
	X(OP_PAGE_ALLOC, 1, "page_alloc")       /* id, arg0 = order, flags = migratetype, arg1 = node or NO_NODE */ \
	X(OP_PAGE_FREE, 2, "page_free")         /* id, arg0 = order */ \
	X(OP_KMALLOC, 3, "kmalloc")             /* id, arg0 = size, arg1 = node or NO_NODE */ \
	X(OP_KFREE, 4, "kfree")                 /* id */ \
	X(OP_CACHE_CREATE, 5, "cache_create")   /* id = cache, arg0 = size, arg1 = align | flags << 32, site = name */ \
	X(OP_CACHE_ALLOC, 6, "cache_alloc")     /* id = object id, arg1 = cache id */ \
	X(OP_CACHE_FREE, 7, "cache_free")       /* id = object id, arg1 = cache id */ \
	X(OP_LOAD, 8, "load")                   /* id = object (or NO_ID: raw), arg0 = size, arg1 = offset or address */ \
	X(OP_STORE, 9, "store") \
	X(OP_MODIFY, 10, "modify") \
	X(OP_IFETCH, 11, "ifetch")              /* arg0 = size, arg1 = instruction address */ \
	X(OP_CALL, 12, "call")                  /* arg0 = frame size in bytes, site = callee */ \
	X(OP_RET, 13, "ret") \
	X(OP_REF_SET, 14, "ref_set")            /* id = source object, arg0 = offset in source, arg1 = target object */ \
	X(OP_REF_CLEAR, 15, "ref_clear")        /* id = source object, arg0 = offset in source */ \
	X(OP_ROOT_ADD, 16, "root_add")          /* id */ \
	X(OP_ROOT_DEL, 17, "root_del")          /* id */ \
	X(OP_TIME, 18, "time")                  /* arg1 = nanoseconds to advance */ \
	X(OP_MEMPOLICY, 19, "mempolicy")        /* flags = mode, arg1 = nodemask */ \
	X(OP_MEMPOLICY_WEIGHT, 20, "mempolicy_weight") /* arg0 = node, arg1 = weight (weighted interleave) */ \
	X(OP_PHASE, 21, "phase")                /* arg0 = phase number, site = phase name */

enum mm_opcode {
#define X(id, code, name) id = code,
	MM_OPS(X)
#undef X
	NR_OPS
};

#define MM_NO_ID 0xffffffffu
#define MM_ACCESS_RAW 0x1u     /* LOAD/STORE/MODIFY flags: arg1 is an address, not an offset */
#define MM_MAX_ACCESS 4096u    /* largest access size */
#define MM_NO_NODE 0xffffffffffffffffull

/*
 * The trace file's header (docs/trace-format.md): the records follow it, then the
 * string table of call-site names (NUL-terminated, site 0 first).
 */
#define MM_TRACE_MAGIC "MEMSIMTR"
#define MM_TRACE_VERSION 1

struct mm_trace_header {
	char magic[8];              /* MM_TRACE_MAGIC, not NUL-terminated */
	uint16_t version;
	uint16_t header_size;       /* sizeof(struct mm_trace_header) */
	uint32_t record_size;       /* sizeof(struct mm_op) */
	uint64_t nr_records;
	uint32_t nr_ids;            /* ids are < nr_ids */
	uint32_t nr_sites;
	uint64_t strtab_offset;
	uint64_t strtab_size;
	uint32_t flags;
	uint8_t reserved[12];
};

_Static_assert(sizeof(struct mm_trace_header) == 64, "the trace header is 64 bytes");

#endif
