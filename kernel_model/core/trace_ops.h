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

/* Every op code is reserved here; the replayer implements a growing subset. */
enum mm_opcode {
	OP_NOP = 0,
	OP_PAGE_ALLOC = 1,     /* id, arg0 = order, flags = migratetype, arg1 = node or NO_NODE */
	OP_PAGE_FREE = 2,      /* id, arg0 = order */
	OP_KMALLOC = 3,        /* id, arg0 = size, arg1 = node or NO_NODE */
	OP_KFREE = 4,          /* id */
	OP_CACHE_CREATE = 5,   /* id = cache id, arg0 = object size, arg1 = align | flags << 32, site = name */
	OP_CACHE_ALLOC = 6,    /* id = object id, arg1 = cache id */
	OP_CACHE_FREE = 7,     /* id = object id, arg1 = cache id */
	OP_LOAD = 8,           /* id = object (or NO_ID: raw), arg0 = size, arg1 = offset or address */
	OP_STORE = 9,
	OP_MODIFY = 10,
	OP_IFETCH = 11,        /* arg0 = size, arg1 = instruction address */
	OP_CALL = 12,          /* arg0 = frame size in bytes, site = callee */
	OP_RET = 13,
	OP_REF_SET = 14,       /* id = source object, arg0 = offset in source, arg1 = target object */
	OP_REF_CLEAR = 15,     /* id = source object, arg0 = offset in source */
	OP_ROOT_ADD = 16,      /* id */
	OP_ROOT_DEL = 17,      /* id */
	OP_TIME = 18,          /* arg1 = nanoseconds to advance */
	OP_MEMPOLICY = 19,     /* flags = mode, arg1 = nodemask */
	OP_MEMPOLICY_WEIGHT = 20, /* arg0 = node, arg1 = weight (weighted interleave) */
	OP_PHASE = 21,         /* arg0 = phase number, site = phase name */
	NR_OPS
};

#define MM_NO_ID 0xffffffffu
#define MM_ACCESS_RAW 0x1u     /* LOAD/STORE/MODIFY flags: arg1 is an address, not an offset */
#define MM_MAX_ACCESS 4096u    /* largest access size */
#define MM_NO_NODE 0xffffffffffffffffull

#endif
