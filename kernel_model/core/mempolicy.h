/*
 * mempolicy.h - memory policies, after Linux 6.1 mm/mempolicy.c: per CPU (task), which
 * node an allocation without a node prefers and which nodes it may use. Modes: default and
 * local, preferred, preferred_many, bind, interleave, weighted interleave (6.9's
 * MPOL_WEIGHTED_INTERLEAVE), and the model's access-aware mode (local order, skipping nodes
 * that received many accesses recently) and thermal mode (local order, skipping nodes above
 * the thermal model's throttle temperature, core/thermal.h). Bandwidth-aware interleave is weighted interleave
 * with weights from the HMAT bandwidths (Machine.set_bandwidth_aware).
 */
#ifndef MM_MEMPOLICY_H
#define MM_MEMPOLICY_H

#include "mm_types.h"

/* accesses after which the access-aware counts are halved */
#define MM_ACCESS_WINDOW 4096

/* Every CPU on the default policy, weights 1; called by mm_machine_init. */
void mm_mempolicy_init(struct mm_machine *m);
/* alloc_pages without a node: the page allocator's part, with the preferred node and the
 * allowed nodes of cpu's policy. Arguments as mm_alloc_pages checked them. */
uint32_t mm_alloc_pages_policy(struct mm_machine *m, uint32_t order, uint32_t mt, uint32_t cpu);
/* Set a CPU's memory policy (mode, nodemask; for MPOL_ACCESS_AWARE the threshold instead of a
 * nodemask; for MPOL_THERMAL the allowed nodes, 0 for all); resets its interleave position. Weights of weighted interleave stay as set with
 * mm_set_il_weight (default 1). Returns 0, or -1 if the cpu, mode or nodemask is invalid for
 * this machine. */
int mm_set_mempolicy(struct mm_machine *m, uint32_t cpu, uint32_t mode, uint64_t nodes);
/* Weighted interleave: node's weight (1..255) for cpu. Returns 0, or -1 if out of range. */
int mm_set_il_weight(struct mm_machine *m, uint32_t cpu, uint32_t node, uint32_t weight);
/* An access landed on node: feeds the access-aware policy's recent counts. */
void mm_note_access(struct mm_machine *m, uint32_t node);

#endif
