/*
 * thermal.h - a per-node thermal model in simulated time (struct mm_thermal, mm_types.h).
 *
 * Each node has a temperature in millidegrees Celsius above ambient:
 * - heat: every access that lands on the node adds heat_access; every page the node's
 *   allocator hands out (its pgalloc count, slab and large-kmalloc pages included) adds
 *   heat_page. Heat is added from the machine's counters (node_access, pgalloc) when the
 *   temperature is next needed: a TIME record, a thermal policy decision, a reader. Between TIME
 *   records a temperature only rises, so this gives the same temperatures and peaks as heating
 *   at every event, at no cost to accesses and allocations;
 * - cooling (Newton's law): the temperature halves every half_life_ns of simulated time. TIME
 *   records advance it in whole steps of half_life_ns / 64, each multiplying by 2^(-1/64)
 *   (a Q16 table: t = (t >> (steps / 64)) * table[steps % 64] >> 16, rounded down); time
 *   short of a step carries over to the next TIME record;
 * - throttling: a node above `throttle` is throttled. A TIME interval counts in the node's
 *   throttled_ns when the node is above the throttle as the interval starts.
 * The model is off (nothing heats, nothing is counted) while heat_access and heat_page are 0.
 * Integer arithmetic only (64-bit division through mm_math.h): the guest runs it as the host.
 */
#ifndef MM_THERMAL_H
#define MM_THERMAL_H

#include "mm_types.h"

#define MM_THERMAL_MAX (1ull << 47)   /* temperatures saturate here (the step multiply stays in 64 bits) */

/* Switch the model on (or off with both heats 0). Returns 0, or -1 when half_life_ns is not a
 * positive multiple of MM_THERMAL_STEPS while a heat is set. Temperatures start at 0. */
int mm_thermal_setup(struct mm_machine *m, uint32_t heat_access, uint32_t heat_page, uint64_t half_life_ns,
		     uint64_t throttle);

static inline int mm_thermal_on(const struct mm_machine *m)
{
	return m->thermal.heat_access || m->thermal.heat_page;
}

/* A node's temperature now: the last one plus the heat of the accesses and pages since. */
uint64_t mm_thermal_now(const struct mm_machine *m, uint32_t nid);
/* Add that heat to every node (temperatures and peaks up to date). */
void mm_thermal_sync(struct mm_machine *m);
/* ns of simulated time pass (a TIME record): throttled time, then cooling. */
void mm_thermal_advance(struct mm_machine *m, uint64_t ns);

#endif
