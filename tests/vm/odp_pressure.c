// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * odp_test --pressure: MADV_PAGEOUT and memory pressure (swap and a
 * cgroup memory limit, set up by suites/52-odp.sh), every byte verified.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "odp_test.h"

size_t pressure_mib = 64;

/* memory.max of this process's cgroup (v2) in bytes; 0: none. */
static uint64_t cgroup_max(void)
{
	char line[512], path[600];
	uint64_t max = 0;
	FILE *f;

	f = fopen("/proc/self/cgroup", "r");
	if (!f)
		return 0;
	path[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(path, sizeof(path),
				 "/sys/fs/cgroup%s/memory.max", line + 3);
		}
	fclose(f);
	if (!path[0] || !vt_read_u64(path, &max))
		return 0;
	return max;
}

/* A /proc/vmstat value (0 when missing). */
static uint64_t vmstat(const char *key)
{
	uint64_t v;

	return vt_read_field("/proc/vmstat", key, &v) ? v : 0;
}

static bool swap_on(void)
{
	FILE *f = fopen("/proc/swaps", "r");
	char line[256];
	int n = 0;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n > 1;
}

/*
 * Memory pressure: the process runs in a cgroup whose memory.max is
 * smaller than the ODP target, with swap on (zram, set up by the suite).
 * Every MiB of the target is written through the NIC (some pages must go
 * to swap and their mirror be invalidated), read back through the NIC
 * (pages faulted back in) and by the CPU; every byte is checked.
 */
void test_pressure(void **state)
{
	struct tcase *tc = *state;
	size_t len = pressure_mib * MIB, i, n = pressure_mib;
	uint64_t max = cgroup_max(), out0, in0;
	struct buf *t, *src, *l;
	struct cnts before, d;
	struct conn *c;
	char what[120];
	int64_t t0;

	if (!max) {
		vt_diag("not in a cgroup with a memory.max%s%s",
			getenv("ODP_PRESSURE_SETUP") ? ": " : "",
			getenv("ODP_PRESSURE_SETUP") ?: "");
		skip();
	}
	if (!swap_on()) {
		vt_diag("no swap is on");
		skip();
	}
	vt_diag("memory.max %" PRIu64 " MiB, ODP target %zu MiB", max / MIB,
		pressure_mib);
	CHECK(len > max, "the target is not larger than memory.max");
	c = conn_open(tc);
	t = obuf(tc, &tc->sb, len);
	src = obuf(tc, &tc->sa, MIB);
	l = obuf(tc, &tc->sa, MIB);

	t0 = vt_now_ms();
	out0 = vmstat("pswpout");
	in0 = vmstat("pswpin");
	snap(tc, &before);
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "WRITE of MiB %zu", i);
		fill_pat(src->mem, MIB, 1000 + (uint32_t)i);
		do_write(c, src, 0, t, i * MIB, MIB, IBV_WC_SUCCESS, what);
	}
	since(tc, &before, &d);
	vt_diag("WRITE pass: %" PRId64 " ms, pswpout +%" PRIu64 ", odp_faults +%" PRIu64 " (%" PRIu64 " pages), odp_invalidations +%" PRIu64 " (%" PRIu64 " pages)",
		vt_now_ms() - t0, vmstat("pswpout") - out0, d.v[VT_C_FAULTS],
		d.v[VT_C_FAULT_PAGES], d.v[VT_C_INVALS], d.v[VT_C_INVAL_PAGES]);
	CHECK(vmstat("pswpout") > out0,
	      "no page was swapped out: no memory pressure");
	CHECK(d.v[VT_C_INVAL_PAGES] > 0,
	      "reclaim invalidated no mirrored page (odp_inval_pages +0)");

	t0 = vt_now_ms();
	snap(tc, &before);
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "READ of MiB %zu", i);
		read_pat(tc, c, l, t, i * MIB, MIB, 1000 + (uint32_t)i, what);
	}
	since(tc, &before, &d);
	vt_diag("READ pass: %" PRId64 " ms, pswpin +%" PRIu64 ", odp_faults +%" PRIu64 " (%" PRIu64 " pages)",
		vt_now_ms() - t0, vmstat("pswpin") - in0, d.v[VT_C_FAULTS],
		d.v[VT_C_FAULT_PAGES]);
	CHECK(d.v[VT_C_FAULT_PAGES] > 0,
	      "the READ pass faulted no page back in");
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "CPU's view of MiB %zu", i);
		expect_pat(tc, what, t->mem + i * MIB, MIB,
			   1000 + (uint32_t)i);
	}
}

/*
 * MADV_PAGEOUT (swap must be on): pages the NIC wrote go to swap, their
 * mirror is invalidated; a READ faults them back in and returns the
 * data; a WRITE then is what the CPU reads.
 */
void test_pageout(void **state)
{
	struct tcase *tc = *state;
	size_t len = 4 * MIB;
	struct buf *r, *src, *l;
	struct cnts before, d;
	uint64_t out0;
	struct conn *c;

	if (!swap_on()) {
		vt_diag("no swap is on");
		skip();
	}
	c = conn_open(tc);
	obuf3(tc, len, &r, &src, &l);
	fill_pat(src->mem, len, 211);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS, "WRITE");
	out0 = vmstat("pswpout");
	snap(tc, &before);
	madv(r->mem, len, MADV_PAGEOUT, "MADV_PAGEOUT");
	since(tc, &before, &d);
	vt_diag("MADV_PAGEOUT of 4 MiB: pswpout +%" PRIu64 ", odp_inval_pages +%" PRIu64,
		vmstat("pswpout") - out0, d.v[VT_C_INVAL_PAGES]);
	CHECK(vmstat("pswpout") - out0 >= len / PAGE / 2,
	      "MADV_PAGEOUT swapped out %" PRIu64 " pages of %zu",
	      vmstat("pswpout") - out0, len / PAGE);
	CHECK(d.v[VT_C_INVAL_PAGES] >= vmstat("pswpout") - out0,
	      "odp_inval_pages +%" PRIu64 " for %" PRIu64 " pages swapped out",
	      d.v[VT_C_INVAL_PAGES], vmstat("pswpout") - out0);
	fill_pat(l->mem, len, G_BACK);
	xfer_faults(tc, c, IBV_WR_RDMA_READ, l, 0, r, 0, len, 1,
		    "READ of swapped pages");
	expect_pat(tc, "READ of swapped pages", l->mem, len, 211);
	madv(r->mem, len, MADV_PAGEOUT, "MADV_PAGEOUT");
	write_inside(tc, c, src, r, len, 1, 211, "WRITE over swapped pages",
		     "WRITE over swapped pages (CPU)");
}
