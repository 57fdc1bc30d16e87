/*
 * leak.h - the leak scan: which live objects hold pointers to which, and memcheck's
 * classification of the objects no root reaches.
 *
 * Objects are the live slab and large-kmalloc objects of a replay (kmemleak tracks
 * the same: page allocations are neither scanned nor reported). Their bytes are
 * scanned word by word, 8-byte aligned, as kmemleak does; with leak tracking on,
 * objects start zeroed, so every non-zero word is a pointer some REF_SET wrote.
 */
#ifndef MM_LEAK_H
#define MM_LEAK_H

#include "replay.h"

/* memcheck's categories, from valgrind's "still reachable" to "definitely lost"; from
 * LEAK_INDIRECT on, no chain from a root reaches the object (kmemleak's white objects). */
#define MM_LEAK_KINDS(X) \
	X(LEAK_REACHABLE, "still_reachable") \
	X(LEAK_POSSIBLY, "possibly_lost") \
	X(LEAK_INDIRECT, "indirectly_lost") \
	X(LEAK_DEFINITE, "definitely_lost")

enum mm_leak_kind {
#define X(id, name) id,
	MM_LEAK_KINDS(X)
#undef X
	NR_LEAK_KINDS
};

/* The live objects in id order: id, model address and size. Returns how many (<= nr_ids). */
uint32_t mm_leak_objects(struct mm_machine *m, const struct mm_replay *r, uint32_t *id, uint64_t *addr,
			 uint64_t *size);

/* Where each of n live ids sits: its block's head pfn and order, and for slab objects (0 objects
 * for a large kmalloc) the slab's objects in use and in all, and whether the slab is a CPU's
 * active slab (whose in-use count is not maintained: its free objects are on the CPU's freelist). */
void mm_leak_slab_use(struct mm_machine *m, const struct mm_replay *r, const uint32_t *id, uint32_t n,
		      uint32_t *slab, uint8_t *order, uint32_t *inuse, uint32_t *objects, uint8_t *active);

/* Every non-zero word of the n objects: (object index, value), at most cap of them;
 * returns how many there are (call again with more room if that exceeds cap). */
uint64_t mm_leak_words(struct mm_machine *m, const uint64_t *addr, const uint64_t *size, uint32_t n,
		       uint32_t *src, uint64_t *value, uint64_t cap);

/*
 * Classify n objects from their references (CSR: the targets of object i are
 * col[row[i] .. row[i+1]), interior[k] set where the pointer is not to the target's
 * start) and root flags. Reachable: a chain of start pointers from a root; possibly
 * lost: reached only through chains with an interior pointer; definitely lost: no
 * pointer from any other unreached object (or the first of a cycle of them);
 * indirectly lost: reached from definitely lost objects. queue holds n entries.
 */
void mm_leak_classify(uint32_t n, const uint32_t *row, const uint32_t *col, const uint8_t *interior,
		      const uint8_t *root, uint8_t *kind, uint32_t *queue);

#endif
