/* acpi.c - SRAT, SLIT and HMAT (see acpi.h). */
#include "acpi.h"
#include "fw.h"

static const uint8_t *find_rsdp(void)
{
	uintptr_t p;

	for (p = 0xE0000; p < 0x100000; p += 16)
		if (!memcmp((const void *)p, "RSD PTR ", 8))
			return (const uint8_t *)p;
	return 0;
}

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const uint8_t *find_table(const char *sig)
{
	const uint8_t *rsdp = find_rsdp(), *rsdt;
	uint32_t i, n;

	if (!rsdp)
		return 0;
	rsdt = (const uint8_t *)(uintptr_t)rd32(rsdp + 16);
	n = (rd32(rsdt + 4) - 36) / 4;
	for (i = 0; i < n; i++) {
		const uint8_t *t = (const uint8_t *)(uintptr_t)rd32(rsdt + 36 + 4 * i);

		if (!memcmp(t, sig, 4))
			return t;
	}
	return 0;
}

/* Node index of a proximity domain: QEMU numbers them 0..n-1 like its node ids. */
static int node_of(uint32_t pd)
{
	return pd < FW_MAX_NODES ? (int)pd : -1;
}

static int srat(struct fw_results *r, const uint8_t *t)
{
	uint32_t len = rd32(t + 4), off = 48;
	int top = -1;

	while (off + 2 <= len) {
		const uint8_t *e = t + off;
		uint32_t elen = e[1];

		if (elen < 2)
			break;
		if (e[0] == 0 && elen >= 16 && (rd32(e + 4) & 1)) {          /* processor local APIC */
			int nid = node_of(e[2] | (uint32_t)e[9] << 8 | (uint32_t)e[10] << 16 | (uint32_t)e[11] << 24);
			struct fw_node *n;

			if (nid < 0 || r->nr_cpus >= FW_MAX_CPUS)
				return -1;
			n = &r->node[nid];
			if (n->nr_cpus < FW_MAX_CPUS)
				n->cpu_apic[n->nr_cpus++] = e[3];
			r->cpu_to_node[r->nr_cpus++] = (uint32_t)nid;
			top = nid > top ? nid : top;
		} else if (e[0] == 1 && elen >= 40 && (rd32(e + 28) & 1) && (rd32(e + 16) | rd32(e + 20))) {
			int nid = node_of(rd32(e + 2));                      /* memory affinity */
			struct fw_node *n;

			if (nid < 0)
				return -1;
			n = &r->node[nid];
			if (n->nr_srat >= FW_MAX_RANGES)
				return -1;
			n->srat_base_lo[n->nr_srat] = rd32(e + 8);
			n->srat_base_hi[n->nr_srat] = rd32(e + 12);
			n->srat_len_lo[n->nr_srat] = rd32(e + 16);
			n->srat_len_hi[n->nr_srat] = rd32(e + 20);
			n->nr_srat++;
			top = nid > top ? nid : top;
		}
		off += elen;
	}
	return top + 1;
}

static void slit(struct fw_results *r, const uint8_t *t)
{
	uint32_t n = rd32(t + 36), i, j;   /* the count is 64-bit; its high half is 0 */

	for (i = 0; i < n && i < FW_MAX_NODES; i++)
		for (j = 0; j < n && j < FW_MAX_NODES; j++)
			r->distance[i][j] = t[44 + i * n + j];
	r->has_slit = 1;
}

/* HMAT System Locality Latency and Bandwidth Information (type 1), access or read latency. */
static void hmat(struct fw_results *r, const uint8_t *t)
{
	uint32_t len = rd32(t + 4), off = 40;

	r->has_hmat = 1;
	while (off + 8 <= len) {
		const uint8_t *e = t + off;
		uint32_t type = e[0] | (uint32_t)e[1] << 8, elen = rd32(e + 4);

		if (elen < 8)
			break;
		if (type == 1 && e[9] <= 1) {
			uint32_t ni = rd32(e + 12), nt = rd32(e + 16), base = rd32(e + 24), i, k;
			const uint8_t *init = e + 32, *targ = init + 4 * ni, *ent = targ + 4 * nt;

			for (i = 0; i < ni; i++)
				for (k = 0; k < nt; k++) {
					int a = node_of(rd32(init + 4 * i)), b = node_of(rd32(targ + 4 * k));
					uint32_t v = ent[2 * (i * nt + k)] | (uint32_t)ent[2 * (i * nt + k) + 1] << 8;

					if (a >= 0 && b >= 0)
						r->hmat_latency[a][b] = v * base / 1000;   /* picoseconds -> ns */
				}
		}
		off += elen;
	}
}

int acpi_topology(struct fw_results *r)
{
	const uint8_t *t = find_table("SRAT");
	int n;

	if (!t)
		return 0;
	n = srat(r, t);
	if (n < 0)
		return -1;
	if ((t = find_table("SLIT")))
		slit(r, t);
	if ((t = find_table("HMAT")))
		hmat(r, t);
	return n;
}
