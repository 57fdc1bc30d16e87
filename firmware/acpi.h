/*
 * acpi.h - the NUMA topology from ACPI, as QEMU builds it: RSDP (revision 0, RSDT only)
 * in 0xE0000-0xFFFFF, SRAT (CPU and memory affinity), SLIT (distances), HMAT (latency).
 */
#ifndef FW_ACPI_H
#define FW_ACPI_H

#include "results.h"

/* Fill nodes, CPUs, distances and latencies of r from the ACPI tables. Returns the number
 * of proximity domains with memory or CPUs, 0 without SRAT (one node then), -1 if too many. */
int acpi_topology(struct fw_results *r);

#endif
