// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * odp_test [OPTIONS] A:B...: On-Demand Paging memory regions on rodp
 * (cmocka; run in the guest by suites/52-odp.sh with TAP output).
 *
 * For each pairing A:B one process opens both devices and connects RC QPs
 * on A (the requester) to QPs on B, as rc_test does.  The memory on both
 * sides is ODP: an explicit ODP MR per buffer ("explicit" tests) or one
 * implicit ODP MR per protection domain, ibv_reg_mr(pd, NULL, SIZE_MAX,
 * IBV_ACCESS_ON_DEMAND | ...), used at the buffers' virtual addresses
 * ("implicit" tests).  Every test checks the data byte for byte, not only
 * the completions, and what the CPU sees after the NIC wrote.
 *
 * Covered: query_device_ex's odp_caps; registration without pinning
 * (RLIMIT_MEMLOCK 0 without CAP_IPC_LOCK, VmPin 0); anonymous memory
 * (RDMA WRITE, RDMA READ, SEND, atomics; cold and warm passes, read from
 * the ODP hardware counters); untouched memory and the zero page;
 * MADV_DONTNEED between passes; mprotect to PROT_READ/PROT_NONE and back
 * (remote and local protection errors); PROT_NONE, read-only pages and
 * holes next to the pages a transfer touches; read-only and MAP_PRIVATE
 * file mappings; atomics (zero page, fork, PROT_READ, DONTNEED);
 * addresses outside the MRs, an iova unlike the address; SGE lists
 * mixing ODP and pinned MRs; two QPs faulting the same pages; source and
 * target in one MR and one mirror block; userfaultfd; munmap (also while
 * WRITEs run), ibv_dereg_mr while WRITEs run, mremap, remap cycles,
 * overlapping MRs, ibv_rereg_mr, a 64 GiB MR; MADV_DONTNEED racing
 * transfers; fork() without MADV_DONTFORK (copy-on-write after the child
 * or the parent writes); MAP_SHARED anonymous memory, memfd, a MAP_SHARED
 * file, a 9p file; page migration (MADV_SOFT_OFFLINE), a poisoned page
 * (MADV_HWPOISON); transparent huge pages (and MADV_COLLAPSE) and hugetlb
 * pages; ibv_advise_mr (prefetch with and without FLUSH, its errors); a
 * peer process that exits or is killed while WRITEs and READs run into
 * (or out of) its ODP MR; and, with --pressure, MADV_PAGEOUT and memory
 * pressure (swap and a cgroup memory limit, set up by the suite) with
 * every byte verified.
 *
 * The counters come from RDMA netlink (what `rdma statistic` shows),
 * or from /sys/class/infiniband/<dev>/ports/1/hw_counters/odp_*: the
 * program runs in the initial network namespace (sysfs is mounted again
 * under `ip netns exec`).  A transfer that does not complete in time
 * gets a stall report: QP states, device counters, 30 s more.
 *
 * A pairing A:B@explicit or A:B@implicit runs the tests that have both
 * modes in that mode only.
 *
 * Options:
 *   --only GLOBS        run only the tests whose name ("A:B what mode")
 *                       matches one of the comma-separated patterns
 *   --count             print the number of tests that would run
 *   --pressure          add the memory pressure tests (they skip unless
 *                       the process runs in a cgroup with memory.max and
 *                       swap is on)
 *   --pressure-mib N    their working set (default 64 MiB)
 *   --tmp DIR           where the MAP_SHARED file goes (default /tmp)
 * ODP_TEST_VERBOSE=1 prints the time each test took.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include "odp_test.h"

/* Each device's hw_counters lifespan before main() set it to 0. */
static char lifespan[VT_MAX_DEVS][16];

/* ---------------------------------------------------------------------- */
/* Test list and main                                                      */
/* ---------------------------------------------------------------------- */

enum { ONE = 1, BOTH = 2, PRESSURE = 4, SAMEDEV = 8 };

struct kind {
	const char *name;
	void (*fn)(void **state);
	unsigned int modes;
};

static const struct kind pair_kinds[] = {
	{ "no pinning", test_nopin, ONE },
	{ "anon", test_anon, BOTH },
	{ "untouched", test_zero, BOTH },
	{ "dontneed", test_dontneed, BOTH },
	{ "mprotect", test_mprotect, BOTH },
	{ "neighbours", test_neighbours, BOTH },
	{ "read-only", test_readonly, BOTH },
	{ "atomics", test_atomics, BOTH },
	{ "bounds", test_bounds, BOTH },
	{ "mixed sges", test_mixed, ONE },
	{ "two qps", test_two_qps, BOTH },
	{ "same MR", test_same_mr, BOTH | SAMEDEV },
	{ "userfaultfd", test_uffd, BOTH },
	{ "munmap", test_munmap, BOTH },
	{ "dereg under traffic", test_dereg, BOTH },
	{ "truncate under traffic", test_truncate, BOTH },
	{ "mremap", test_mremap, BOTH },
	{ "remap cycles", test_remap_cycles, BOTH },
	{ "rereg", test_rereg, ONE },
	{ "overlapping MRs", test_overlap, ONE },
	{ "64 GiB MR", test_bigmr, BOTH },
	{ "invalidation race", test_race, BOTH },
	{ "fork", test_fork, BOTH },
	{ "shared anon", test_shared_anon, BOTH },
	{ "memfd", test_memfd, BOTH },
	{ "shared file", test_file, BOTH },
	{ "migration", test_migrate, BOTH },
	{ "hwpoison", test_hwpoison, BOTH },
	{ "9p file", test_9p_file, BOTH },
	{ "thp", test_thp, BOTH },
	{ "thp collapse", test_collapse, BOTH },
	{ "hugetlb", test_hugetlb, BOTH },
	{ "advise", test_advise, BOTH },
	{ "peer exit", test_exit, BOTH },
	{ "peer killed", test_kill, BOTH },
	{ "requester exit", test_req_exit, BOTH },
	{ "requester killed", test_req_kill, BOTH },
	{ "killed in a fault", test_stall_kill, BOTH },
	{ "requester killed in a fault", test_stall_req_kill, BOTH },
	{ "pageout", test_pageout, BOTH | PRESSURE },
	{ "pressure", test_pressure, BOTH | PRESSURE },
};

static int tc_teardown(void **state)
{
	struct tcase *tc = *state;
	struct side *sides[2] = { &tc->sa, &tc->sb };
	unsigned int i;

	if (verbose)
		vt_diag("%s: %" PRId64 " ms", tc->vc.name, vt_tc_ms());
	for (i = 0; i < tc->nkids; i++)
		kid_reap(&tc->kids[i]);
	tc->nkids = 0;
	/* rodp-stallfs of a test that failed: the daemon is gone now. */
	if (tc->stall_ev)
		fclose(tc->stall_ev);
	tc->stall_ev = NULL;
	if (tc->stall_dir[0]) {
		umount2(tc->stall_dir, MNT_DETACH);
		rmdir(tc->stall_dir);
	}
	tc->stall_dir[0] = '\0';
	if (tc->restore_cap)
		cap_ipc_lock(true);
	if (tc->restore_rlim)
		setrlimit(RLIMIT_MEMLOCK, &tc->rlim);
	tc->restore_cap = tc->restore_rlim = false;
	cur_conn = NULL;
	for (i = 0; i < tc->nconns; i++) {
		ep_close(&tc->conns[i]->a);
		ep_close(&tc->conns[i]->b);
		free(tc->conns[i]);
	}
	tc->nconns = 0;
	for (i = tc->nbufs; i-- > 0;) {
		struct buf *b = &tc->bufs[i];

		if (b->mr)
			ibv_dereg_mr(b->mr);
		if (b->map)
			munmap(b->map, b->map_len);
		if (b->fd >= 0)
			close(b->fd);
	}
	tc->nbufs = 0;
	for (i = 0; i < 2; i++) {
		if (sides[i]->imr)
			ibv_dereg_mr(sides[i]->imr);
		if (sides[i]->pd)
			ibv_dealloc_pd(sides[i]->pd);
		memset(sides[i], 0, sizeof(*sides[i]));
	}
	vt_tc_free(&tc->vc);
	free(tc->scratch);
	tc->scratch = NULL;
	tc->scratch_len = 0;
	if (tc->tmpfile[0])
		unlink(tc->tmpfile);
	tc->tmpfile[0] = '\0';
	return 0;
}

static struct vt_tests list = {
	.prog = "odp_test", .teardown = tc_teardown,
};
static struct tcase *tcases;

/* add_test(fn, fmt, ...): the case of a new test named as fmt says. */
#define add_test(...)	((struct tcase *)vt_add_test(&list, __VA_ARGS__))

/*
 * Set the hw_counters lifespan (ms) of device @i's port 1 to @ms, keeping
 * the old value in lifespan[@i] the first time; false when that failed.
 */
static bool lifespan_set(unsigned int i, const char *ms)
{
	char path[256], *old = lifespan[i];
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), VT_HW_DIR "/lifespan", vt_devs[i].name);
	if (!old[0]) {
		f = fopen(path, "r");
		if (!f || !fgets(old, sizeof(lifespan[i]), f))
			old[0] = '\0';
		if (f)
			fclose(f);
		old[strcspn(old, "\n")] = '\0';
	}
	f = fopen(path, "w");
	if (f) {
		ok = fputs(ms, f) >= 0;
		ok &= !fclose(f);
	}
	return ok;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: odp_test [--count] [--only GLOB[,GLOB...]] [--pressure] [--pressure-mib N] [--tmp DIR] A:B[@explicit|@implicit]...\n"
		"       (ODP_TEST_VERBOSE=1 times each test)\n");
	exit(2);
}

static struct pairing *add_pairing(struct pairing *pairs, unsigned int *n,
				   const char *spec_in)
{
	char a[64], b[64], spec[140], *at;
	const char *colon;
	int only_mode = -1;

	if (strlen(spec_in) >= sizeof(spec))
		usage();
	strcpy(spec, spec_in);
	at = strchr(spec, '@');
	if (at) {
		*at++ = '\0';
		if (!strcmp(at, mode_names[M_EXPLICIT]))
			only_mode = M_EXPLICIT;
		else if (!strcmp(at, mode_names[M_IMPLICIT]))
			only_mode = M_IMPLICIT;
		else
			usage();
	}
	colon = strchr(spec, ':');

	if (!colon || colon == spec || !colon[1] ||
	    (size_t)(colon - spec) >= sizeof(a) ||
	    strlen(colon + 1) >= sizeof(b) || *n == 16)
		usage();
	memcpy(a, spec, (size_t)(colon - spec));
	a[colon - spec] = '\0';
	strcpy(b, colon + 1);
	pairs[*n].a = vt_dev_get(a, false);
	pairs[*n].b = vt_dev_get(b, false);
	if (!pairs[*n].a || !pairs[*n].b)
		usage();
	snprintf(pairs[*n].name, sizeof(pairs[*n].name), "%s:%s", a, b);
	pairs[*n].only_mode = only_mode;
	return &pairs[(*n)++];
}

int main(int argc, char **argv)
{
	static struct pairing pairs[16];
	unsigned int npairs = 0, i, k, m;
	bool count = false, pressure = false;
	int ai, failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	vt_set_fail_hook(_fail);
	if (argc == 5 && !strcmp(argv[1], "--exit-child"))
		return exit_child(argv[2], argv[3], argv[4]);
	verbose = getenv("ODP_TEST_VERBOSE") && *getenv("ODP_TEST_VERBOSE");
	for (ai = 1; ai < argc; ai++) {
		if (!strcmp(argv[ai], "--count")) {
			count = true;
		} else if (!strcmp(argv[ai], "--only") && ai + 1 < argc) {
			list.only = argv[++ai];
		} else if (!strcmp(argv[ai], "--pressure")) {
			pressure = true;
		} else if (!strcmp(argv[ai], "--pressure-mib") &&
			   ai + 1 < argc) {
			pressure_mib = strtoul(argv[++ai], NULL, 0);
			if (!pressure_mib)
				usage();
		} else if (!strcmp(argv[ai], "--tmp") && ai + 1 < argc) {
			tmp_dir = argv[++ai];
		} else if (argv[ai][0] == '-') {
			usage();
		} else {
			add_pairing(pairs, &npairs, argv[ai]);
		}
	}
	if (!npairs)
		usage();

	vt_tests_alloc(&list, vt_ndevs + npairs * 2 * ARRAY_SIZE(pair_kinds),
		       sizeof(*tcases));
	tcases = list.cases;
	for (i = 0; i < vt_ndevs; i++)
		add_test(test_caps, "%s odp caps", vt_devs[i].name)->dev =
			&vt_devs[i];
	for (i = 0; i < npairs; i++) {
		for (k = 0; k < ARRAY_SIZE(pair_kinds); k++) {
			const struct kind *kd = &pair_kinds[k];

			if ((kd->modes & PRESSURE) && !pressure)
				continue;
			if ((kd->modes & SAMEDEV) && pairs[i].a != pairs[i].b)
				continue;
			for (m = M_EXPLICIT; m <= M_IMPLICIT; m++) {
				struct tcase *tc;

				if (kd->modes & ONE) {
					tc = add_test(kd->fn, "%s %s",
						      pairs[i].name,
						      kd->name);
					tc->mode = M_NONE;
					tc->pair = &pairs[i];
					break;
				}
				if (pairs[i].only_mode >= 0 &&
				    pairs[i].only_mode != (int)m)
					continue;
				tc = add_test(kd->fn, "%s %s %s",
					      pairs[i].name, kd->name,
					      mode_names[m]);
				tc->mode = (enum mode)m;
				tc->pair = &pairs[i];
			}
		}
	}
	for (i = 0; i < list.cap; i++)
		for (k = 0; k < MAX_KIDS; k++)
			tcases[i].kids[k].cmd = tcases[i].kids[k].reply = -1;
	if (count) {
		printf("%u\n", list.n);
		return 0;
	}
	lifespan_zero = true;
	for (i = 0; i < vt_ndevs; i++) {
		struct cnts c = { { 0 } };

		lifespan_zero &= lifespan_set(i, "0");
		if (use_netlink && vt_devs[i].ctx &&
		    !vt_nl_counters_add(vt_devs[i].index, vt_odp_cnt_names,
					VT_C_ODP_NUM, c.v)) {
			printf("# %s: no ODP counters through RDMA netlink, reading sysfs\n",
			       vt_devs[i].name);
			use_netlink = false;
		}
	}
	if (!list.n) {
		fprintf(stderr, "odp_test: no test matches --only %s\n",
			list.only);
		return 2;
	}
	failed = _cmocka_run_group_tests("odp", list.tests, list.n, NULL,
					 NULL);
	for (i = 0; i < vt_ndevs; i++)
		if (lifespan[i][0])
			lifespan_set(i, lifespan[i]);
	vt_devs_close();
	return failed ? 1 : 0;
}
