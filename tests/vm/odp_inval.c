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
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "common.h"

#define MAX_BUFS	40
#define MAX_CONNS	24
#define MAX_KIDS	4
#define KIB		1024u
#define MIB		(1024u * 1024u)
#define PAGE		4096u
#define BLOCK		(2 * MIB)	/* the kernel's mirror block */
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define ZERO		0u		/* "seed" of an all-zero pattern */

/* ---------------------------------------------------------------------- */
/* ODP hardware counters                                                   */
/* ---------------------------------------------------------------------- */

static bool verbose;
static bool lifespan_zero;	/* main() set the sysfs lifespan to 0 */
static bool use_netlink = true;	/* until it fails once */
/* Each device's hw_counters lifespan before main() set it to 0. */
static char lifespan[VT_MAX_DEVS][16];

struct cnts {
	uint64_t v[VT_C_ODP_NUM];
};

/* Add device @d's ODP counters to @c. */
static void dev_cnts_add(const struct vt_dev *d, struct cnts *c)
{
	uint64_t v;
	int i;

	if (use_netlink && vt_nl_counters_add(d->index, vt_odp_cnt_names,
					      VT_C_ODP_NUM, c->v))
		return;
	/* sysfs keeps hw counters for their lifespan, at least a jiffy. */
	usleep(lifespan_zero ? 10000 : 30000);
	for (i = 0; i < VT_C_ODP_NUM; i++) {
		CHECK(vt_hw_counter(d->name, vt_odp_cnt_names[i], &v),
		      "cannot read " VT_HW_DIR "/%s: %s", d->name,
		      vt_odp_cnt_names[i], strerror(errno));
		c->v[i] += v;
	}
}

/* Counter @name of the test's devices, summed; for diagnostics. */
static uint64_t hw_counter(const struct vt_dev *a, const struct vt_dev *b,
			   const char *name)
{
	uint64_t v, sum = 0;

	if (vt_hw_counter(a->name, name, &v))
		sum += v;
	if (b != a && vt_hw_counter(b->name, name, &v))
		sum += v;
	return sum;
}

/* ---------------------------------------------------------------------- */
/* Patterns and comparisons                                                */
/* ---------------------------------------------------------------------- */

/* Fill @p with a byte stream that depends on @seed (ZERO: zeros). */
static void fill_pat(void *dst, size_t len, uint32_t seed)
{
	if (seed == ZERO)
		memset(dst, 0, len);
	else
		vt_fill(dst, len, seed);
}

/* Pages of 4 KiB that [p + off, p + off + len) touches. */
static size_t npages(const void *p, size_t off, size_t len)
{
	uintptr_t s = (uintptr_t)p + off;

	return len ? (s + len - 1) / PAGE - s / PAGE + 1 : 0;
}

/*
 * Compare @got with @want over @size bytes; report the first difference
 * (relative to the region [@off, @off + @len) the data should be in).
 */
static bool same(const char *what, const uint8_t *got, const uint8_t *want,
		 size_t size, size_t off, size_t len)
{
	size_t i, n;

	if (!memcmp(got, want, size))
		return true;
	for (i = 0; got[i] == want[i]; i++)
		;
	if (i >= off && i < off + len)
		vt_diag("%s: first difference at byte %zu of the %zu-byte data: got 0x%02x, want 0x%02x",
			what, i - off, len, got[i], want[i]);
	else if (i < off)
		vt_diag("%s: byte %zu before the data changed: got 0x%02x, want 0x%02x",
			what, off - i, got[i], want[i]);
	else
		vt_diag("%s: byte %zu after the data's end changed: got 0x%02x, want 0x%02x",
			what, i - off - len, got[i], want[i]);
	for (n = 0; i < size; i++)
		n += got[i] != want[i];
	vt_diag("%s: %zu of %zu bytes differ from the first difference on",
		what, n, size);
	return false;
}

/* ---------------------------------------------------------------------- */
/* Test cases and what they hold                                           */
/* ---------------------------------------------------------------------- */

enum mode { M_EXPLICIT, M_IMPLICIT, M_NONE };

static const char *const mode_names[] = {
	[M_EXPLICIT] = "explicit", [M_IMPLICIT] = "implicit", [M_NONE] = "",
};

struct pairing {
	struct vt_dev *a, *b;
	char name[140];
	int only_mode;		/* -1: both modes */
};

/**
 * struct side - one device's end of a test: its PD and implicit MR
 * @dev: the device
 * @pd: the protection domain all of the test's buffers there use
 * @imr: the implicit ODP MR on @pd (NULL until first used)
 */
struct side {
	struct vt_dev *dev;
	struct ibv_pd *pd;
	struct ibv_mr *imr;
};

enum bkind { B_NONE, B_PINNED, B_ODP, B_IMPLICIT };

/**
 * struct buf - a buffer and how the NIC reaches it
 * @mem: the buffer
 * @size: its size
 * @map, @map_len: the mapping to unmap after the test (@map NULL: none)
 * @fd: a file to close after the test, or -1
 * @mr: its own MR (explicit ODP or pinned), NULL otherwise
 * @lkey, @rkey: the keys to use (@mr's, or the side's implicit MR's)
 */
struct buf {
	uint8_t *mem;
	size_t size;
	void *map;
	size_t map_len;
	int fd;
	struct ibv_mr *mr;
	uint32_t lkey, rkey;
};

struct ep {
	struct side *side;
	struct ibv_cq *scq, *rcq;
	struct ibv_qp *qp;
	uint32_t psn;
};

struct conn {
	struct ep a, b;
	struct vt_path path;
};

/* A child process the test started and must not leave behind. */
struct kid {
	pid_t pid;
	int cmd, reply;		/* the parent's ends of the pipes */
};

/**
 * struct tcase - one cmocka test: what it tests and what it holds
 * @vc: its name ("A:B what mode") and test function
 * @pair: the pairing (NULL for a per-device test)
 * @dev: the device of a per-device test
 * @mode: explicit or implicit ODP
 * @sa, @sb: the two sides (A, the requester; B)
 * @conns, @bufs, @kids: released after the test, passed or not (and
 *	what vt_tc_alloc() gave)
 * @scratch: a buffer for expected data
 * @rlim, @restore_rlim, @restore_cap: what test_nopin changed
 */
struct tcase {
	struct vt_case vc;
	struct pairing *pair;
	struct vt_dev *dev;
	enum mode mode;
	struct side sa, sb;
	struct conn *conns[MAX_CONNS];
	unsigned int nconns;
	struct buf bufs[MAX_BUFS];
	unsigned int nbufs;
	struct kid kids[MAX_KIDS];
	unsigned int nkids;
	uint8_t *scratch;
	size_t scratch_len;
	struct rlimit rlim;
	bool restore_rlim, restore_cap;
	char tmpfile[256];
};

static const char *tmp_dir = "/tmp";

/* A scratch buffer of @len bytes (valid until the next call). */
static uint8_t *scratch(struct tcase *tc, size_t len)
{
	if (len > tc->scratch_len) {
		free(tc->scratch);
		tc->scratch = malloc(len);
		CHECK(tc->scratch, "out of memory (%zu bytes)", len);
		tc->scratch_len = len;
	}
	return tc->scratch;
}

/*
 * @got (@size bytes) must hold @guard's pattern except [@off, @off +
 * @len), which must hold @data (NULL: zeros).
 */
static void expect_region(struct tcase *tc, const char *what,
			  const uint8_t *got, size_t size, size_t off,
			  const void *data, size_t len, uint32_t guard)
{
	uint8_t *want = scratch(tc, size);

	fill_pat(want, size, guard);
	if (data)
		memcpy(want + off, data, len);
	else
		memset(want + off, 0, len);
	if (!same(what, got, want, size, off, len))
		fail();
}

/* @got must hold @len bytes of @seed's pattern. */
static void expect_pat(struct tcase *tc, const char *what, const uint8_t *got,
		       size_t len, uint32_t seed)
{
	expect_region(tc, what, got, len, 0, NULL, 0, seed);
}

/* @got must equal @want. */
static void expect_same(const char *what, const void *got, const void *want,
			size_t len)
{
	if (!same(what, got, want, len, 0, len))
		fail();
}

/* The ODP counters of the test's devices (summed when they are two). */
static void snap(const struct tcase *tc, struct cnts *c)
{
	memset(c, 0, sizeof(*c));
	dev_cnts_add(tc->pair->a, c);
	if (tc->pair->b != tc->pair->a)
		dev_cnts_add(tc->pair->b, c);
}

/* @d: how far the counters moved since @before. */
static void since(const struct tcase *tc, const struct cnts *before,
		  struct cnts *d)
{
	struct cnts now;
	int i;

	snap(tc, &now);
	for (i = 0; i < VT_C_ODP_NUM; i++)
		d->v[i] = now.v[i] - before->v[i];
}

/* The transfer faulted: at least one fault event and @pages pages. */
static void expect_faulted(const struct cnts *d, size_t pages,
			   const char *what)
{
	if (verbose)
		vt_diag("%s: odp_faults +%" PRIu64 ", odp_fault_pages +%" PRIu64
			" (%zu pages touched), odp_fault_ns +%" PRIu64, what,
			d->v[VT_C_FAULTS], d->v[VT_C_FAULT_PAGES], pages,
			d->v[VT_C_FAULT_NS]);
	CHECK(d->v[VT_C_FAULTS] > 0 && d->v[VT_C_FAULT_PAGES] >= pages,
	      "%s: odp_faults +%" PRIu64 ", odp_fault_pages +%" PRIu64
	      ", want > 0 and >= %zu (pages it touched first)",
	      what, d->v[VT_C_FAULTS], d->v[VT_C_FAULT_PAGES], pages);
}

/* The transfer used warm pages only: no fault at all. */
static void expect_warm(const struct cnts *d, const char *what)
{
	CHECK(d->v[VT_C_FAULTS] == 0 && d->v[VT_C_FAULT_PAGES] == 0,
	      "%s: odp_faults +%" PRIu64 ", odp_fault_pages +%" PRIu64
	      ", want no fault (the pages were mirrored already)",
	      what, d->v[VT_C_FAULTS], d->v[VT_C_FAULT_PAGES]);
}

/* ---------------------------------------------------------------------- */
/* Sides, buffers, MRs                                                     */
/* ---------------------------------------------------------------------- */

#define ODP_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

static void side_open(struct side *s, struct vt_dev *d)
{
	if (s->pd)
		return;
	vt_dev_ready(d);
	s->dev = d;
	s->pd = ibv_alloc_pd(d->ctx);
	CHECK(s->pd, "%s: ibv_alloc_pd: %s", d->name, strerror(errno));
}

static void sides_open(struct tcase *tc)
{
	side_open(&tc->sa, tc->pair->a);
	side_open(&tc->sb, tc->pair->b);
}

/* ibv_reg_mr(pd, NULL, SIZE_MAX, IBV_ACCESS_ON_DEMAND | @access). */
static struct ibv_mr *reg_implicit(struct ibv_pd *pd, int access)
{
	return ibv_reg_mr(pd, NULL, SIZE_MAX, IBV_ACCESS_ON_DEMAND | access);
}

static struct ibv_mr *side_implicit(struct side *s)
{
	if (!s->imr) {
		s->imr = reg_implicit(s->pd, ODP_ACCESS);
		CHECK(s->imr,
		      "%s: implicit ODP MR ibv_reg_mr(NULL, SIZE_MAX, ON_DEMAND|0x%x): %s",
		      s->dev->name, ODP_ACCESS, strerror(errno));
	}
	return s->imr;
}

/*
 * @len bytes at a 2 MiB-aligned address, alone in their 2 MiB blocks (the
 * kernel mirrors the address space in such blocks), untouched, with small
 * pages unless @huge (then MADV_HUGEPAGE).  NULL on failure.
 */
static uint8_t *map_blocks(size_t len, size_t *map_len, bool huge)
{
	size_t span = (len + BLOCK - 1) & ~(size_t)(BLOCK - 1);
	uint8_t *p, *a;

	p = mmap(NULL, span + BLOCK, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + BLOCK - 1) & ~(uintptr_t)(BLOCK - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	munmap(a + span, (size_t)(p + BLOCK - a));
	madvise(a, span, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	*map_len = span;
	return a;
}

/* Track a buffer at @mem; the test unmaps @map and closes @fd after. */
static struct buf *buf_track(struct tcase *tc, void *mem, size_t size,
			     void *map, size_t map_len, int fd)
{
	struct buf *b;

	assert_true(tc->nbufs < MAX_BUFS);
	b = &tc->bufs[tc->nbufs++];
	memset(b, 0, sizeof(*b));
	b->mem = mem;
	b->size = size;
	b->map = map;
	b->map_len = map_len;
	b->fd = fd;
	return b;
}

static const char *bkind_str(enum bkind k)
{
	switch (k) {
	case B_PINNED:		return "pinned";
	case B_ODP:		return "explicit ODP";
	case B_IMPLICIT:	return "implicit ODP";
	default:		return "no";
	}
}

/* Make @b reachable through side @s: its own MR or the implicit one. */
static void buf_reg(struct buf *b, struct side *s, enum bkind k, int access)
{
	struct ibv_mr *imr;

	switch (k) {
	case B_NONE:
		return;
	case B_IMPLICIT:
		imr = side_implicit(s);
		b->lkey = imr->lkey;
		b->rkey = imr->rkey;
		return;
	default:
		b->mr = ibv_reg_mr(s->pd, b->mem, b->size,
				   access | (k == B_ODP ?
					     IBV_ACCESS_ON_DEMAND : 0));
		CHECK(b->mr, "%s: %s MR of %zu bytes at %p, access 0x%x: %s",
		      s->dev->name, bkind_str(k), b->size, (void *)b->mem,
		      access, strerror(errno));
		b->lkey = b->mr->lkey;
		b->rkey = b->mr->rkey;
	}
}

/* A fresh untouched buffer of @len bytes in its own 2 MiB blocks. */
static struct buf *buf_new(struct tcase *tc, struct side *s, size_t len,
			   enum bkind k, int access)
{
	size_t map_len;
	uint8_t *p = map_blocks(len, &map_len, false);
	struct buf *b;

	CHECK(p, "mmap of %zu bytes: %s", len, strerror(errno));
	b = buf_track(tc, p, len, p, map_len, -1);
	buf_reg(b, s, k, access);
	return b;
}

static enum bkind odp_kind(const struct tcase *tc)
{
	return tc->mode == M_IMPLICIT ? B_IMPLICIT : B_ODP;
}

/* A fresh untouched ODP buffer (explicit or implicit, as the test). */
static struct buf *obuf(struct tcase *tc, struct side *s, size_t len)
{
	return buf_new(tc, s, len, odp_kind(tc), ODP_ACCESS);
}

/* Track mapping @p of @len bytes and register it as the test's ODP. */
static struct buf *obuf_at(struct tcase *tc, struct side *s, void *p,
			   size_t len, int fd)
{
	struct buf *b = buf_track(tc, p, len, p, len, fd);

	buf_reg(b, s, odp_kind(tc), ODP_ACCESS);
	return b;
}

/*
 * A new file of @len bytes in tmp_dir (tc->tmpfile, unlinked when the
 * test ends), mapped MAP_SHARED; its descriptor in *@fd.
 */
static uint8_t *file_map(struct tcase *tc, size_t len, int *fd)
{
	uint8_t *p;

	snprintf(tc->tmpfile, sizeof(tc->tmpfile), "%s/odp_test.XXXXXX",
		 tmp_dir);
	*fd = mkstemp(tc->tmpfile);
	CHECK(*fd >= 0, "mkstemp %s: %s", tc->tmpfile, strerror(errno));
	CHECK(!ftruncate(*fd, (off_t)len), "ftruncate: %s", strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	CHECK(p != MAP_FAILED, "mmap %s: %s", tc->tmpfile, strerror(errno));
	return p;
}

/* AnonHugePages of the mapping at @addr, in kB (-1: not found). */
static long anon_huge_kb(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long s, e;
	char line[512];
	bool in = false;
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			in = (uintptr_t)addr >= s && (uintptr_t)addr < e;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* Where task @pid is in the kernel: its wchan and stack, as diagnostics. */
static void diag_stack(pid_t pid, const char *why)
{
	char path[64], line[256];
	FILE *f;

	vt_diag("%s: pid %d in the kernel:", why, (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	f = fopen(path, "r");
	if (f) {
		if (fgets(line, sizeof(line), f))
			vt_diag("  wchan %s", line);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/stack", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		vt_diag("  %s", line);
	}
	fclose(f);
}

/*
 * Kill and reap a child the test left behind, waiting 5 s at most: a
 * task stuck in the kernel cannot be killed, and the run must go on.
 */
static void kid_reap(struct kid *k)
{
	int64_t end = vt_now_ms() + 5000;
	int st;

	if (k->pid > 0) {
		kill(k->pid, SIGKILL);
		while (waitpid(k->pid, &st, WNOHANG) == 0) {
			if (vt_now_ms() > end) {
				vt_diag("child %d did not die within 5 s of SIGKILL",
					(int)k->pid);
				diag_stack(k->pid, "the unkillable child");
				break;
			}
			usleep(10000);
		}
	}
	if (k->cmd >= 0)
		close(k->cmd);
	if (k->reply >= 0)
		close(k->reply);
	k->pid = 0;
	k->cmd = k->reply = -1;
}

/* ---------------------------------------------------------------------- */
/* Connections                                                             */
/* ---------------------------------------------------------------------- */

enum { SEND_WR = 64, RECV_WR = 64, CQE = 130 };

static void ep_close(struct ep *e)
{
	if (e->qp)
		ibv_destroy_qp(e->qp);
	if (e->scq)
		ibv_destroy_cq(e->scq);
	if (e->rcq)
		ibv_destroy_cq(e->rcq);
	memset(e, 0, sizeof(*e));
}

static void ep_create(struct ep *e, struct side *s, uint32_t psn)
{
	struct ibv_qp_cap cap = {
		.max_send_wr = SEND_WR, .max_recv_wr = RECV_WR,
		.max_send_sge = 2, .max_recv_sge = 2,
	};

	e->side = s;
	e->psn = psn;
	e->scq = ibv_create_cq(s->dev->ctx, CQE, NULL, NULL, 0);
	e->rcq = ibv_create_cq(s->dev->ctx, CQE, NULL, NULL, 0);
	CHECK(e->scq && e->rcq, "%s: ibv_create_cq: %s", s->dev->name,
	      strerror(errno));
	e->qp = vt_qp_create(s->pd, e->scq, e->rcq, &cap, false);
	CHECK(e->qp, "%s: ibv_create_qp(RC): %s", s->dev->name,
	      strerror(errno));
}

/* A fresh connection of the test, not set up yet. */
static struct conn *conn_new(struct tcase *tc)
{
	struct conn *c;

	assert_true(tc->nconns < MAX_CONNS);
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	tc->conns[tc->nconns++] = c;
	return c;
}

/* Connect @c's QPs (on @da and @db) to each other, both to RTS. */
static void conn_link(struct conn *c, const struct vt_dev *da,
		      const struct vt_dev *db)
{
	CHECK(!vt_qp_connect(c->a.qp, &c->path, da, c->b.qp->qp_num,
			     c->a.psn, c->b.psn, &db->gid) &&
	      !vt_qp_connect(c->b.qp, &c->path, db, c->a.qp->qp_num,
			     c->b.psn, c->a.psn, &da->gid),
	      "connecting QPs %s:%u and %s:%u: %s", da->name,
	      c->a.qp->qp_num, db->name, c->b.qp->qp_num, vt_errmsg());
}

/* Connect a fresh QP on side A to a fresh one on side B, both in RTS. */
static struct conn *conn_open(struct tcase *tc)
{
	struct vt_dev *da = tc->pair->a, *db = tc->pair->b;
	struct conn *c;

	vt_dev_ready(da);
	vt_dev_ready(db);
	sides_open(tc);
	c = conn_new(tc);
	vt_path_init(&c->path, da, db);
	CHECK(vt_mtu_bytes(c->path.mtu) && c->path.rd_atomic,
	      "no usable path (active_mtu %d and %d, rd_atomic %u)",
	      da->port.active_mtu, db->port.active_mtu, c->path.rd_atomic);
	ep_create(&c->a, &tc->sa, 0xfffff0 - tc->nconns * 16);
	ep_create(&c->b, &tc->sb, 0x7ffffa + tc->nconns);
	conn_link(c, da, db);
	return c;
}

/* ---------------------------------------------------------------------- */
/* Posting and completions                                                 */
/* ---------------------------------------------------------------------- */

/* The connection the last transfer went over (for stall reports). */
static struct conn *cur_conn;

static void diag_qp(const char *who, struct ep *e)
{
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr at;

	if (!e->qp)
		return;
	if (ibv_query_qp(e->qp, &at, IBV_QP_STATE | IBV_QP_SQ_PSN |
			 IBV_QP_RQ_PSN, &ia)) {
		vt_diag("  %s QP %u: ibv_query_qp failed", who, e->qp->qp_num);
		return;
	}
	vt_diag("  %s QP %u on %s: state %d sq_psn 0x%x rq_psn 0x%x", who,
		e->qp->qp_num, e->side->dev->name, at.qp_state, at.sq_psn,
		at.rq_psn);
}

/* Every hw counter of @d that is not 0, on one line. */
static void diag_counters(const struct vt_dev *d)
{
	static struct vt_hw_snap sn;
	char line[1024];

	vt_hw_snap(d->name, &sn);
	vt_hw_nonzero(&sn, line, sizeof(line));
	vt_diag("  %s:%s", d->name, line);
}

/* Where connection @c's QPs are and what its devices counted. */
static void diag_conn(struct conn *c)
{
	diag_qp("requester", &c->a);
	diag_qp("responder", &c->b);
	diag_counters(c->a.side->dev);
	if (c->b.side && c->b.side->dev != c->a.side->dev)
		diag_counters(c->b.side->dev);
}

/*
 * A completion did not come in time: say where the QPs are and what the
 * devices counted, then wait 30 s more to tell a slow transfer from a
 * stuck one (the test fails either way).
 */
static void stall_report(struct ibv_cq *cq, const char *what, int ms)
{
	struct conn *c = cur_conn;
	struct ibv_wc wc;
	int64_t t0 = vt_now_ms();

	vt_diag("%s: no completion within %d ms; the QPs and counters now:",
		what, ms);
	if (c)
		diag_conn(c);
	vt_diag_cmd("rdma resource show qp -dd");
	if (vt_get_wc(cq, &wc, 30000))
		vt_diag("%s: the completion came %" PRId64 " ms later: wr_id %" PRIu64 " %s",
			what, vt_now_ms() - t0, (uint64_t)wc.wr_id,
			ibv_wc_status_str(wc.status));
	else
		vt_diag("%s: still no completion 30 s later (stuck)", what);
	if (c)
		diag_conn(c);
	vt_diag_cmd("rdma resource show qp -dd");
}

/*
 * Wait for the next completion on @cq and check its wr_id, status and
 * (when @opcode >= 0 and the status is success) opcode.
 */
static void expect_wc(struct ibv_cq *cq, struct ibv_wc *wc, const char *what,
		      uint64_t wr_id, enum ibv_wc_status status, int opcode,
		      int ms)
{
	if (!vt_get_wc(cq, wc, ms)) {
		stall_report(cq, what, ms);
		CHECK(0, "%s: no completion within %d ms (want wr_id %" PRIu64 " %s)",
		      what, ms, wr_id, ibv_wc_status_str(status));
	}
	if (wc->status != status && status == IBV_WC_SUCCESS && cur_conn) {
		vt_diag("%s: failed (%s); the QPs and counters now:", what,
			ibv_wc_status_str(wc->status));
		diag_conn(cur_conn);
	}
	vt_check_wc(wc, what, wr_id, status, opcode);
}

static void expect_qp_state(struct ep *e, enum ibv_qp_state want,
			    const char *what)
{
	vt_expect_qp_state(e->qp, e->side->dev->name, want, what);
}

static struct ibv_sge sge(const struct buf *b, size_t off, size_t len)
{
	struct ibv_sge s = {
		.addr = (uintptr_t)(b->mem + off),
		.length = (uint32_t)len,
		.lkey = b->lkey,
	};

	return s;
}

/*
 * One signaled RDMA @op (WRITE or READ) of @len bytes on @c: local side
 * @l at @loff, remote address @ra with @rkey; its completion must have
 * status @want.  After an error the requester's QP must be in ERR.
 */
static void rdma_at(struct conn *c, enum ibv_wr_opcode op, struct buf *l,
		    size_t loff, uint64_t ra, uint32_t rkey, size_t len,
		    enum ibv_wc_status want, const char *what)
{
	static uint64_t id = 1;
	struct ibv_sge g = sge(l, loff, len);
	struct ibv_send_wr wr;
	struct ibv_wc wc;

	vt_send_wr(&wr, ++id, &g, 1, op, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = ra;
	wr.wr.rdma.rkey = rkey;
	cur_conn = c;
	vt_post_send(c->a.qp, &wr, what);
	expect_wc(c->a.scq, &wc, what, id, want,
		  op == IBV_WR_RDMA_READ ? IBV_WC_RDMA_READ :
					   IBV_WC_RDMA_WRITE, vt_wc_ms(len));
	if (want == IBV_WC_SUCCESS && op == IBV_WR_RDMA_READ)
		CHECK(wc.byte_len == len, "%s: byte_len %u, want %zu", what,
		      wc.byte_len, len);
	if (want != IBV_WC_SUCCESS)
		expect_qp_state(&c->a, IBV_QPS_ERR, what);
}

/* RDMA WRITE @len bytes from @src + @soff to @dst + @doff. */
static void do_write(struct conn *c, struct buf *src, size_t soff,
		     struct buf *dst, size_t doff, size_t len,
		     enum ibv_wc_status want, const char *what)
{
	rdma_at(c, IBV_WR_RDMA_WRITE, src, soff,
		(uintptr_t)(dst->mem + doff), dst->rkey, len, want, what);
}

/* RDMA READ @len bytes from remote @src + @soff into @dst + @doff. */
static void do_read(struct conn *c, struct buf *dst, size_t doff,
		    struct buf *src, size_t soff, size_t len,
		    enum ibv_wc_status want, const char *what)
{
	rdma_at(c, IBV_WR_RDMA_READ, dst, doff,
		(uintptr_t)(src->mem + soff), src->rkey, len, want, what);
}

#define NO_RECV_WC	(-1)

/*
 * SEND @len bytes from @src + @soff into a receive posted at @dst +
 * @doff: the send completes with @want_s, the receive with @want_r (or
 * not at all: NO_RECV_WC).
 */
static void do_send(struct conn *c, struct buf *src, size_t soff,
		    struct buf *dst, size_t doff, size_t len,
		    enum ibv_wc_status want_s, int want_r, const char *what)
{
	static uint64_t id = 1;
	struct ibv_sge g = sge(src, soff, len), rg = sge(dst, doff, len);
	struct ibv_send_wr wr;
	struct ibv_wc wc;
	char msg[200];

	++id;
	cur_conn = c;
	vt_post_recv(c->b.qp, id, &rg, 1, what);
	vt_send_wr(&wr, id, &g, 1, IBV_WR_SEND, IBV_SEND_SIGNALED);
	vt_post_send(c->a.qp, &wr, what);
	snprintf(msg, sizeof(msg), "%s: sender", what);
	expect_wc(c->a.scq, &wc, msg, id, want_s, IBV_WC_SEND, vt_wc_ms(len));
	snprintf(msg, sizeof(msg), "%s: receiver", what);
	if (want_r == NO_RECV_WC) {
		vt_expect_no_wc(c->b.rcq, msg, 200);
		return;
	}
	expect_wc(c->b.rcq, &wc, msg, id, (enum ibv_wc_status)want_r,
		  IBV_WC_RECV, vt_wc_ms(len));
	if (want_r == IBV_WC_SUCCESS)
		CHECK(wc.byte_len == len, "%s: byte_len %u, want %zu", msg,
		      wc.byte_len, len);
}

/* One atomic @op at @r + @roff, the original value into @l + @loff. */
static void do_atomic(struct conn *c, enum ibv_wr_opcode op, struct buf *l,
		      size_t loff, struct buf *r, size_t roff, uint64_t cmp_add,
		      uint64_t swap, enum ibv_wc_status want, const char *what)
{
	static uint64_t id = 1;
	struct ibv_sge g = sge(l, loff, 8);
	struct ibv_send_wr wr;
	struct ibv_wc wc;

	vt_send_wr(&wr, ++id, &g, 1, op, IBV_SEND_SIGNALED);
	wr.wr.atomic.remote_addr = (uintptr_t)(r->mem + roff);
	wr.wr.atomic.rkey = r->rkey;
	wr.wr.atomic.compare_add = cmp_add;
	wr.wr.atomic.swap = swap;
	cur_conn = c;
	vt_post_send(c->a.qp, &wr, what);
	expect_wc(c->a.scq, &wc, what, id, want,
		  op == IBV_WR_ATOMIC_CMP_AND_SWP ? IBV_WC_COMP_SWAP :
						    IBV_WC_FETCH_ADD, 10000);
}

/*
 * RDMA WRITE pattern @seed + 1 from @src into @r, which holds pattern
 * @seed (@len bytes), from +@off to @off bytes before its end: the CPU
 * must then read that there and the pattern around it (@cpu_what).
 */
static void write_inside(struct tcase *tc, struct conn *c, struct buf *src,
			 struct buf *r, size_t len, size_t off, uint32_t seed,
			 const char *what, const char *cpu_what)
{
	uint8_t *want = vt_tc_alloc(&tc->vc, len);

	fill_pat(src->mem, len, seed + 1);
	do_write(c, src, 0, r, off, len - 2 * off, IBV_WC_SUCCESS, what);
	fill_pat(want, len, seed);
	memcpy(want + off, src->mem, len - 2 * off);
	expect_same(cpu_what, r->mem, want, len);
}

/* ---------------------------------------------------------------------- */
/* Capabilities and registration without pinning                          */
/* ---------------------------------------------------------------------- */

#define RC_ODP_CAPS	(IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV | \
			 IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ | \
			 IBV_ODP_SUPPORT_ATOMIC)

/*
 * query_device_ex reports exactly what works: general ODP and implicit
 * ODP, RC SEND/RECV/WRITE/READ/ATOMIC, nothing for UC, UD or XRC; and
 * both kinds of ODP MR register on the device.
 */
static void test_caps(void **state)
{
	struct tcase *tc = *state;
	struct vt_dev *d = tc->dev;
	struct ibv_device_attr_ex ax;
	struct ibv_mr *mr, *imr;
	struct ibv_pd *pd;
	size_t map_len;
	uint8_t *p;
	int rc;

	CHECK(d->ctx, "%s", d->error);
	memset(&ax, 0, sizeof(ax));
	rc = ibv_query_device_ex(d->ctx, NULL, &ax);
	CHECK(!rc, "%s: ibv_query_device_ex: %s", d->name, strerror(rc));
	vt_diag("%s: odp_caps general 0x%" PRIx64 " rc 0x%x uc 0x%x ud 0x%x xrc 0x%x",
		d->name, (uint64_t)ax.odp_caps.general_caps,
		ax.odp_caps.per_transport_caps.rc_odp_caps,
		ax.odp_caps.per_transport_caps.uc_odp_caps,
		ax.odp_caps.per_transport_caps.ud_odp_caps, ax.xrc_odp_caps);
	CHECK(ax.odp_caps.general_caps ==
	      (IBV_ODP_SUPPORT | IBV_ODP_SUPPORT_IMPLICIT),
	      "%s: general_caps 0x%" PRIx64 ", want ODP_SUPPORT|ODP_SUPPORT_IMPLICIT (0x%x)",
	      d->name, (uint64_t)ax.odp_caps.general_caps,
	      IBV_ODP_SUPPORT | IBV_ODP_SUPPORT_IMPLICIT);
	CHECK(ax.odp_caps.per_transport_caps.rc_odp_caps == RC_ODP_CAPS,
	      "%s: rc_odp_caps 0x%x, want SEND|RECV|WRITE|READ|ATOMIC (0x%x)",
	      d->name, ax.odp_caps.per_transport_caps.rc_odp_caps,
	      RC_ODP_CAPS);
	CHECK(!ax.odp_caps.per_transport_caps.uc_odp_caps &&
	      !ax.odp_caps.per_transport_caps.ud_odp_caps &&
	      !ax.xrc_odp_caps,
	      "%s: ODP caps for a transport without ODP (uc 0x%x ud 0x%x xrc 0x%x)",
	      d->name, ax.odp_caps.per_transport_caps.uc_odp_caps,
	      ax.odp_caps.per_transport_caps.ud_odp_caps, ax.xrc_odp_caps);

	pd = ibv_alloc_pd(d->ctx);
	CHECK(pd, "%s: ibv_alloc_pd: %s", d->name, strerror(errno));
	tc->sa.dev = d;
	tc->sa.pd = pd;
	p = map_blocks(MIB, &map_len, false);
	CHECK(p, "mmap: %s", strerror(errno));
	buf_track(tc, p, MIB, p, map_len, -1);
	mr = ibv_reg_mr(pd, p, MIB, IBV_ACCESS_ON_DEMAND | ODP_ACCESS);
	CHECK(mr, "%s: explicit ODP MR: %s", d->name, strerror(errno));
	ibv_dereg_mr(mr);
	imr = reg_implicit(pd, ODP_ACCESS);
	CHECK(imr, "%s: implicit ODP MR: %s", d->name, strerror(errno));
	CHECK(imr->addr == NULL && imr->length == SIZE_MAX,
	      "%s: implicit MR addr %p length 0x%zx", d->name, imr->addr,
	      imr->length);
	ibv_dereg_mr(imr);
}

/* "VmPin:" or "VmLck:" of /proc/self/status in kB, -1 when missing. */
static long vm_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	size_t n = strlen(field);
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* Raise or drop CAP_IPC_LOCK in the effective set; 0 or the errno. */
static int cap_ipc_lock(bool on)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	uint32_t bit = 1u << (CAP_IPC_LOCK % 32);

	if (syscall(SYS_capget, &h, d))
		return errno;
	if (on)
		d[CAP_IPC_LOCK / 32].effective |= bit;
	else
		d[CAP_IPC_LOCK / 32].effective &= ~bit;
	return syscall(SYS_capset, &h, d) ? errno : 0;
}

/*
 * ODP registers and moves data without pinning: with RLIMIT_MEMLOCK 0 and
 * no CAP_IPC_LOCK (so a pinned MR is refused, checked) explicit and
 * implicit ODP MRs register, WRITE and READ move the data, and the
 * process's VmPin and VmLck stay 0.
 */
static void test_nopin(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	struct buf *src, *dst, *back;
	struct rlimit zero;
	struct ibv_mr *mr;
	size_t map_len, len = 4 * MIB;
	uint8_t *p;
	int rc;

	CHECK(vm_kb("VmPin") == 0, "VmPin %ld kB before the test, want 0",
	      vm_kb("VmPin"));
	CHECK(!getrlimit(RLIMIT_MEMLOCK, &tc->rlim), "getrlimit: %s",
	      strerror(errno));
	zero.rlim_cur = 0;
	zero.rlim_max = tc->rlim.rlim_max;
	CHECK(!setrlimit(RLIMIT_MEMLOCK, &zero), "setrlimit: %s",
	      strerror(errno));
	tc->restore_rlim = true;
	rc = cap_ipc_lock(false);
	CHECK(!rc, "dropping CAP_IPC_LOCK: %s", strerror(rc));
	tc->restore_cap = true;

	/* The limit bites: a pinned MR of 64 KiB is refused. */
	p = map_blocks(64 * KIB, &map_len, false);
	CHECK(p, "mmap: %s", strerror(errno));
	buf_track(tc, p, 64 * KIB, p, map_len, -1);
	mr = ibv_reg_mr(tc->sa.pd, p, 64 * KIB, IBV_ACCESS_LOCAL_WRITE);
	if (mr)
		ibv_dereg_mr(mr);
	/* 6.1's ib_umem_get: EPERM for a limit of 0, ENOMEM above it. */
	CHECK(!mr && (errno == EPERM || errno == ENOMEM),
	      "pinned MR with RLIMIT_MEMLOCK 0 and no CAP_IPC_LOCK: %s, want EPERM or ENOMEM (else this test proves nothing)",
	      mr ? "registered" : strerror(errno));

	/* Explicit ODP: 4 MiB written and read back. */
	src = buf_new(tc, &tc->sa, len, B_ODP, ODP_ACCESS);
	dst = buf_new(tc, &tc->sb, len, B_ODP, ODP_ACCESS);
	back = buf_new(tc, &tc->sa, len, B_ODP, ODP_ACCESS);
	fill_pat(src->mem, len, 11);
	do_write(c, src, 0, dst, 0, len, IBV_WC_SUCCESS,
		 "4 MiB WRITE, explicit ODP, memlock 0");
	do_read(c, back, 0, dst, 0, len, IBV_WC_SUCCESS,
		"4 MiB READ, explicit ODP, memlock 0");
	expect_pat(tc, "WRITE target", dst->mem, len, 11);
	expect_pat(tc, "READ destination", back->mem, len, 11);

	/* Implicit ODP: 1 MiB written and read back. */
	src = buf_new(tc, &tc->sa, MIB, B_IMPLICIT, 0);
	dst = buf_new(tc, &tc->sb, MIB, B_IMPLICIT, 0);
	back = buf_new(tc, &tc->sa, MIB, B_IMPLICIT, 0);
	fill_pat(src->mem, MIB, 12);
	do_write(c, src, 0, dst, 0, MIB, IBV_WC_SUCCESS,
		 "1 MiB WRITE, implicit ODP, memlock 0");
	do_read(c, back, 0, dst, 0, MIB, IBV_WC_SUCCESS,
		"1 MiB READ, implicit ODP, memlock 0");
	expect_pat(tc, "implicit WRITE target", dst->mem, MIB, 12);
	expect_pat(tc, "implicit READ destination", back->mem, MIB, 12);

	CHECK(vm_kb("VmPin") == 0 && vm_kb("VmLck") == 0,
	      "after ODP traffic: VmPin %ld kB, VmLck %ld kB, want 0",
	      vm_kb("VmPin"), vm_kb("VmLck"));
}

/* ---------------------------------------------------------------------- */
/* Anonymous memory: cold and warm passes                                  */
/* ---------------------------------------------------------------------- */

static const struct span {
	size_t off, len;
} anon_spans[] = {
	{ 0, 4096 }, { 0, 65536 }, { 0, MIB }, { 4093, 7 },
	{ 1, 65536 + 13 }, { 4095, MIB + 5 },
};

#define G_DST	0x6a09e667u	/* guard patterns */
#define G_BACK	0xbb67ae85u
#define G_RECV	0x3c6ef372u

/**
 * struct anon - one span of test_anon and its buffers
 * @tc, @c: the test and its connection
 * @off, @len: the span: @len bytes at offset @off of each buffer
 * @size: each buffer's size
 * @src: A's source of WRITEs and SENDs
 * @dst: B's target of WRITEs, the source of READs
 * @back: A's target of READs
 * @rb: B's receive buffer
 */
struct anon {
	struct tcase *tc;
	struct conn *c;
	size_t off, len, size;
	struct buf *src, *dst, *back, *rb;
};

static void anon_pass(const struct anon *a, enum ibv_wr_opcode op,
		      size_t faults, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * One transfer of test_anon: @op (RDMA WRITE src -> dst, RDMA READ dst
 * -> back, SEND src -> rb) over the span; what it lands in must hold
 * src's bytes within its guard; the counters must show a fault of at
 * least @faults pages, or (@faults 0) no fault at all.
 */
static void anon_pass(const struct anon *a, enum ibv_wr_opcode op,
		      size_t faults, const char *fmt, ...)
{
	struct cnts before, d;
	const struct buf *to;
	char what[160];
	uint32_t guard;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snap(a->tc, &before);
	if (op == IBV_WR_RDMA_WRITE) {
		do_write(a->c, a->src, a->off, a->dst, a->off, a->len,
			 IBV_WC_SUCCESS, what);
		to = a->dst;
		guard = G_DST;
	} else if (op == IBV_WR_RDMA_READ) {
		do_read(a->c, a->back, a->off, a->dst, a->off, a->len,
			IBV_WC_SUCCESS, what);
		to = a->back;
		guard = G_BACK;
	} else {
		do_send(a->c, a->src, a->off, a->rb, a->off, a->len,
			IBV_WC_SUCCESS, IBV_WC_SUCCESS, what);
		to = a->rb;
		guard = G_RECV;
	}
	since(a->tc, &before, &d);
	expect_region(a->tc, what, to->mem, a->size, a->off,
		      a->src->mem + a->off, a->len, guard);
	if (faults)
		expect_faulted(&d, faults, what);
	else
		expect_warm(&d, what);
}

/*
 * RDMA WRITE, RDMA READ and SEND between fresh ODP buffers the CPU filled
 * (present in the page tables, not mirrored): the first pass faults
 * (odp_faults moves, odp_fault_pages at least the pages touched), the
 * second over the same pages does not.  Sizes from 7 bytes across a page
 * boundary to 1 MiB + 5 at odd offsets; the guard around the data is
 * checked too.  Then atomics, cold and warm.
 */
static void test_anon(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	struct cnts before, d;
	struct buf *t, *res;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(anon_spans); i++) {
		size_t off = anon_spans[i].off, len = anon_spans[i].len;
		size_t size = off + len + 64;
		struct anon a = {
			.tc = tc, .c = c, .off = off, .len = len, .size = size,
			.src = obuf(tc, &tc->sa, size),
			.dst = obuf(tc, &tc->sb, size),
			.back = obuf(tc, &tc->sa, size),
			.rb = obuf(tc, &tc->sb, size),
		};
		uint32_t seed = 100 + 8 * i;

		fill_pat(a.src->mem, size, seed);
		fill_pat(a.dst->mem, size, G_DST);
		fill_pat(a.back->mem, size, G_BACK);
		fill_pat(a.rb->mem, size, G_RECV);

		anon_pass(&a, IBV_WR_RDMA_WRITE,
			  npages(a.src->mem, off, len) +
			  npages(a.dst->mem, off, len),
			  "cold WRITE of %zu bytes at +%zu", len, off);
		fill_pat(a.src->mem + off, len, seed + 1);
		anon_pass(&a, IBV_WR_RDMA_WRITE, 0,
			  "warm WRITE of %zu bytes at +%zu", len, off);
		anon_pass(&a, IBV_WR_RDMA_READ, npages(a.back->mem, off, len),
			  "READ of %zu bytes at +%zu into a cold buffer", len,
			  off);
		fill_pat(a.back->mem, size, G_BACK);
		anon_pass(&a, IBV_WR_RDMA_READ, 0,
			  "warm READ of %zu bytes at +%zu", len, off);
		anon_pass(&a, IBV_WR_SEND, npages(a.rb->mem, off, len),
			  "SEND of %zu bytes at +%zu into a cold receive buffer",
			  len, off);
		fill_pat(a.rb->mem, size, G_RECV);
		fill_pat(a.src->mem + off, len, seed + 2);
		anon_pass(&a, IBV_WR_SEND, 0, "warm SEND of %zu bytes at +%zu",
			  len, off);
	}

	/* Atomics: the target and the result buffer are ODP. */
	t = obuf(tc, &tc->sb, PAGE);
	res = obuf(tc, &tc->sa, PAGE);
	fill_pat(t->mem, PAGE, G_DST);
	fill_pat(res->mem, PAGE, G_BACK);
	vt_put_u64(t->mem + 1000, 0x1122334455667788ull);
	snap(tc, &before);
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 16, t, 1000, 0x1111, 0,
		  IBV_WC_SUCCESS, "cold FETCH_ADD");
	since(tc, &before, &d);
	CHECK(vt_get_u64(res->mem + 16) == 0x1122334455667788ull &&
	      vt_get_u64(t->mem + 1000) == 0x1122334455668899ull,
	      "cold FETCH_ADD: returned 0x%" PRIx64 " target 0x%" PRIx64,
	      vt_get_u64(res->mem + 16), vt_get_u64(t->mem + 1000));
	expect_faulted(&d, 2, "cold FETCH_ADD");
	snap(tc, &before);
	do_atomic(c, IBV_WR_ATOMIC_CMP_AND_SWP, res, 24, t, 1000,
		  0x1122334455668899ull, 0xfeedfacecafebeefull,
		  IBV_WC_SUCCESS, "warm CMP_SWP");
	do_atomic(c, IBV_WR_ATOMIC_CMP_AND_SWP, res, 32, t, 1000, 1, 2,
		  IBV_WC_SUCCESS, "warm CMP_SWP that does not match");
	since(tc, &before, &d);
	CHECK(vt_get_u64(res->mem + 24) == 0x1122334455668899ull &&
	      vt_get_u64(res->mem + 32) == 0xfeedfacecafebeefull &&
	      vt_get_u64(t->mem + 1000) == 0xfeedfacecafebeefull,
	      "warm CMP_SWP: returned 0x%" PRIx64 " and 0x%" PRIx64 ", target 0x%" PRIx64,
	      vt_get_u64(res->mem + 24), vt_get_u64(res->mem + 32),
	      vt_get_u64(t->mem + 1000));
	expect_warm(&d, "warm atomics");
	expect_region(tc, "around the atomics' target", t->mem, PAGE, 1000,
		      t->mem + 1000, 8, G_DST);
}

/* ---------------------------------------------------------------------- */
/* Untouched memory and the zero page                                      */
/* ---------------------------------------------------------------------- */

/*
 * Memory nobody touched reads as zeros through the NIC (READ, SEND
 * source, atomics), the CPU then sees zeros too (the zero page), and a
 * NIC WRITE into it (zero page mapped or nothing mapped at all) is what
 * the CPU then reads, with zeros around it.
 */
static void test_zero(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t size = MIB + PAGE, len = MIB + 3;
	struct buf *r, *l, *src, *r2, *rb, *t, *res, *s0, *rb2;

	r = obuf(tc, &tc->sb, size);
	l = obuf(tc, &tc->sa, size);
	src = obuf(tc, &tc->sa, size);
	fill_pat(l->mem, size, G_BACK);
	fill_pat(src->mem, size, 21);

	do_read(c, l, 7, r, 5, len, IBV_WC_SUCCESS,
		"READ of never-touched memory");
	expect_region(tc, "READ of never-touched memory", l->mem, size, 7,
		      NULL, len, G_BACK);
	expect_pat(tc, "never-touched memory after the NIC read it (CPU)",
		   r->mem, size, ZERO);

	do_write(c, src, 1, r, 5, len, IBV_WC_SUCCESS,
		 "WRITE over the zero page");
	expect_region(tc, "WRITE over the zero page (CPU)", r->mem, size, 5,
		      src->mem + 1, len, ZERO);
	fill_pat(l->mem, size, G_BACK);
	do_read(c, l, 7, r, 5, len, IBV_WC_SUCCESS,
		"READ after the WRITE over the zero page");
	expect_region(tc, "READ after the WRITE over the zero page", l->mem,
		      size, 7, src->mem + 1, len, G_BACK);

	r2 = obuf(tc, &tc->sb, 64 * KIB);
	do_write(c, src, 3, r2, 3000, 10000, IBV_WC_SUCCESS,
		 "WRITE into never-touched memory");
	expect_region(tc, "WRITE into never-touched memory (CPU)", r2->mem,
		      64 * KIB, 3000, src->mem + 3, 10000, ZERO);

	rb = obuf(tc, &tc->sb, 64 * KIB);
	do_send(c, src, 11, rb, 100, 5000, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND into a never-touched receive buffer");
	expect_region(tc, "SEND into a never-touched receive buffer (CPU)",
		      rb->mem, 64 * KIB, 100, src->mem + 11, 5000, ZERO);

	s0 = obuf(tc, &tc->sa, 64 * KIB);
	rb2 = obuf(tc, &tc->sb, 64 * KIB);
	fill_pat(rb2->mem, 64 * KIB, G_RECV);
	do_send(c, s0, 0, rb2, 10, 8192, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND from never-touched memory");
	expect_region(tc, "SEND from never-touched memory", rb2->mem,
		      64 * KIB, 10, NULL, 8192, G_RECV);

	t = obuf(tc, &tc->sb, 2 * PAGE);
	res = obuf(tc, &tc->sa, PAGE);
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 0, t, 8, 0x1234, 0,
		  IBV_WC_SUCCESS, "FETCH_ADD on never-touched memory");
	do_atomic(c, IBV_WR_ATOMIC_CMP_AND_SWP, res, 8, t, PAGE + 16, 0,
		  0xfeed, IBV_WC_SUCCESS, "CMP_SWP on never-touched memory");
	CHECK(vt_get_u64(res->mem) == 0 && vt_get_u64(res->mem + 8) == 0,
	      "atomics on never-touched memory returned 0x%" PRIx64 " and 0x%" PRIx64 ", want 0",
	      vt_get_u64(res->mem), vt_get_u64(res->mem + 8));
	CHECK(vt_get_u64(t->mem + 8) == 0x1234 &&
	      vt_get_u64(t->mem + PAGE + 16) == 0xfeed,
	      "atomics on never-touched memory left 0x%" PRIx64 " and 0x%" PRIx64 ", want 0x1234 and 0xfeed",
	      vt_get_u64(t->mem + 8), vt_get_u64(t->mem + PAGE + 16));
	vt_put_u64(t->mem + 8, 0);
	vt_put_u64(t->mem + PAGE + 16, 0);
	expect_pat(tc, "around the atomics' targets", t->mem, 2 * PAGE, ZERO);
}

/* ---------------------------------------------------------------------- */
/* MADV_DONTNEED, mprotect, munmap, mremap                                 */
/* ---------------------------------------------------------------------- */

static void madv(void *p, size_t len, int advice, const char *name)
{
	CHECK(!madvise(p, len, advice), "madvise(%p, %zu, %s): %s", p, len,
	      name, strerror(errno));
}

static void mprot(void *p, size_t len, int prot, const char *name)
{
	CHECK(!mprotect(p, len, prot), "mprotect(%p, %zu, %s): %s", p, len,
	      name, strerror(errno));
}

/*
 * Cold memory: MADV_DONTNEED between passes.  Each DONTNEED invalidates
 * the mirrored pages (counted); then the CPU sees zeros and the next NIC
 * WRITE faults again and is what the CPU reads, or (without the CPU
 * looking first) a NIC READ returns zeros, not the old data.  The same for
 * a SEND source (the receiver gets zeros after DONTNEED, then the new
 * data after the CPU writes over the zero page) and a receive buffer.
 */
static void test_dontneed(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 256 * KIB + 3, roff = 1, size = 256 * KIB + PAGE;
	struct buf *r, *src, *l, *s, *rb;
	struct cnts before, d;
	char what[160];
	unsigned int p;

	r = obuf(tc, &tc->sb, size);
	src = obuf(tc, &tc->sa, size);
	l = obuf(tc, &tc->sa, size);
	fill_pat(src->mem, size, 31);
	do_write(c, src, 0, r, roff, len, IBV_WC_SUCCESS, "first WRITE");
	expect_region(tc, "first WRITE", r->mem, size, roff, src->mem, len,
		      ZERO);

	for (p = 1; p <= 4; p++) {
		snprintf(what, sizeof(what), "pass %u: MADV_DONTNEED", p);
		snap(tc, &before);
		madv(r->mem, size, MADV_DONTNEED, "MADV_DONTNEED");
		since(tc, &before, &d);
		CHECK(d.v[VT_C_INVALS] >= 1 &&
		      d.v[VT_C_INVAL_PAGES] >= npages(r->mem, roff, len),
		      "%s: odp_invalidations +%" PRIu64 ", odp_inval_pages +%" PRIu64 ", want >= 1 and >= %zu (the mirrored pages)",
		      what, d.v[VT_C_INVALS], d.v[VT_C_INVAL_PAGES],
		      npages(r->mem, roff, len));
		if (p % 2) {
			snprintf(what, sizeof(what),
				 "pass %u: CPU after MADV_DONTNEED", p);
			expect_pat(tc, what, r->mem, size, ZERO);
			snprintf(what, sizeof(what),
				 "pass %u: WRITE after MADV_DONTNEED", p);
			fill_pat(src->mem, size, 31 + p);
			snap(tc, &before);
			do_write(c, src, 0, r, roff, len, IBV_WC_SUCCESS,
				 what);
			since(tc, &before, &d);
			expect_faulted(&d, npages(r->mem, roff, len), what);
			expect_region(tc, what, r->mem, size, roff, src->mem,
				      len, ZERO);
		} else {
			snprintf(what, sizeof(what),
				 "pass %u: READ after MADV_DONTNEED", p);
			fill_pat(l->mem, size, G_BACK);
			snap(tc, &before);
			do_read(c, l, 2, r, roff, len, IBV_WC_SUCCESS, what);
			since(tc, &before, &d);
			expect_faulted(&d, npages(r->mem, roff, len), what);
			expect_region(tc, what, l->mem, size, 2, NULL, len,
				      G_BACK);
			snprintf(what, sizeof(what),
				 "pass %u: WRITE after the READ", p);
			fill_pat(src->mem, size, 31 + p);
			do_write(c, src, 0, r, roff, len, IBV_WC_SUCCESS,
				 what);
			expect_region(tc, what, r->mem, size, roff, src->mem,
				      len, ZERO);
		}
	}

	/* A SEND source and a receive buffer. */
	s = obuf(tc, &tc->sa, 64 * KIB);
	rb = obuf(tc, &tc->sb, 64 * KIB);
	fill_pat(s->mem, 64 * KIB, 77);
	do_send(c, s, 0, rb, 0, 40000, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND");
	expect_region(tc, "SEND", rb->mem, 64 * KIB, 0, s->mem, 40000, ZERO);
	madv(s->mem, 64 * KIB, MADV_DONTNEED, "MADV_DONTNEED");
	fill_pat(rb->mem, 64 * KIB, G_RECV);
	snap(tc, &before);
	do_send(c, s, 0, rb, 0, 40000, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND from a source after MADV_DONTNEED");
	since(tc, &before, &d);
	expect_region(tc, "SEND from a source after MADV_DONTNEED",
		      rb->mem, 64 * KIB, 0, NULL, 40000, G_RECV);
	expect_faulted(&d, npages(s->mem, 0, 40000),
		       "SEND from a source after MADV_DONTNEED");
	madv(rb->mem, 64 * KIB, MADV_DONTNEED, "MADV_DONTNEED");
	fill_pat(s->mem, 64 * KIB, 78);		/* over the zero page */
	do_send(c, s, 0, rb, 0, 40000, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND after the CPU wrote over the zero page, into a receive buffer after MADV_DONTNEED");
	expect_region(tc, "SEND after the CPU wrote over the zero page",
		      rb->mem, 64 * KIB, 0, s->mem, 40000, ZERO);
}

/* The odp_fault_fails counter moved since @before. */
static void expect_fault_fail(const struct tcase *tc,
			      const struct cnts *before, const char *what)
{
	struct cnts d;

	since(tc, before, &d);
	CHECK(d.v[VT_C_FAULT_FAILS] >= 1,
	      "%s: odp_fault_fails +%" PRIu64 ", want >= 1", what,
	      d.v[VT_C_FAULT_FAILS]);
}

/*
 * mprotect: after PROT_READ on a target the NIC had mirrored writable, a
 * WRITE fails with REM_ACCESS_ERR and changes nothing while a READ still
 * works; after PROT_NONE a READ fails too; back to read-write, WRITE
 * works again.  On the requester: a READ into a read-only destination and
 * a SEND from a PROT_NONE source end in LOC_PROT_ERR; on the responder a
 * read-only receive buffer completes the receive with LOC_PROT_ERR and
 * NAKs the SEND (REM_OP_ERR).  Each failed fault is counted.
 */
static void test_mprotect(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 64 * KIB + 5, size = 64 * KIB + PAGE;
	struct buf *r, *src, *l, *rb;
	struct cnts before;
	uint8_t *want;

	r = obuf(tc, &tc->sb, size);
	src = obuf(tc, &tc->sa, size);
	l = obuf(tc, &tc->sa, size);
	want = vt_tc_alloc(&tc->vc, size);
	fill_pat(src->mem, size, 41);
	do_write(c, src, 0, r, 3, len, IBV_WC_SUCCESS, "WRITE");
	expect_region(tc, "WRITE", r->mem, size, 3, src->mem, len, ZERO);
	memcpy(want, r->mem, size);

	mprot(r->mem, size, PROT_READ, "PROT_READ");
	fill_pat(src->mem, size, 42);
	snap(tc, &before);
	do_write(c, src, 0, r, 3, len, IBV_WC_REM_ACCESS_ERR,
		 "WRITE into a PROT_READ target");
	expect_fault_fail(tc, &before, "WRITE into a PROT_READ target");
	expect_same("PROT_READ target after the refused WRITE", r->mem, want,
		    size);

	c = conn_open(tc);
	fill_pat(l->mem, size, G_BACK);
	do_read(c, l, 0, r, 3, len, IBV_WC_SUCCESS,
		"READ from a PROT_READ target");
	expect_region(tc, "READ from a PROT_READ target", l->mem, size, 0,
		      want + 3, len, G_BACK);

	mprot(r->mem, size, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE");
	do_write(c, src, 0, r, 3, len, IBV_WC_SUCCESS,
		 "WRITE after mprotect back to read-write");
	expect_region(tc, "WRITE after mprotect back to read-write", r->mem,
		      size, 3, src->mem, len, ZERO);
	memcpy(want, r->mem, size);

	mprot(r->mem, size, PROT_NONE, "PROT_NONE");
	snap(tc, &before);
	do_read(c, l, 0, r, 3, len, IBV_WC_REM_ACCESS_ERR,
		"READ from a PROT_NONE target");
	expect_fault_fail(tc, &before, "READ from a PROT_NONE target");
	mprot(r->mem, size, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE");
	expect_same("target after PROT_NONE and back", r->mem, want, size);

	/* Requester side: a READ into a read-only destination. */
	c = conn_open(tc);
	memcpy(want, l->mem, size);
	mprot(l->mem, size, PROT_READ, "PROT_READ");
	snap(tc, &before);
	do_read(c, l, 0, r, 3, len, IBV_WC_LOC_PROT_ERR,
		"READ into a PROT_READ destination");
	expect_fault_fail(tc, &before, "READ into a PROT_READ destination");
	expect_same("PROT_READ READ destination", l->mem, want, size);
	mprot(l->mem, size, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE");

	/* A SEND from a PROT_NONE source (mirrored before). */
	c = conn_open(tc);
	rb = obuf(tc, &tc->sb, size);
	fill_pat(src->mem, size, 43);
	do_send(c, src, 0, rb, 0, len, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND");
	expect_region(tc, "SEND", rb->mem, size, 0, src->mem, len, ZERO);
	mprot(src->mem, size, PROT_NONE, "PROT_NONE");
	snap(tc, &before);
	do_send(c, src, 0, rb, 0, len, IBV_WC_LOC_PROT_ERR, NO_RECV_WC,
		"SEND from a PROT_NONE source");
	expect_fault_fail(tc, &before, "SEND from a PROT_NONE source");
	expect_qp_state(&c->a, IBV_QPS_ERR, "sender after LOC_PROT_ERR");
	mprot(src->mem, size, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE");

	/* A SEND into a read-only receive buffer (mirrored before). */
	c = conn_open(tc);
	fill_pat(src->mem, size, 44);
	do_send(c, src, 0, rb, 0, len, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND");
	memcpy(want, rb->mem, size);
	mprot(rb->mem, size, PROT_READ, "PROT_READ");
	fill_pat(src->mem, size, 45);
	snap(tc, &before);
	do_send(c, src, 0, rb, 0, len, IBV_WC_REM_OP_ERR, IBV_WC_LOC_PROT_ERR,
		"SEND into a PROT_READ receive buffer");
	expect_fault_fail(tc, &before, "SEND into a PROT_READ receive buffer");
	expect_same("PROT_READ receive buffer", rb->mem, want, size);
	mprot(rb->mem, size, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE");
}

/* Hold [@addr, @addr + @len) with an inaccessible placeholder mapping. */
static void hold_range(void *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_NORESERVE | MAP_FIXED, -1, 0);

	CHECK(p == addr, "placeholder at %p: %s", addr,
	      p == MAP_FAILED ? strerror(errno) : "elsewhere");
}

/* Map @len bytes at exactly @addr (it must be free). */
static void remap_at(struct buf *b, const char *what)
{
	void *p = mmap(b->map, b->map_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);

	CHECK(p == b->map, "%s: mmap at %p: got %p (%s)", what, b->map, p,
	      p == MAP_FAILED ? strerror(errno) : "elsewhere");
	madvise(p, b->map_len, MADV_NOHUGEPAGE);
}

/* A thread that unmaps a target or deregisters its MR under traffic. */
enum race_act { R_UNMAP, R_DEREG, R_TRUNCATE };

struct racer {
	enum race_act act;
	void *addr;			/* R_UNMAP: what to unmap */
	size_t len;
	struct ibv_mr *mr;		/* R_DEREG: what to deregister */
	int fd;				/* R_TRUNCATE: what to truncate */
	unsigned int posted;		/* WRs posted so far */
	unsigned int after;		/* act once this many are */
	int rc, err;
	int64_t ms;			/* how long the act took */
};

static const char *race_act_str(enum race_act a)
{
	return a == R_UNMAP ? "munmap" : a == R_DEREG ? "ibv_dereg_mr" :
	       "ftruncate";
}

static void *racer_run(void *arg)
{
	struct racer *u = arg;
	int64_t end = vt_now_ms() + 20000, t0;

	while (__atomic_load_n(&u->posted, __ATOMIC_ACQUIRE) < u->after &&
	       vt_now_ms() < end)
		;
	t0 = vt_now_ms();
	if (u->act == R_UNMAP)
		u->rc = munmap(u->addr, u->len);
	else if (u->act == R_TRUNCATE)
		u->rc = ftruncate(u->fd, 0);
	else
		u->rc = ibv_dereg_mr(u->mr);
	u->err = u->act != R_DEREG ? errno : u->rc;
	u->ms = vt_now_ms() - t0;
	return NULL;
}

#define STREAM_WRS	48
#define STREAM_LEN	(64 * KIB)

/*
 * Stream STREAM_WRS WRITEs of 64 KiB from @src to @ra with @rkey (32
 * chunks, round robin), at most 8 in flight, while @u acts after 4 were
 * posted: they succeed up to the act, then one fails with REM_ACCESS_ERR
 * and the rest are flushed.  Returns whether the error came.
 */
static bool stream_race(struct conn *c, struct buf *src, uint64_t ra,
			uint32_t rkey, struct racer *u, const char *what)
{
	unsigned int ok = 0, posted = 0, done = 0;
	struct ibv_send_wr wr;
	struct ibv_sge g;
	struct ibv_wc wc;
	bool err = false;
	pthread_t th;

	u->after = 4;
	CHECK(!pthread_create(&th, NULL, racer_run, u),
	      "pthread_create failed");
	while (done < STREAM_WRS) {
		while (!err && posted < STREAM_WRS && posted - done < 8) {
			g = sge(src, (posted % 32) * STREAM_LEN, STREAM_LEN);
			vt_send_wr(&wr, posted, &g, 1, IBV_WR_RDMA_WRITE,
				   IBV_SEND_SIGNALED);
			wr.wr.rdma.remote_addr = ra +
				(posted % 32) * STREAM_LEN;
			wr.wr.rdma.rkey = rkey;
			vt_post_send(c->a.qp, &wr, what);
			__atomic_store_n(&u->posted, ++posted,
					 __ATOMIC_RELEASE);
		}
		if (err && done == posted)
			break;
		if (!vt_get_wc(c->a.scq, &wc, 20000)) {
			pthread_join(th, NULL);
			CHECK(0, "%s: no completion for WR %u within 20 s",
			      what, done);
		}
		CHECK(wc.wr_id == done,
		      "%s: completion for WR %" PRIu64 ", want %u", what,
		      (uint64_t)wc.wr_id, done);
		done++;
		if (wc.status == IBV_WC_SUCCESS) {
			CHECK(!err, "%s: WR %" PRIu64 " succeeded after an error",
			      what, (uint64_t)wc.wr_id);
			ok++;
		} else if (!err) {
			err = true;
			CHECK(wc.status == IBV_WC_REM_ACCESS_ERR,
			      "%s: WR %" PRIu64 " ended %s, want REM_ACCESS_ERR",
			      what, (uint64_t)wc.wr_id,
			      ibv_wc_status_str(wc.status));
		} else {
			CHECK(wc.status == IBV_WC_WR_FLUSH_ERR,
			      "%s: WR %" PRIu64 " after the error ended %s, want WR_FLUSH_ERR",
			      what, (uint64_t)wc.wr_id,
			      ibv_wc_status_str(wc.status));
		}
	}
	pthread_join(th, NULL);
	CHECK(!u->rc, "%s: %s failed: %s", what, race_act_str(u->act),
	      strerror(u->err));
	vt_diag("%s: %u of %u WRITEs posted, %u succeeded, %s; the %s took %" PRId64 " ms",
		what, posted, STREAM_WRS, ok,
		err ? "then REM_ACCESS_ERR" : "all before it",
		race_act_str(u->act), u->ms);
	return err;
}

/* Every byte of @got is 0 or the byte of @want at the same offset. */
static void expect_zero_or(const char *what, const uint8_t *got,
			   const uint8_t *want, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (got[i] && got[i] != want[i])
			break;
	CHECK(i == len,
	      "%s: byte %zu is 0x%02x: neither 0 nor the data written there (0x%02x)",
	      what, i, got[i], want[i]);
}

/*
 * munmap: a target the NIC had mirrored is unmapped, then WRITE and READ
 * fail with REM_ACCESS_ERR; new memory mapped at the same address is what
 * the NIC then reads (zeros, not the old data) and writes.  Then a thread
 * unmaps a 2 MiB target while WRITEs into it run (see stream_race()); the
 * memory mapped there afterwards holds zeros.
 */
static void test_munmap(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 256 * KIB - 1, size = 256 * KIB;
	struct buf *r, *src, *l, *r2;
	struct racer u;

	r = obuf(tc, &tc->sb, size);
	src = obuf(tc, &tc->sa, 2 * MIB);
	l = obuf(tc, &tc->sa, size);
	fill_pat(src->mem, 2 * MIB, 51);
	do_write(c, src, 0, r, 1, len, IBV_WC_SUCCESS, "WRITE");
	expect_region(tc, "WRITE", r->mem, size, 1, src->mem, len, ZERO);

	CHECK(!munmap(r->map, r->map_len), "munmap: %s", strerror(errno));
	do_write(c, src, 0, r, 1, len, IBV_WC_REM_ACCESS_ERR,
		 "WRITE into an unmapped target");
	/*
	 * The new QP maps its rings; with the hole held by a placeholder
	 * they cannot land where remap_at() wants the target back.
	 */
	hold_range(r->map, r->map_len);
	c = conn_open(tc);
	CHECK(!munmap(r->map, r->map_len), "munmap: %s", strerror(errno));
	do_read(c, l, 0, r, 1, len, IBV_WC_REM_ACCESS_ERR,
		"READ from an unmapped target");

	remap_at(r, "new memory at the unmapped address");
	c = conn_open(tc);
	fill_pat(l->mem, size, G_BACK);
	do_read(c, l, 0, r, 1, len, IBV_WC_SUCCESS,
		"READ from new memory at the unmapped address");
	expect_region(tc, "READ from new memory at the unmapped address",
		      l->mem, size, 0, NULL, len, G_BACK);
	fill_pat(src->mem, 2 * MIB, 52);
	do_write(c, src, 0, r, 1, len, IBV_WC_SUCCESS,
		 "WRITE into new memory at the unmapped address");
	expect_region(tc, "WRITE into new memory at the unmapped address",
		      r->mem, size, 1, src->mem, len, ZERO);

	/* Unmapped while WRITEs run. */
	r2 = obuf(tc, &tc->sb, 2 * MIB);
	do_write(c, src, 0, r2, 0, 2 * MIB, IBV_WC_SUCCESS,
		 "WRITE before the stream");
	memset(&u, 0, sizeof(u));
	u.act = R_UNMAP;
	u.addr = r2->map;
	u.len = r2->map_len;
	if (!stream_race(c, src, (uintptr_t)r2->mem, r2->rkey, &u,
			 "munmap under WRITEs"))
		do_write(c, src, 0, r2, 0, STREAM_LEN, IBV_WC_REM_ACCESS_ERR,
			 "WRITE after the unmap");
	remap_at(r2, "new memory where the stream's target was");
	expect_pat(tc, "new memory where the stream's target was", r2->mem,
		   2 * MIB, ZERO);
}

/*
 * ibv_dereg_mr of the target's MR (explicit, or the implicit one) while
 * WRITEs into it run: it returns promptly, the WRITEs succeed up to it,
 * then REM_ACCESS_ERR and flushes; every byte of the target is zero or
 * what was written there; a fresh MR over it works.
 */
static void test_dereg(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	struct buf *r, *src;
	struct racer u;
	uint32_t rkey;

	src = obuf(tc, &tc->sa, 2 * MIB);
	r = obuf(tc, &tc->sb, 2 * MIB);
	fill_pat(src->mem, 2 * MIB, 56);
	do_write(c, src, 0, r, 0, 2 * MIB, IBV_WC_SUCCESS,
		 "WRITE before the stream");
	madv(r->mem, 2 * MIB, MADV_DONTNEED, "MADV_DONTNEED");
	memset(&u, 0, sizeof(u));
	u.act = R_DEREG;
	rkey = r->rkey;
	if (tc->mode == M_IMPLICIT) {
		u.mr = tc->sb.imr;
		tc->sb.imr = NULL;
	} else {
		u.mr = r->mr;
		r->mr = NULL;
	}
	if (!stream_race(c, src, (uintptr_t)r->mem, rkey, &u,
			 "ibv_dereg_mr under WRITEs"))
		do_write(c, src, 0, r, 0, STREAM_LEN, IBV_WC_REM_ACCESS_ERR,
			 "WRITE after the deregistration");
	CHECK(u.ms < 5000, "ibv_dereg_mr under traffic took %" PRId64 " ms",
	      u.ms);
	expect_zero_or("target after the deregistration", r->mem, src->mem,
		       2 * MIB);

	c = conn_open(tc);
	buf_reg(r, &tc->sb, odp_kind(tc), ODP_ACCESS);
	fill_pat(src->mem, 2 * MIB, 57);
	do_write(c, src, 0, r, 0, 2 * MIB, IBV_WC_SUCCESS,
		 "WRITE through a fresh MR");
	expect_pat(tc, "WRITE through a fresh MR", r->mem, 2 * MIB, 57);
}

/*
 * A MAP_SHARED tmpfs file truncated to 0 while WRITEs into its mapping
 * run: they succeed up to the truncation, then REM_ACCESS_ERR (beyond
 * the end of the file) and flushes; extended again, the file holds only
 * zeros, and a WRITE then lands in it.
 */
static void test_truncate(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 2 * MIB;
	struct buf *f, *src;
	struct racer u;
	uint8_t *p, *got;
	int fd;

	p = file_map(tc, len, &fd);
	f = obuf_at(tc, &tc->sb, p, len, fd);
	src = obuf(tc, &tc->sa, len);
	got = vt_tc_alloc(&tc->vc, len);
	fill_pat(src->mem, len, 311);
	do_write(c, src, 0, f, 0, len, IBV_WC_SUCCESS,
		 "WRITE before the stream");
	memset(&u, 0, sizeof(u));
	u.act = R_TRUNCATE;
	u.fd = fd;
	if (!stream_race(c, src, (uintptr_t)f->mem, f->rkey, &u,
			 "ftruncate under WRITEs"))
		do_write(c, src, 0, f, 0, STREAM_LEN, IBV_WC_REM_ACCESS_ERR,
			 "WRITE after the truncation");
	CHECK(!ftruncate(fd, (off_t)len), "ftruncate: %s", strerror(errno));
	CHECK(pread(fd, got, len, 0) == (ssize_t)len, "pread: %s",
	      strerror(errno));
	expect_pat(tc, "the file truncated and extended again", got, len,
		   ZERO);
	c = conn_open(tc);
	do_write(c, src, 0, f, 100, 5000, IBV_WC_SUCCESS,
		 "WRITE after the file was extended again");
	CHECK(pread(fd, got, len, 0) == (ssize_t)len, "pread: %s",
	      strerror(errno));
	expect_region(tc, "the file after the last WRITE", got, len, 100,
		      src->mem, 5000, ZERO);
}

/*
 * mremap of a buffer the NIC mirrored: the old address fails
 * (REM_ACCESS_ERR); with the implicit MR the new address works with the
 * same key and shows the data; with an explicit MR the new address is
 * outside the MR (REM_ACCESS_ERR).  Moved back to the old address (data
 * changed by the CPU meanwhile), the NIC reads the new data and its WRITE
 * is what the CPU reads.
 */
static void test_mremap(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 256 * KIB, map_len;
	struct buf *r, *src, *l, *yb, ybuf;
	uint8_t *x, *y, *p;

	r = obuf(tc, &tc->sb, len);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	x = r->mem;
	y = map_blocks(len, &map_len, false);
	CHECK(y, "mmap: %s", strerror(errno));
	CHECK(map_len == r->map_len, "map lengths %zu and %zu", map_len,
	      r->map_len);
	yb = buf_track(tc, y, len, y, map_len, -1);

	fill_pat(src->mem, len, 61);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS, "WRITE");
	p = mremap(x, map_len, map_len, MREMAP_MAYMOVE | MREMAP_FIXED, y);
	CHECK(p == y, "mremap %p -> %p: %s", (void *)x, (void *)y,
	      p == MAP_FAILED ? strerror(errno) : "moved elsewhere");
	/*
	 * Hold the old range: the QPs opened below map their rings, and
	 * one could land in the hole that the MREMAP_FIXED back would then
	 * unmap under the provider (seen once: a READ posted into a ring
	 * the kernel no longer saw).
	 */
	hold_range(x, map_len);
	expect_pat(tc, "CPU at the new address", y, len, 61);

	do_read(c, l, 0, r, 0, len, IBV_WC_REM_ACCESS_ERR,
		"READ at the old address after mremap");
	c = conn_open(tc);
	ybuf = *r;
	ybuf.mem = y;
	if (tc->mode == M_IMPLICIT) {
		fill_pat(l->mem, len, G_BACK);
		do_read(c, l, 0, &ybuf, 0, len, IBV_WC_SUCCESS,
			"READ at the new address, same key");
		expect_pat(tc, "READ at the new address", l->mem, len, 61);
		fill_pat(src->mem, len, 62);
		do_write(c, src, 0, &ybuf, 0, len, IBV_WC_SUCCESS,
			 "WRITE at the new address, same key");
		expect_pat(tc, "CPU after the WRITE at the new address", y,
			   len, 62);
	} else {
		do_read(c, l, 0, &ybuf, 0, len, IBV_WC_REM_ACCESS_ERR,
			"READ at the new address (outside the explicit MR)");
		c = conn_open(tc);
	}

	fill_pat(y, len, 63);
	p = mremap(y, map_len, map_len, MREMAP_MAYMOVE | MREMAP_FIXED, x);
	CHECK(p == x, "mremap back %p -> %p: %s", (void *)y, (void *)x,
	      p == MAP_FAILED ? strerror(errno) : "moved elsewhere");
	yb->map = NULL;		/* nothing left there to unmap */
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS,
		"READ at the old address after mremap back");
	expect_pat(tc, "READ at the old address after mremap back", l->mem,
		   len, 63);
	fill_pat(src->mem, len, 64);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS,
		 "WRITE at the old address after mremap back");
	expect_pat(tc, "CPU after the WRITE at the old address", x, len, 64);
}

/*
 * Neighbours inside the kernel's fault window (it may fault more than a
 * transfer touches): pages RW | PROT_NONE | RW | PROT_READ | RW, then
 * nothing mapped.  Page-sized WRITEs into each RW page and READs of the
 * readable ones succeed and show; a WRITE reaching the PROT_READ page and
 * a READ of the PROT_NONE page fail with REM_ACCESS_ERR.
 */
static void test_neighbours(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t map_len, n = 5 * PAGE;
	struct buf *r, *src, *l;
	uint8_t *p, *want;
	unsigned int pg;

	p = map_blocks(n, &map_len, false);
	CHECK(p, "mmap: %s", strerror(errno));
	r = buf_track(tc, p, n, p, map_len, -1);
	fill_pat(p, n, 151);
	CHECK(!munmap(p + n, map_len - n), "munmap: %s", strerror(errno));
	r->map_len = n;
	mprot(p + PAGE, PAGE, PROT_NONE, "PROT_NONE");
	mprot(p + 3 * PAGE, PAGE, PROT_READ, "PROT_READ");
	buf_reg(r, &tc->sb, odp_kind(tc), ODP_ACCESS);
	src = obuf(tc, &tc->sa, n);
	l = obuf(tc, &tc->sa, n);
	want = vt_tc_alloc(&tc->vc, n);
	fill_pat(want, n, 151);
	fill_pat(src->mem, n, 152);

	for (pg = 0; pg < 5; pg += 2) {
		char what[120];

		snprintf(what, sizeof(what), "WRITE of page %u (RW)", pg);
		do_write(c, src, pg * PAGE, r, pg * PAGE, PAGE,
			 IBV_WC_SUCCESS, what);
		memcpy(want + pg * PAGE, src->mem + pg * PAGE, PAGE);
		expect_same(what, p + pg * PAGE, want + pg * PAGE, PAGE);
	}
	fill_pat(l->mem, n, G_BACK);
	do_read(c, l, 0, r, 2 * PAGE, 3 * PAGE, IBV_WC_SUCCESS,
		"READ of pages 2-4 (RW, PROT_READ, RW)");
	expect_same("READ of pages 2-4", l->mem, want + 2 * PAGE, 3 * PAGE);
	do_read(c, l, 0, r, 0, PAGE, IBV_WC_SUCCESS, "READ of page 0");
	expect_same("READ of page 0", l->mem, want, PAGE);
	expect_same("PROT_READ page 3 (CPU)", p + 3 * PAGE, want + 3 * PAGE,
		    PAGE);

	do_write(c, src, 0, r, 2 * PAGE + 100, 2 * PAGE,
		 IBV_WC_REM_ACCESS_ERR,
		 "WRITE from page 2 into the PROT_READ page 3");
	expect_same("PROT_READ page 3 after the refused WRITE", p + 3 * PAGE,
		    want + 3 * PAGE, PAGE);
	c = conn_open(tc);
	do_read(c, l, 0, r, PAGE + 8, 64, IBV_WC_REM_ACCESS_ERR,
		"READ of the PROT_NONE page 1");
	c = conn_open(tc);
	fill_pat(src->mem, n, 153);
	do_write(c, src, 0, r, 4 * PAGE, PAGE, IBV_WC_SUCCESS,
		 "WRITE of page 4 (next to the unmapped hole), again");
	expect_same("page 4 (CPU)", p + 4 * PAGE, src->mem, PAGE);
	do_read(c, l, 0, r, 0, PAGE, IBV_WC_SUCCESS, "READ of page 0 again");
	expect_same("READ of page 0 again", l->mem, want, PAGE);
}

/*
 * Read-only memory must not fault forever: a memfd mapped PROT_READ is a
 * READ source (explicit MR with REMOTE_READ only, or the implicit MR) and
 * a WRITE and SEND source; a MAP_PRIVATE mapping of it, read by the NIC
 * (page cache pages, read-only), then written by the NIC gets private
 * copies: the CPU sees the WRITE, the file and the shared view do not.
 */
static void test_readonly(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 64 * KIB;
	struct buf *rob, *roa, *pv, *l, *dst, *rb, *src;
	uint8_t *p, *got;
	int fd;

	fd = memfd_create("odp_test_ro", 0);
	CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	src = obuf(tc, &tc->sa, len);
	fill_pat(src->mem, len, 161);
	CHECK(pwrite(fd, src->mem, len, 0) == (ssize_t)len, "pwrite: %s",
	      strerror(errno));
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "mmap PROT_READ: %s", strerror(errno));
	rob = buf_track(tc, p, len, p, len, fd);
	buf_reg(rob, &tc->sb, odp_kind(tc), IBV_ACCESS_REMOTE_READ);
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "mmap PROT_READ: %s", strerror(errno));
	roa = buf_track(tc, p, len, p, len, -1);
	buf_reg(roa, &tc->sa, odp_kind(tc), 0);
	l = obuf(tc, &tc->sa, len);
	dst = obuf(tc, &tc->sb, len);
	rb = obuf(tc, &tc->sb, len);
	got = vt_tc_alloc(&tc->vc, len);

	do_read(c, l, 0, rob, 0, len, IBV_WC_SUCCESS,
		"READ from a PROT_READ file mapping");
	expect_pat(tc, "READ from a PROT_READ file mapping", l->mem, len, 161);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, rob, 0, len, IBV_WC_SUCCESS, "the same READ, warm");
	expect_pat(tc, "the same READ, warm", l->mem, len, 161);
	do_write(c, roa, 0, dst, 0, len, IBV_WC_SUCCESS,
		 "WRITE from a PROT_READ file mapping");
	expect_pat(tc, "WRITE from a PROT_READ file mapping", dst->mem, len,
		   161);
	do_send(c, roa, 0, rb, 0, len, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND from a PROT_READ file mapping");
	expect_pat(tc, "SEND from a PROT_READ file mapping", rb->mem, len,
		   161);

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(p != MAP_FAILED, "mmap MAP_PRIVATE: %s", strerror(errno));
	pv = obuf_at(tc, &tc->sb, p, len, -1);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, pv, 0, len, IBV_WC_SUCCESS,
		"READ from a MAP_PRIVATE file mapping");
	expect_pat(tc, "READ from a MAP_PRIVATE file mapping", l->mem, len,
		   161);
	write_inside(tc, c, src, pv, len, 8, 161,
		     "WRITE into a MAP_PRIVATE file mapping",
		     "MAP_PRIVATE mapping after the NIC's WRITE (CPU)");
	CHECK(pread(fd, got, len, 0) == (ssize_t)len, "pread: %s",
	      strerror(errno));
	expect_pat(tc, "the file after a WRITE into its MAP_PRIVATE mapping",
		   got, len, 161);
	expect_pat(tc, "the shared view after a WRITE into the private one",
		   rob->mem, len, 161);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, rob, 0, len, IBV_WC_SUCCESS,
		"READ from the shared view after the private WRITE");
	expect_pat(tc, "READ from the shared view after the private WRITE",
		   l->mem, len, 161);
}

/*
 * Several MRs over the same memory: two explicit ODP MRs and the implicit
 * one.  A WRITE through one shows through the others; after one is
 * deregistered and the pages dropped, the others fault again and work;
 * the deregistered key fails with REM_ACCESS_ERR.
 */
static void test_overlap(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 256 * KIB;
	struct buf *m1, *m2, *im, *src, *l;

	m1 = buf_new(tc, &tc->sb, len, B_ODP, ODP_ACCESS);
	m2 = buf_track(tc, m1->mem, len, NULL, 0, -1);
	buf_reg(m2, &tc->sb, B_ODP, ODP_ACCESS);
	im = buf_track(tc, m1->mem, len, NULL, 0, -1);
	buf_reg(im, &tc->sb, B_IMPLICIT, 0);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);

	fill_pat(src->mem, len, 171);
	do_write(c, src, 0, m1, 0, len, IBV_WC_SUCCESS,
		 "WRITE through the first MR");
	do_read(c, l, 0, m2, 0, len, IBV_WC_SUCCESS,
		"READ through the second MR");
	expect_pat(tc, "READ through the second MR", l->mem, len, 171);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, im, 0, len, IBV_WC_SUCCESS,
		"READ through the implicit MR");
	expect_pat(tc, "READ through the implicit MR", l->mem, len, 171);

	CHECK(!ibv_dereg_mr(m1->mr), "ibv_dereg_mr: %s", strerror(errno));
	m1->mr = NULL;
	madv(m2->mem, len, MADV_DONTNEED, "MADV_DONTNEED");
	fill_pat(src->mem, len, 172);
	do_write(c, src, 0, m2, 0, len, IBV_WC_SUCCESS,
		 "WRITE through the second MR after the first is gone");
	expect_pat(tc, "WRITE through the second MR (CPU)", m2->mem, len, 172);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, im, 0, len, IBV_WC_SUCCESS,
		"READ through the implicit MR after the first is gone");
	expect_pat(tc, "READ through the implicit MR", l->mem, len, 172);
	do_write(c, src, 0, m1, 0, len, IBV_WC_REM_ACCESS_ERR,
		 "WRITE with the deregistered MR's key");
	expect_pat(tc, "memory after the WRITE with a dead key", m2->mem, len,
		   172);
}

#define BIG_MR		(64ull << 30)

/*
 * An MR as large as the address space allows (64 GiB, MAP_NORESERVE,
 * explicit; or the implicit MR over such a mapping): registration and
 * deregistration are quick, WRITEs and READs at its start, middle and
 * end work, and only what was touched becomes resident.
 */
static void test_bigmr(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	const size_t offs[] = { 0, BIG_MR / 2 + 12345, BIG_MR - 64 * KIB };
	size_t len = 64 * KIB;
	struct buf *r, *src, *l;
	long rss0, rss1;
	int64_t t0, t_reg;
	unsigned int i;
	uint8_t *p;

	p = mmap(NULL, BIG_MR, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(p != MAP_FAILED, "mmap of 64 GiB (MAP_NORESERVE): %s",
	      strerror(errno));
	r = buf_track(tc, p, BIG_MR, p, BIG_MR, -1);
	madv(p, BIG_MR, MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE");
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	rss0 = vm_kb("VmRSS");
	t0 = vt_now_ms();
	buf_reg(r, &tc->sb, odp_kind(tc), ODP_ACCESS);
	t_reg = vt_now_ms() - t0;
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		char what[120];

		snprintf(what, sizeof(what), "WRITE at +0x%zx of 64 GiB",
			 offs[i]);
		fill_pat(src->mem, len, 181 + i);
		do_write(c, src, 0, r, offs[i], len, IBV_WC_SUCCESS, what);
		expect_pat(tc, what, p + offs[i], len, 181 + i);
		snprintf(what, sizeof(what), "READ at +0x%zx of 64 GiB",
			 offs[i]);
		fill_pat(l->mem, len, G_BACK);
		do_read(c, l, 0, r, offs[i], len, IBV_WC_SUCCESS, what);
		expect_pat(tc, what, l->mem, len, 181 + i);
	}
	rss1 = vm_kb("VmRSS");
	t0 = vt_now_ms();
	if (r->mr) {
		CHECK(!ibv_dereg_mr(r->mr), "ibv_dereg_mr: %s",
		      strerror(errno));
		r->mr = NULL;
	}
	vt_diag("64 GiB %s MR: registered in %" PRId64 " ms, deregistered in %" PRId64 " ms; VmRSS +%ld kB",
		mode_names[tc->mode], t_reg, vt_now_ms() - t0, rss1 - rss0);
	CHECK(t_reg < 2000, "registering 64 GiB took %" PRId64 " ms", t_reg);
	CHECK(rss1 - rss0 < 64 * 1024,
	      "VmRSS grew by %ld kB for 3 x 64 KiB of traffic", rss1 - rss0);
}

/* A thread dropping the target's pages in a loop for a while. */
struct dropper {
	uint8_t *mem, *mem2;
	size_t len;
	int64_t until;
	unsigned int rounds;
	unsigned int pause_us;
	int64_t max_ms;			/* the longest madvise() */
	int err;
};

static void *dropper_run(void *arg)
{
	struct dropper *d = arg;

	int64_t t0;

	while (vt_now_ms() < d->until) {
		t0 = vt_now_ms();
		if (madvise(d->mem, d->len, MADV_DONTNEED) ||
		    (d->rounds % 4 == 3 &&
		     madvise(d->mem2, d->len, MADV_DONTNEED))) {
			d->err = errno;
			break;
		}
		if (vt_now_ms() - t0 > d->max_ms)
			d->max_ms = vt_now_ms() - t0;
		d->rounds++;
		usleep(d->pause_us);
	}
	return NULL;
}

/*
 * Invalidation racing the NIC: a thread drops a 2 MiB target's pages
 * (MADV_DONTNEED) in a loop for 1.5 s, and every 4th round the READ
 * destination's, while WRITEs, READs and SENDs (into it) of 256 KiB run
 * against it.  Both
 * make progress and all transfers succeed; every byte the target or a
 * READ holds is zero or what was written at that offset (never stale or
 * foreign data); afterwards a WRITE and READ are exact.
 */
static void test_race(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 2 * MIB, chunk = 256 * KIB, off;
	unsigned int ops = 0;
	struct buf *r, *src, *l;
	int64_t max_ms = 0;
	uint64_t retx, tmo;
	struct dropper d;
	pthread_t th;
	char what[120];

	r = obuf(tc, &tc->sb, len);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	fill_pat(src->mem, len, 191);
	memset(&d, 0, sizeof(d));
	d.mem = r->mem;
	d.mem2 = l->mem;
	d.len = len;
	d.until = vt_now_ms() + 1500;
	retx = hw_counter(tc->pair->a, tc->pair->b, "retransmits");
	tmo = hw_counter(tc->pair->a, tc->pair->b, "ack_timeouts");
	d.pause_us = getenv("ODP_RACE_US") ?
		     (unsigned int)atoi(getenv("ODP_RACE_US")) : 1000;
	CHECK(!pthread_create(&th, NULL, dropper_run, &d),
	      "pthread_create failed");
	while (vt_now_ms() < d.until) {
		int64_t t0 = vt_now_ms();

		off = (ops % (len / chunk)) * chunk;
		snprintf(what, sizeof(what), "op %u: %s at +%zu", ops,
			 ops % 3 == 1 ? "READ" : ops % 3 ? "SEND" : "WRITE",
			 off);
		if (ops % 3 == 1) {
			memset(l->mem + off, 0xee, chunk);
			do_read(c, l, off, r, off, chunk, IBV_WC_SUCCESS,
				what);
			expect_zero_or(what, l->mem + off, src->mem + off,
				       chunk);
		} else if (ops % 3 == 2) {
			do_send(c, src, off, r, off, chunk, IBV_WC_SUCCESS,
				IBV_WC_SUCCESS, what);
		} else {
			do_write(c, src, off, r, off, chunk, IBV_WC_SUCCESS,
				 what);
		}
		ops++;
		if (vt_now_ms() - t0 > max_ms)
			max_ms = vt_now_ms() - t0;
	}
	pthread_join(th, NULL);
	usleep(10000);
	vt_diag("%u WRITEs, READs and SENDs of 256 KiB (the longest %" PRId64 " ms) against %u rounds of MADV_DONTNEED %u us apart (the longest %" PRId64 " ms); retransmits +%" PRIu64 ", ack_timeouts +%" PRIu64,
		ops, max_ms, d.rounds, d.pause_us, d.max_ms,
		hw_counter(tc->pair->a, tc->pair->b, "retransmits") - retx,
		hw_counter(tc->pair->a, tc->pair->b, "ack_timeouts") - tmo);
	CHECK(!d.err, "madvise: %s", strerror(d.err));
	/* Both sides made progress (how much: see the diagnostic). */
	CHECK(d.rounds >= 2 && ops >= 2,
	      "too little racing: %u rounds, %u transfers", d.rounds, ops);
	expect_zero_or("target after the race", r->mem, src->mem, len);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS, "WRITE after the race");
	expect_pat(tc, "WRITE after the race", r->mem, len, 191);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS, "READ after the race");
	expect_pat(tc, "READ after the race", l->mem, len, 191);
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

/*
 * Page migration: MADV_COLLAPSE copies the small pages the NIC mirrored
 * into a new transparent huge page and frees them.  A READ then returns
 * the data, a WRITE is what the CPU reads (not written into a freed
 * page), and the collapse invalidated the mirror.
 */
static void test_collapse(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 2 * MIB;
	struct buf *r, *src, *l;
	struct cnts before, d;

	r = obuf(tc, &tc->sb, len);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	fill_pat(r->mem, len, G_DST);
	fill_pat(src->mem, len, 201);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS,
		 "WRITE into small pages");
	CHECK(anon_huge_kb(r->mem) == 0, "AnonHugePages %ld kB before",
	      anon_huge_kb(r->mem));
	madv(r->mem, len, MADV_HUGEPAGE, "MADV_HUGEPAGE");
	snap(tc, &before);
	if (madvise(r->mem, len, MADV_COLLAPSE)) {
		vt_diag("MADV_COLLAPSE: %s", strerror(errno));
		CHECK(errno != EINVAL, "this kernel has no MADV_COLLAPSE");
		skip();
	}
	since(tc, &before, &d);
	CHECK(anon_huge_kb(r->mem) >= 2048,
	      "MADV_COLLAPSE made no huge page (AnonHugePages %ld kB)",
	      anon_huge_kb(r->mem));
	CHECK(d.v[VT_C_INVAL_PAGES] >= len / PAGE,
	      "MADV_COLLAPSE: odp_inval_pages +%" PRIu64 ", want >= %zu (the mirrored small pages)",
	      d.v[VT_C_INVAL_PAGES], len / PAGE);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS, "READ after the collapse");
	expect_pat(tc, "READ after the collapse", l->mem, len, 201);
	write_inside(tc, c, src, r, len, 3, 201, "WRITE after the collapse",
		     "WRITE after the collapse (CPU)");
}

/*
 * Addresses an ODP MR does not cover.  Implicit: NULL, above the user
 * address space, the kernel's direct map, the vsyscall page, a range that
 * wraps past 2^64: WRITE and READ fail with REM_ACCESS_ERR, local SGEs
 * there with LOC_PROT_ERR.  Explicit, an MR at an odd address and
 * length: a byte before or after it fails, all of it works; an MR with
 * an iova unlike its address is reached at the iova (and not at the
 * address), also after its pages were dropped.
 */
static void test_bounds(void **state)
{
	static const struct {
		uint64_t va;
		size_t len;
	} bad[] = {
		{ 0, 64 }, { 0x800000000000ull, 64 },
		{ 0xffff888000000000ull, 64 }, { 0xffffffffff600000ull, 64 },
		{ 0xfffffffffffff000ull, 8192 },
	};
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 8000, off = 123, i;
	struct buf *r, *src, *l, *iv, lb;
	uint64_t iova;
	char what[160];

	src = obuf(tc, &tc->sa, 4 * PAGE);
	l = obuf(tc, &tc->sa, 4 * PAGE);
	fill_pat(src->mem, 4 * PAGE, 221);
	if (tc->mode == M_IMPLICIT) {
		struct ibv_mr *imr = side_implicit(&tc->sb);

		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			snprintf(what, sizeof(what), "WRITE of %zu bytes at 0x%" PRIx64,
				 bad[i].len, bad[i].va);
			rdma_at(c, IBV_WR_RDMA_WRITE, src, 0, bad[i].va,
				imr->rkey, bad[i].len, IBV_WC_REM_ACCESS_ERR,
				what);
			c = conn_open(tc);
			snprintf(what, sizeof(what), "READ of %zu bytes at 0x%" PRIx64,
				 bad[i].len, bad[i].va);
			rdma_at(c, IBV_WR_RDMA_READ, l, 0, bad[i].va,
				imr->rkey, bad[i].len, IBV_WC_REM_ACCESS_ERR,
				what);
			c = conn_open(tc);
		}
		/* Local SGEs through the implicit lkey. */
		lb = *l;
		lb.mem = (uint8_t *)(uintptr_t)0x800000000000ull;
		r = obuf(tc, &tc->sb, PAGE);
		do_read(c, &lb, 0, r, 0, 64, IBV_WC_LOC_PROT_ERR,
			"READ into 0x800000000000 (implicit lkey)");
		c = conn_open(tc);
		lb.mem = NULL;
		do_write(c, &lb, 0, r, 0, 64, IBV_WC_LOC_PROT_ERR,
			 "WRITE from NULL (implicit lkey)");
		return;
	}

	r = obuf(tc, &tc->sb, 4 * PAGE);
	CHECK(!ibv_dereg_mr(r->mr), "ibv_dereg_mr: %s", strerror(errno));
	r->mr = ibv_reg_mr(tc->sb.pd, r->mem + off, len,
			   IBV_ACCESS_ON_DEMAND | ODP_ACCESS);
	CHECK(r->mr, "ODP MR at +%zu of %zu bytes: %s", off, len,
	      strerror(errno));
	r->rkey = r->mr->rkey;
	do_write(c, src, 0, r, off, len, IBV_WC_SUCCESS,
		 "WRITE of all of an MR at an odd address");
	expect_region(tc, "WRITE of all of an MR at an odd address", r->mem,
		      4 * PAGE, off, src->mem, len, ZERO);
	do_write(c, src, 0, r, off - 1, 1, IBV_WC_REM_ACCESS_ERR,
		 "WRITE of the byte before the MR");
	c = conn_open(tc);
	do_read(c, l, 0, r, off + len - 1, 2, IBV_WC_REM_ACCESS_ERR,
		"READ of the MR's last byte and the one after");
	c = conn_open(tc);
	rdma_at(c, IBV_WR_RDMA_WRITE, src, 0, 0xfffffffffffffff0ull, r->rkey,
		32, IBV_WC_REM_ACCESS_ERR, "WRITE at a VA that wraps");
	c = conn_open(tc);

	iv = obuf(tc, &tc->sb, 4 * PAGE);
	CHECK(!ibv_dereg_mr(iv->mr), "ibv_dereg_mr: %s", strerror(errno));
	iova = 0x100000000000ull + ((uintptr_t)iv->mem & (PAGE - 1));
	iv->mr = ibv_reg_mr_iova(tc->sb.pd, iv->mem, 4 * PAGE, iova,
				 IBV_ACCESS_ON_DEMAND | ODP_ACCESS);
	CHECK(iv->mr, "ODP MR with iova 0x%" PRIx64 ": %s", iova,
	      strerror(errno));
	iv->rkey = iv->mr->rkey;
	rdma_at(c, IBV_WR_RDMA_WRITE, src, 0, iova + 5000, iv->rkey, 3000,
		IBV_WC_SUCCESS, "WRITE at iova + 5000");
	expect_region(tc, "WRITE at iova + 5000 (CPU)", iv->mem, 4 * PAGE,
		      5000, src->mem, 3000, ZERO);
	fill_pat(iv->mem, 4 * PAGE, 222);
	rdma_at(c, IBV_WR_RDMA_READ, l, 0, iova, iv->rkey, 4 * PAGE,
		IBV_WC_SUCCESS, "READ at the iova");
	expect_pat(tc, "READ at the iova", l->mem, 4 * PAGE, 222);
	madv(iv->mem, 4 * PAGE, MADV_DONTNEED, "MADV_DONTNEED");
	rdma_at(c, IBV_WR_RDMA_READ, l, 0, iova + PAGE, iv->rkey, PAGE,
		IBV_WC_SUCCESS, "READ at the iova after MADV_DONTNEED");
	expect_pat(tc, "READ at the iova after MADV_DONTNEED", l->mem, PAGE,
		   ZERO);
	do_read(c, l, 0, iv, 0, 64, IBV_WC_REM_ACCESS_ERR,
		"READ at the MR's address instead of its iova");
}

/*
 * Scatter and gather lists mixing explicit ODP, implicit ODP and pinned
 * MRs: a SEND gathered from an ODP and a pinned buffer into a receive
 * scattered over implicit and explicit buffers; a WRITE gathered from
 * implicit and pinned memory; a READ scattered into pinned and ODP.
 */
static void test_mixed(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	struct buf *so, *sp, *si, *ri, *re, *t, *lp, *lo;
	struct ibv_sge g[2], rg[2];
	struct ibv_send_wr wr, *bad;
	struct ibv_recv_wr rw, *rbad;
	struct ibv_wc wc;
	uint8_t *want;

	so = buf_new(tc, &tc->sa, 8192, B_ODP, ODP_ACCESS);
	sp = buf_new(tc, &tc->sa, 8192, B_PINNED, IBV_ACCESS_LOCAL_WRITE);
	si = buf_new(tc, &tc->sa, 8192, B_IMPLICIT, 0);
	ri = buf_new(tc, &tc->sb, 8192, B_IMPLICIT, 0);
	re = buf_new(tc, &tc->sb, 8192, B_ODP, ODP_ACCESS);
	t = buf_new(tc, &tc->sb, 8192, B_ODP, ODP_ACCESS);
	lp = buf_new(tc, &tc->sa, 8192, B_PINNED, IBV_ACCESS_LOCAL_WRITE);
	lo = buf_new(tc, &tc->sa, 8192, B_ODP, ODP_ACCESS);
	want = vt_tc_alloc(&tc->vc, 4000);
	cur_conn = c;
	fill_pat(so->mem, 8192, 231);
	fill_pat(sp->mem, 8192, 232);
	fill_pat(si->mem, 8192, 233);

	g[0] = sge(so, 7, 1000);
	g[1] = sge(sp, 11, 3000);
	rg[0] = sge(ri, 5, 2500);
	rg[1] = sge(re, 9, 1500);
	memset(&rw, 0, sizeof(rw));
	rw.wr_id = 1;
	rw.sg_list = rg;
	rw.num_sge = 2;
	CHECK(!ibv_post_recv(c->b.qp, &rw, &rbad), "ibv_post_recv failed");
	vt_send_wr(&wr, 2, g, 2, IBV_WR_SEND, IBV_SEND_SIGNALED);
	CHECK(!ibv_post_send(c->a.qp, &wr, &bad), "ibv_post_send failed");
	expect_wc(c->a.scq, &wc, "mixed SEND", 2, IBV_WC_SUCCESS, IBV_WC_SEND,
		  10000);
	expect_wc(c->b.rcq, &wc, "mixed receive", 1, IBV_WC_SUCCESS,
		  IBV_WC_RECV, 10000);
	CHECK(wc.byte_len == 4000, "mixed receive byte_len %u", wc.byte_len);
	memcpy(want, so->mem + 7, 1000);
	memcpy(want + 1000, sp->mem + 11, 3000);
	expect_region(tc, "receive's implicit part", ri->mem, 8192, 5, want,
		      2500, ZERO);
	expect_region(tc, "receive's explicit part", re->mem, 8192, 9,
		      want + 2500, 1500, ZERO);

	g[0] = sge(si, 1, 2222);
	g[1] = sge(sp, 100, 1778);
	vt_send_wr(&wr, 3, g, 2, IBV_WR_RDMA_WRITE, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = (uintptr_t)t->mem + 3;
	wr.wr.rdma.rkey = t->rkey;
	CHECK(!ibv_post_send(c->a.qp, &wr, &bad), "ibv_post_send failed");
	expect_wc(c->a.scq, &wc, "mixed WRITE", 3, IBV_WC_SUCCESS,
		  IBV_WC_RDMA_WRITE, 10000);
	memcpy(want, si->mem + 1, 2222);
	memcpy(want + 2222, sp->mem + 100, 1778);
	expect_region(tc, "mixed WRITE's target", t->mem, 8192, 3, want, 4000,
		      ZERO);

	g[0] = sge(lp, 50, 1234);
	g[1] = sge(lo, 60, 2766);
	vt_send_wr(&wr, 4, g, 2, IBV_WR_RDMA_READ, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = (uintptr_t)t->mem + 3;
	wr.wr.rdma.rkey = t->rkey;
	CHECK(!ibv_post_send(c->a.qp, &wr, &bad), "ibv_post_send failed");
	expect_wc(c->a.scq, &wc, "mixed READ", 4, IBV_WC_SUCCESS,
		  IBV_WC_RDMA_READ, 10000);
	expect_region(tc, "mixed READ's pinned part", lp->mem, 8192, 50, want,
		      1234, ZERO);
	expect_region(tc, "mixed READ's ODP part", lo->mem, 8192, 60,
		      want + 1234, 2766, ZERO);
}

#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif

/* The page frame number behind @addr (root only), 0 when not present. */
static uint64_t pfn_of(const void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (off_t)((uintptr_t)addr / PAGE * 8)) != 8)
		e = 0;
	close(fd);
	return e >> 63 ? e & ((1ull << 55) - 1) : 0;
}

/*
 * Page migration, forced: MADV_SOFT_OFFLINE moves each page the NIC
 * mirrored (writable) to a new frame (checked in /proc/self/pagemap).
 * The mirror is invalidated; a READ returns the data and a WRITE is what
 * the CPU reads, not written into the old frames.
 */
static void test_migrate(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 4 * PAGE;	/* the kernel logs each page it moves */
	struct buf *r, *src, *l;
	struct cnts before, d;
	uint64_t pfn0;

	r = obuf(tc, &tc->sb, len);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	fill_pat(src->mem, len, 271);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS, "WRITE");
	pfn0 = pfn_of(r->mem);
	snap(tc, &before);
	if (madvise(r->mem, len, MADV_SOFT_OFFLINE)) {
		vt_diag("MADV_SOFT_OFFLINE: %s", strerror(errno));
		CHECK(errno != EINVAL && errno != EPERM,
		      "MADV_SOFT_OFFLINE is not available");
		skip();
	}
	since(tc, &before, &d);
	vt_diag("page 0: pfn 0x%" PRIx64 " -> 0x%" PRIx64 "; odp_inval_pages +%" PRIu64,
		pfn0, pfn_of(r->mem), d.v[VT_C_INVAL_PAGES]);
	CHECK(pfn0 && pfn_of(r->mem) && pfn_of(r->mem) != pfn0,
	      "the page did not move (pfn 0x%" PRIx64 " -> 0x%" PRIx64 ")",
	      pfn0, pfn_of(r->mem));
	CHECK(d.v[VT_C_INVAL_PAGES] >= len / PAGE,
	      "migration: odp_inval_pages +%" PRIu64 ", want >= %zu",
	      d.v[VT_C_INVAL_PAGES], len / PAGE);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS, "READ after migration");
	expect_pat(tc, "READ after migration", l->mem, len, 271);
	fill_pat(src->mem, len, 272);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS,
		 "WRITE after migration");
	expect_pat(tc, "WRITE after migration (CPU)", r->mem, len, 272);
}

/*
 * A poisoned page (MADV_HWPOISON on a page the NIC mirrored): a READ or
 * a WRITE touching it fails with REM_ACCESS_ERR, the NIC never reads the
 * bad frame; the pages around it still work.  The CPU never touches it.
 */
static void test_hwpoison(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 4 * PAGE;
	struct buf *r, *src, *l;

	r = obuf(tc, &tc->sb, len);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	fill_pat(src->mem, len, 281);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS, "WRITE");
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS, "READ");
	if (madvise(r->mem + PAGE, PAGE, MADV_HWPOISON)) {
		vt_diag("MADV_HWPOISON: %s", strerror(errno));
		CHECK(errno != EINVAL && errno != EPERM,
		      "MADV_HWPOISON is not available");
		skip();
	}
	do_read(c, l, 0, r, PAGE + 100, 200, IBV_WC_REM_ACCESS_ERR,
		"READ of the poisoned page");
	c = conn_open(tc);
	do_write(c, src, 0, r, PAGE - 8, 16, IBV_WC_REM_ACCESS_ERR,
		 "WRITE into the poisoned page");
	c = conn_open(tc);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 2 * PAGE, 2 * PAGE, IBV_WC_SUCCESS,
		"READ of the pages after the poisoned one");
	expect_same("READ of the pages after the poisoned one", l->mem,
		    src->mem + 2 * PAGE, 2 * PAGE);
}

/*
 * ibv_rereg_mr of an explicit ODP MR: a new range (the NIC then reaches
 * the new memory with the MR's keys, not the old), fewer access rights
 * (a WRITE fails, a READ works), and no ON_DEMAND any more (it pins: VmPin
 * grows, WRITEs work; back to 0 after the deregistration).
 */
static void test_rereg(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 64 * KIB, map_len;
	struct buf *x, *y, *src, *l;
	uint32_t old_rkey;
	long pin0;
	uint8_t *p;
	int rc;

	x = buf_new(tc, &tc->sb, len, B_ODP, ODP_ACCESS);
	p = map_blocks(len, &map_len, false);
	CHECK(p, "mmap: %s", strerror(errno));
	y = buf_track(tc, p, len, p, map_len, -1);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	fill_pat(src->mem, len, 291);
	do_write(c, src, 0, x, 0, len, IBV_WC_SUCCESS, "WRITE before rereg");

	old_rkey = x->rkey;
	rc = ibv_rereg_mr(x->mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
			  y->mem, len, 0);
	CHECK(!rc, "ibv_rereg_mr(CHANGE_TRANSLATION): %d (%s)", rc,
	      strerror(errno));
	y->rkey = x->mr->rkey;
	y->lkey = x->mr->lkey;
	fill_pat(src->mem, len, 292);
	do_write(c, src, 0, y, 0, len, IBV_WC_SUCCESS,
		 "WRITE into the MR's new range");
	expect_pat(tc, "the MR's new range (CPU)", y->mem, len, 292);
	expect_pat(tc, "the MR's old range (CPU)", x->mem, len, 291);
	rdma_at(c, IBV_WR_RDMA_WRITE, src, 0, (uintptr_t)x->mem, old_rkey,
		len, IBV_WC_REM_ACCESS_ERR,
		"WRITE into the old range with the old key");
	c = conn_open(tc);
	rdma_at(c, IBV_WR_RDMA_WRITE, src, 0, (uintptr_t)x->mem, y->rkey, len,
		IBV_WC_REM_ACCESS_ERR,
		"WRITE into the old range with the new key");
	expect_pat(tc, "the MR's old range after the refused WRITEs", x->mem,
		   len, 291);

	c = conn_open(tc);
	rc = ibv_rereg_mr(x->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			  IBV_ACCESS_ON_DEMAND | IBV_ACCESS_LOCAL_WRITE |
			  IBV_ACCESS_REMOTE_READ);
	CHECK(!rc, "ibv_rereg_mr(CHANGE_ACCESS): %d (%s)", rc,
	      strerror(errno));
	y->rkey = x->mr->rkey;
	do_write(c, src, 0, y, 0, len, IBV_WC_REM_ACCESS_ERR,
		 "WRITE after REMOTE_WRITE was taken away");
	c = conn_open(tc);
	do_read(c, l, 0, y, 0, len, IBV_WC_SUCCESS,
		"READ after REMOTE_WRITE was taken away");
	expect_pat(tc, "READ after REMOTE_WRITE was taken away", l->mem, len,
		   292);

	pin0 = vm_kb("VmPin");
	rc = ibv_rereg_mr(x->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			  IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	CHECK(!rc, "ibv_rereg_mr(CHANGE_ACCESS to pinned): %d (%s)", rc,
	      strerror(errno));
	y->rkey = x->mr->rkey;
	CHECK(vm_kb("VmPin") == pin0 + (long)(len / KIB),
	      "VmPin %ld kB after the MR became pinned, want %ld",
	      vm_kb("VmPin"), pin0 + (long)(len / KIB));
	fill_pat(src->mem, len, 293);
	do_write(c, src, 0, y, 0, len, IBV_WC_SUCCESS,
		 "WRITE into the MR, pinned now");
	expect_pat(tc, "WRITE into the MR, pinned now (CPU)", y->mem, len,
		   293);
	CHECK(!ibv_dereg_mr(x->mr), "ibv_dereg_mr: %s", strerror(errno));
	x->mr = NULL;
	CHECK(vm_kb("VmPin") == pin0, "VmPin %ld kB after dereg, want %ld",
	      vm_kb("VmPin"), pin0);
}

/*
 * An implicit MR's blocks go when their whole 2 MiB is unmapped, and come
 * back when used again: 24 rounds of mmap at one address, WRITE, READ,
 * munmap (explicit: one MR over that range all along).
 */
static void test_remap_cycles(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = BLOCK;
	struct buf *r, *src, *l;
	unsigned int i;
	char what[120];

	r = obuf(tc, &tc->sb, len);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	for (i = 0; i < 24; i++) {
		size_t off = (i * 4096 * 37) % (len - 64 * KIB);

		snprintf(what, sizeof(what), "round %u: WRITE at +%zu", i,
			 off);
		fill_pat(src->mem, 64 * KIB, 300 + i);
		do_write(c, src, 0, r, off, 64 * KIB, IBV_WC_SUCCESS, what);
		expect_region(tc, what, r->mem, len, off, src->mem, 64 * KIB,
			      ZERO);
		snprintf(what, sizeof(what), "round %u: READ at +%zu", i,
			 off);
		fill_pat(l->mem, 64 * KIB, G_BACK);
		do_read(c, l, 0, r, off, 64 * KIB, IBV_WC_SUCCESS, what);
		expect_same(what, l->mem, src->mem, 64 * KIB);
		CHECK(!munmap(r->map, r->map_len), "munmap: %s",
		      strerror(errno));
		remap_at(r, what);
	}
}

/*
 * Two QPs fault the same cold pages at once: WRITEs of the same 1 MiB
 * into a cold target posted on both, then READs of cold memory on both:
 * all succeed with the right data.
 */
static void test_two_qps(void **state)
{
	struct tcase *tc = *state;
	struct conn *c1 = conn_open(tc), *c2 = conn_open(tc);
	struct ibv_send_wr wr, *bad;
	struct buf *r, *src, *l1, *l2, *r2;
	struct ibv_sge g1, g2;
	struct ibv_wc wc;
	size_t len = MIB;

	r = obuf(tc, &tc->sb, len);
	src = obuf(tc, &tc->sa, len);
	l1 = obuf(tc, &tc->sa, len);
	l2 = obuf(tc, &tc->sa, len);
	r2 = obuf(tc, &tc->sb, len);
	fill_pat(src->mem, len, 241);
	fill_pat(r2->mem, len, 242);
	cur_conn = c1;

	g1 = sge(src, 0, len);
	vt_send_wr(&wr, 1, &g1, 1, IBV_WR_RDMA_WRITE, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = (uintptr_t)r->mem;
	wr.wr.rdma.rkey = r->rkey;
	CHECK(!ibv_post_send(c1->a.qp, &wr, &bad), "ibv_post_send failed");
	CHECK(!ibv_post_send(c2->a.qp, &wr, &bad), "ibv_post_send failed");
	expect_wc(c1->a.scq, &wc, "WRITE on QP 1", 1, IBV_WC_SUCCESS,
		  IBV_WC_RDMA_WRITE, vt_wc_ms(len));
	expect_wc(c2->a.scq, &wc, "WRITE on QP 2", 1, IBV_WC_SUCCESS,
		  IBV_WC_RDMA_WRITE, vt_wc_ms(len));
	expect_pat(tc, "target of both WRITEs", r->mem, len, 241);

	g1 = sge(l1, 0, len);
	g2 = sge(l2, 0, len);
	wr.opcode = IBV_WR_RDMA_READ;
	wr.wr.rdma.remote_addr = (uintptr_t)r2->mem;
	wr.wr.rdma.rkey = r2->rkey;
	wr.sg_list = &g1;
	CHECK(!ibv_post_send(c1->a.qp, &wr, &bad), "ibv_post_send failed");
	wr.sg_list = &g2;
	CHECK(!ibv_post_send(c2->a.qp, &wr, &bad), "ibv_post_send failed");
	expect_wc(c1->a.scq, &wc, "READ on QP 1", 1, IBV_WC_SUCCESS,
		  IBV_WC_RDMA_READ, vt_wc_ms(len));
	expect_wc(c2->a.scq, &wc, "READ on QP 2", 1, IBV_WC_SUCCESS,
		  IBV_WC_RDMA_READ, vt_wc_ms(len));
	expect_pat(tc, "READ on QP 1", l1->mem, len, 242);
	expect_pat(tc, "READ on QP 2", l2->mem, len, 242);
}

/*
 * One PD on one device for both QPs, so that a transfer's source and
 * target are in the same MR, even the same 2 MiB mirror block (the
 * implicit MR, or one explicit MR over the whole buffer used as lkey and
 * rkey): WRITE, READ and SEND inside one block and between two, with the
 * block cold and warm.
 */
static void test_same_mr(void **state)
{
	struct tcase *tc = *state;
	struct vt_dev *d = tc->pair->a;
	size_t len = 4 * MIB, n = 256 * KIB;
	struct buf *b, *sb;
	struct conn *c;
	uint8_t *want;

	vt_dev_ready(d);
	side_open(&tc->sa, d);
	c = conn_new(tc);
	vt_path_init(&c->path, d, d);
	ep_create(&c->a, &tc->sa, 0x100);
	ep_create(&c->b, &tc->sa, 0x200);
	conn_link(c, d, d);
	b = obuf(tc, &tc->sa, len);
	sb = buf_track(tc, b->mem, len, NULL, 0, -1);
	sb->lkey = b->lkey;
	sb->rkey = b->rkey;
	want = vt_tc_alloc(&tc->vc, len);
	fill_pat(b->mem, n, 251);

	do_write(c, b, 0, sb, MIB, n, IBV_WC_SUCCESS,
		 "WRITE inside one block, cold target");
	do_write(c, b, 0, sb, MIB / 2, n, IBV_WC_SUCCESS,
		 "WRITE inside one block, warm");
	do_read(c, b, 3 * MIB / 2, sb, MIB, n, IBV_WC_SUCCESS,
		"READ inside one block");
	do_send(c, b, 0, sb, 2 * MIB + 5, n, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND into the next block");
	do_read(c, b, 3 * MIB, sb, 2 * MIB + 5, n, IBV_WC_SUCCESS,
		"READ from the next block into a third");
	fill_pat(want, n, 251);
	expect_same("WRITE inside one block, cold target", b->mem + MIB,
		    want, n);
	expect_same("WRITE inside one block, warm", b->mem + MIB / 2, want,
		    n);
	expect_same("READ inside one block", b->mem + 3 * MIB / 2, want, n);
	expect_same("SEND into the next block", b->mem + 2 * MIB + 5, want,
		    n);
	expect_same("READ from the next block into a third", b->mem + 3 * MIB,
		    want, n);
	madv(b->mem + MIB, MIB, MADV_DONTNEED, "MADV_DONTNEED");
	do_write(c, b, 0, sb, MIB + 100, n, IBV_WC_SUCCESS,
		 "WRITE inside one block after MADV_DONTNEED");
	expect_region(tc, "WRITE inside one block after MADV_DONTNEED",
		      b->mem + MIB, MIB, 100, want, n, ZERO);
}

/*
 * userfaultfd: a missing page registered with userfaultfd (and nobody
 * serving the faults) must not hang the NIC: a WRITE into it completes
 * within 10 s with REM_ACCESS_ERR (hmm faults cannot wait for userspace);
 * once the registration is gone, a WRITE works.
 */
static void test_uffd(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	struct uffdio_register reg;
	struct uffdio_api api;
	struct buf *r, *src;
	int uffd;

	r = obuf(tc, &tc->sb, 64 * KIB);
	src = obuf(tc, &tc->sa, 64 * KIB);
	fill_pat(src->mem, 64 * KIB, 261);
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0) {
		vt_diag("userfaultfd: %s", strerror(errno));
		skip();
	}
	buf_track(tc, NULL, 0, NULL, 0, uffd);
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	CHECK(!ioctl(uffd, UFFDIO_API, &api), "UFFDIO_API: %s",
	      strerror(errno));
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)r->mem;
	reg.range.len = 64 * KIB;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	CHECK(!ioctl(uffd, UFFDIO_REGISTER, &reg), "UFFDIO_REGISTER: %s",
	      strerror(errno));
	do_write(c, src, 0, r, 0, PAGE, IBV_WC_REM_ACCESS_ERR,
		 "WRITE into a userfaultfd-missing page");
	close(uffd);
	tc->bufs[tc->nbufs - 1].fd = -1;
	c = conn_open(tc);
	do_write(c, src, 0, r, 0, PAGE, IBV_WC_SUCCESS,
		 "WRITE after the userfaultfd is closed");
	expect_region(tc, "WRITE after the userfaultfd is closed", r->mem,
		      64 * KIB, 0, src->mem, PAGE, ZERO);
}

/* ---------------------------------------------------------------------- */
/* fork() without MADV_DONTFORK                                            */
/* ---------------------------------------------------------------------- */

/*
 * A forked child keeps a copy of @mem (@len bytes) and answers the
 * parent's commands on a pipe: 'S' compare the copy with @want (the
 * parent's snapshot at fork time, or what 'W' wrote), 'W' write @seed's
 * pattern into the copy, 'q' exit.  It uses nothing of cmocka's.
 */
struct kid_reply {
	char ok;
	uint64_t off;
	uint8_t got, want;
};

static void __attribute__((noreturn))
kid_main(int cmd, int reply, uint8_t *mem, size_t len, uint8_t *want,
	 uint32_t seed)
{
	struct kid_reply r;
	char c;
	size_t i;

	alarm(120);
	for (;;) {
		if (read(cmd, &c, 1) != 1)
			_exit(3);
		memset(&r, 0, sizeof(r));
		switch (c) {
		case 'S':
			r.ok = 'y';
			for (i = 0; i < len; i++)
				if (mem[i] != want[i])
					break;
			if (i < len) {
				r.ok = 'n';
				r.off = i;
				r.got = mem[i];
				r.want = want[i];
			}
			break;
		case 'W':
			fill_pat(mem, len, seed);
			fill_pat(want, len, seed);
			r.ok = 'w';
			break;
		case 'q':
			_exit(0);
		default:
			_exit(4);
		}
		if (write(reply, &r, sizeof(r)) != sizeof(r))
			_exit(5);
	}
}

static struct kid *kid_fork(struct tcase *tc, uint8_t *mem, size_t len,
			    uint8_t *want, uint32_t seed)
{
	int down[2], up[2];
	struct kid *k;
	pid_t pid;

	assert_true(tc->nkids < MAX_KIDS);
	CHECK(!pipe(down) && !pipe(up), "pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (!pid) {
		close(down[1]);
		close(up[0]);
		kid_main(down[0], up[1], mem, len, want, seed);
	}
	close(down[0]);
	close(up[1]);
	k = &tc->kids[tc->nkids++];
	k->pid = pid;
	k->cmd = down[1];
	k->reply = up[0];
	CHECK(pid > 0, "fork: %s", strerror(errno));
	return k;
}

/* Read @len bytes from @fd within @ms; false on timeout or EOF. */
static bool read_within(int fd, void *buf, size_t len, int ms)
{
	int64_t end = vt_now_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		int left = (int)(end - vt_now_ms());

		if (left <= 0 || poll(&p, 1, left) != 1)
			return false;
		n = read(fd, (uint8_t *)buf + got, len - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* Send command @c to the child; its answer must be @ok. */
static void kid_ask(struct kid *k, char c, char ok, const char *what)
{
	struct kid_reply r;

	CHECK(write(k->cmd, &c, 1) == 1, "%s: writing to the child: %s",
	      what, strerror(errno));
	CHECK(read_within(k->reply, &r, sizeof(r), 30000),
	      "%s: no answer from the child within 30 s", what);
	CHECK(r.ok == ok,
	      "%s: the child's copy differs at byte %" PRIu64 ": got 0x%02x, want 0x%02x",
	      what, r.off, r.got, r.want);
}

/* Let the child exit and reap it: it must exit 0 within 10 s. */
static void kid_end(struct kid *k, const char *what)
{
	int64_t end = vt_now_ms() + 10000;
	char c = 'q';
	pid_t p;
	int st = 0;

	CHECK(write(k->cmd, &c, 1) == 1, "%s: writing to the child: %s",
	      what, strerror(errno));
	while ((p = waitpid(k->pid, &st, WNOHANG)) == 0 && vt_now_ms() < end)
		usleep(10000);
	CHECK(p == k->pid, "%s: the child did not exit within 10 s", what);
	k->pid = 0;
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "%s: the child ended with status 0x%x", what, st);
}

/*
 * fork() with the NIC's mirror populated: the parent's address space is
 * what the NIC sees, the child's copy never changes.  (1) A WRITE after
 * fork lands in the parent only; (2) after the child wrote its copy, a
 * WRITE still lands in the parent only; (3) after the parent's CPU
 * breaks copy-on-write, a READ returns the parent's new data; (4) the
 * same for a SEND source.
 */
static void test_fork(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 256 * KIB, half = len / 2, slen = 64 * KIB;
	struct buf *r, *src, *l, *s, *rb;
	uint8_t *snapshot, *want;
	struct kid *k;

	r = obuf(tc, &tc->sb, len);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	snapshot = vt_tc_alloc(&tc->vc, len);
	want = vt_tc_alloc(&tc->vc, len);

	fill_pat(src->mem, len, 71);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS, "WRITE before fork");
	expect_pat(tc, "WRITE before fork", r->mem, len, 71);
	memcpy(snapshot, r->mem, len);
	k = kid_fork(tc, r->mem, len, snapshot, 99);

	fill_pat(src->mem, half, 72);
	do_write(c, src, 0, r, 0, half, IBV_WC_SUCCESS,
		 "WRITE after fork, first half");
	memcpy(want, snapshot, len);
	memcpy(want, src->mem, half);
	expect_same("parent after the WRITE after fork", r->mem, want, len);
	kid_ask(k, 'S', 'y', "child's copy after the parent's NIC WRITE");

	kid_ask(k, 'W', 'w', "child writes its copy");
	fill_pat(src->mem + half, half, 73);
	do_write(c, src, half, r, half, half, IBV_WC_SUCCESS,
		 "WRITE after the child wrote, second half");
	expect_same("parent after the child wrote and the NIC wrote",
		    r->mem, src->mem, len);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS, "READ back");
	expect_same("READ back", l->mem, src->mem, len);
	kid_ask(k, 'S', 'y', "child's copy after its own write");
	kid_end(k, "first child");

	/* The parent's CPU breaks COW after the NIC mirrored the pages. */
	memcpy(snapshot, r->mem, len);
	k = kid_fork(tc, r->mem, len, snapshot, 0);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS, "READ after fork");
	expect_same("READ after fork", l->mem, snapshot, len);
	fill_pat(r->mem, len, 74);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS,
		"READ after the parent's CPU wrote (COW broken)");
	expect_pat(tc, "READ after the parent's CPU wrote (COW broken)",
		   l->mem, len, 74);
	kid_ask(k, 'S', 'y', "child's copy after the parent's CPU wrote");
	fill_pat(src->mem, len, 75);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS,
		 "WRITE after the parent's CPU wrote");
	expect_pat(tc, "parent after its CPU and then the NIC wrote", r->mem,
		   len, 75);
	kid_ask(k, 'S', 'y', "child's copy after the parent's NIC WRITE");
	kid_end(k, "second child");

	/* A SEND source whose COW the parent's CPU breaks. */
	s = obuf(tc, &tc->sa, slen);
	rb = obuf(tc, &tc->sb, slen);
	fill_pat(s->mem, slen, 76);
	do_send(c, s, 0, rb, 0, slen, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND before fork");
	memcpy(snapshot, s->mem, slen);
	k = kid_fork(tc, s->mem, slen, snapshot, 0);
	do_send(c, s, 0, rb, 0, slen, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND after fork");
	expect_pat(tc, "SEND after fork", rb->mem, slen, 76);
	fill_pat(s->mem, slen, 77);
	do_send(c, s, 0, rb, 0, slen, IBV_WC_SUCCESS, IBV_WC_SUCCESS,
		"SEND after the parent's CPU wrote its source");
	expect_pat(tc, "SEND after the parent's CPU wrote its source",
		   rb->mem, slen, 77);
	kid_ask(k, 'S', 'y', "child's copy of the SEND source");
	kid_end(k, "third child");
}

/*
 * Atomics need a writable mirror: on the zero page (the CPU read first),
 * after fork (the child's copy keeps the old value), on a PROT_READ page
 * (REM_ACCESS_ERR, value unchanged), after MADV_DONTNEED (they see 0).
 */
static void test_atomics(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	struct buf *t, *res;
	uint8_t *snapshot;
	struct kid *k;

	t = obuf(tc, &tc->sb, 4 * PAGE);
	res = obuf(tc, &tc->sa, PAGE);
	snapshot = vt_tc_alloc(&tc->vc, 4 * PAGE);

	expect_pat(tc, "never-touched page (CPU)", t->mem, PAGE, ZERO);
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 0, t, 8, 5, 0,
		  IBV_WC_SUCCESS, "FETCH_ADD on the zero page");
	CHECK(vt_get_u64(res->mem) == 0 && vt_get_u64(t->mem + 8) == 5,
	      "FETCH_ADD on the zero page: returned 0x%" PRIx64 ", memory 0x%" PRIx64 ", want 0 and 5",
	      vt_get_u64(res->mem), vt_get_u64(t->mem + 8));

	vt_put_u64(t->mem + PAGE + 16, 100);
	do_atomic(c, IBV_WR_ATOMIC_CMP_AND_SWP, res, 8, t, PAGE + 16, 100,
		  101, IBV_WC_SUCCESS, "CMP_SWP before fork");
	memcpy(snapshot, t->mem, 4 * PAGE);
	k = kid_fork(tc, t->mem, 4 * PAGE, snapshot, 0);
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 16, t, PAGE + 16, 1, 0,
		  IBV_WC_SUCCESS, "FETCH_ADD after fork");
	CHECK(vt_get_u64(res->mem + 16) == 101 &&
	      vt_get_u64(t->mem + PAGE + 16) == 102,
	      "FETCH_ADD after fork: returned %" PRIu64 ", parent's memory %" PRIu64 ", want 101 and 102",
	      vt_get_u64(res->mem + 16), vt_get_u64(t->mem + PAGE + 16));
	kid_ask(k, 'S', 'y', "child's copy after the parent's atomic");
	kid_end(k, "child");

	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 24, t, 2 * PAGE, 7, 0,
		  IBV_WC_SUCCESS, "FETCH_ADD before PROT_READ");
	mprot(t->mem + 2 * PAGE, PAGE, PROT_READ, "PROT_READ");
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 32, t, 2 * PAGE, 1, 0,
		  IBV_WC_REM_ACCESS_ERR, "FETCH_ADD on a PROT_READ page");
	CHECK(vt_get_u64(t->mem + 2 * PAGE) == 7,
	      "PROT_READ page's value %" PRIu64 " after a refused FETCH_ADD, want 7",
	      vt_get_u64(t->mem + 2 * PAGE));
	mprot(t->mem + 2 * PAGE, PAGE, PROT_READ | PROT_WRITE, "RW");

	c = conn_open(tc);
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 40, t, 3 * PAGE, 9, 0,
		  IBV_WC_SUCCESS, "FETCH_ADD before MADV_DONTNEED");
	madv(t->mem + 3 * PAGE, PAGE, MADV_DONTNEED, "MADV_DONTNEED");
	do_atomic(c, IBV_WR_ATOMIC_FETCH_AND_ADD, res, 48, t, 3 * PAGE, 1, 0,
		  IBV_WC_SUCCESS, "FETCH_ADD after MADV_DONTNEED");
	CHECK(vt_get_u64(res->mem + 48) == 0 &&
	      vt_get_u64(t->mem + 3 * PAGE) == 1,
	      "FETCH_ADD after MADV_DONTNEED: returned %" PRIu64 ", memory %" PRIu64 ", want 0 and 1",
	      vt_get_u64(res->mem + 48), vt_get_u64(t->mem + 3 * PAGE));
}

/* ---------------------------------------------------------------------- */
/* Shared memory, files, huge pages                                        */
/* ---------------------------------------------------------------------- */

/*
 * MAP_SHARED anonymous memory (shmem): WRITE and READ; MADV_DONTNEED only
 * unmaps (the NIC still reads the data), MADV_REMOVE frees the pages (the
 * NIC reads zeros); a forked child shares the NIC's WRITE.
 */
static void test_shared_anon(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = MIB;
	struct buf *r, *src, *l;
	uint8_t *p, *want;
	struct kid *k;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "mmap MAP_SHARED: %s", strerror(errno));
	r = obuf_at(tc, &tc->sb, p, len, -1);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	want = vt_tc_alloc(&tc->vc, len);

	fill_pat(src->mem, len, 81);
	do_write(c, src, 3, r, 3, len - 10, IBV_WC_SUCCESS,
		 "WRITE into MAP_SHARED");
	expect_region(tc, "WRITE into MAP_SHARED (CPU)", r->mem, len, 3,
		      src->mem + 3, len - 10, ZERO);
	fill_pat(r->mem, len, 82);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS,
		"READ after the CPU wrote");
	expect_pat(tc, "READ after the CPU wrote", l->mem, len, 82);

	madv(r->mem, len, MADV_DONTNEED, "MADV_DONTNEED");
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS,
		"READ after MADV_DONTNEED (shared pages stay)");
	expect_pat(tc, "READ after MADV_DONTNEED (shared pages stay)", l->mem,
		   len, 82);
	madv(r->mem, len, MADV_REMOVE, "MADV_REMOVE");
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS,
		"READ after MADV_REMOVE");
	expect_pat(tc, "READ after MADV_REMOVE (pages freed)", l->mem, len,
		   ZERO);

	fill_pat(src->mem, len, 83);
	memcpy(want, src->mem, len);
	k = kid_fork(tc, r->mem, len, want, 0);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS,
		 "WRITE into MAP_SHARED after fork");
	expect_pat(tc, "parent after the WRITE after fork", r->mem, len, 83);
	kid_ask(k, 'S', 'y', "child sees the NIC's WRITE into shared memory");
	kid_end(k, "child");
}

/*
 * A memfd mapped twice (X registered, Y the CPU's second view): the NIC's
 * WRITE through X shows at Y; the CPU's write at Y and a pwrite(2) are
 * what the NIC reads through X; a punched hole reads as zeros.
 */
static void test_memfd(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = MIB;
	struct buf *x, *src, *l;
	uint8_t *px, *py;
	int fd;

	fd = memfd_create("odp_test", 0);
	CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	CHECK(!ftruncate(fd, (off_t)len), "ftruncate: %s", strerror(errno));
	px = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(px != MAP_FAILED, "mmap memfd: %s", strerror(errno));
	x = obuf_at(tc, &tc->sb, px, len, fd);
	py = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(py != MAP_FAILED, "mmap memfd again: %s", strerror(errno));
	buf_track(tc, py, len, py, len, -1);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);

	fill_pat(src->mem, len, 91);
	do_write(c, src, 0, x, 5, len - 9, IBV_WC_SUCCESS,
		 "WRITE through the first mapping");
	expect_region(tc, "second mapping after the NIC's WRITE", py, len, 5,
		      src->mem, len - 9, ZERO);
	fill_pat(py, len, 92);
	do_read(c, l, 0, x, 0, len, IBV_WC_SUCCESS,
		"READ after the CPU wrote the second mapping");
	expect_pat(tc, "READ after the CPU wrote the second mapping", l->mem,
		   len, 92);
	fill_pat(src->mem, 8192, 93);
	CHECK(pwrite(fd, src->mem, 8192, 4096) == 8192, "pwrite: %s",
	      strerror(errno));
	do_read(c, l, 0, x, 4096, 8192, IBV_WC_SUCCESS,
		"READ after pwrite(2)");
	expect_pat(tc, "READ after pwrite(2)", l->mem, 8192, 93);
	CHECK(!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			 (off_t)len), "fallocate(PUNCH_HOLE): %s",
	      strerror(errno));
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, x, 0, len, IBV_WC_SUCCESS,
		"READ after the hole was punched");
	expect_pat(tc, "READ after the hole was punched", l->mem, len, ZERO);
}

/*
 * A MAP_SHARED file in the guest's /tmp: a NIC WRITE, msync, and read(2)
 * shows the data in the file; a pwrite(2) is what the NIC reads; after
 * the file is truncated to 0 and extended again, the NIC reads zeros.
 */
static void test_file(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = MIB + PAGE, dlen = MIB - 7, off = 4093;
	struct buf *f, *src, *l;
	struct statfs sf;
	uint8_t *p, *got;
	int fd;

	p = file_map(tc, len, &fd);
	if (!fstatfs(fd, &sf))
		vt_diag("%s: file system type 0x%lx%s", tc->tmpfile,
			(unsigned long)sf.f_type,
			sf.f_type == 0x01021994 ? " (tmpfs)" : "");
	f = obuf_at(tc, &tc->sb, p, len, fd);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
	got = vt_tc_alloc(&tc->vc, len);

	fill_pat(src->mem, len, 101);
	do_write(c, src, 0, f, off, dlen, IBV_WC_SUCCESS,
		 "WRITE into the mapped file");
	CHECK(!msync(p, len, MS_SYNC), "msync: %s", strerror(errno));
	CHECK(pread(fd, got, len, 0) == (ssize_t)len, "pread: %s",
	      strerror(errno));
	expect_region(tc, "the file after the NIC's WRITE and msync", got,
		      len, off, src->mem, dlen, ZERO);

	fill_pat(src->mem, 3 * PAGE, 102);
	CHECK(pwrite(fd, src->mem, 3 * PAGE, 2 * PAGE) == 3 * PAGE,
	      "pwrite: %s", strerror(errno));
	do_read(c, l, 0, f, 2 * PAGE, 3 * PAGE, IBV_WC_SUCCESS,
		"READ after pwrite(2)");
	expect_pat(tc, "READ after pwrite(2)", l->mem, 3 * PAGE, 102);

	CHECK(!ftruncate(fd, 0) && !ftruncate(fd, (off_t)len),
	      "ftruncate to 0 and back: %s", strerror(errno));
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, f, 0, len, IBV_WC_SUCCESS,
		"READ after truncate and extend");
	expect_pat(tc, "READ after truncate and extend", l->mem, len, ZERO);
	fill_pat(src->mem, len, 103);
	do_write(c, src, 0, f, 0, len, IBV_WC_SUCCESS,
		 "WRITE after truncate and extend");
	CHECK(pread(fd, got, len, 0) == (ssize_t)len, "pread: %s",
	      strerror(errno));
	expect_pat(tc, "the file after the last WRITE", got, len, 103);
}

/*
 * A read-only mapping of a file on the guest's 9p root (rodp.ko, a few
 * MiB; page cache filled over the network): READs through an ODP MR
 * (REMOTE_READ only, or the implicit MR) equal pread(2), also after
 * MADV_PAGEOUT dropped the clean pages (they come back from 9p).
 */
static void test_9p_file(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	const char *repo = getenv("RODP_REPO");
	size_t len = 2 * MIB, i;
	struct buf *f, *l;
	char path[512];
	struct stat st;
	uint8_t *p, *want;
	int fd;

	snprintf(path, sizeof(path), "%s/build/cmake/kmod/kbuild/rodp.ko",
		 repo ? repo : ".");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || (size_t)st.st_size < len) {
		vt_diag("%s: %s", path, fd < 0 ? strerror(errno) : "too small");
		if (fd >= 0)
			close(fd);
		skip();
	}
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "mmap %s: %s", path, strerror(errno));
	f = buf_track(tc, p, len, p, len, fd);
	buf_reg(f, &tc->sb, odp_kind(tc), IBV_ACCESS_REMOTE_READ);
	l = obuf(tc, &tc->sa, len);
	want = vt_tc_alloc(&tc->vc, len);
	CHECK(pread(fd, want, len, 0) == (ssize_t)len, "pread: %s",
	      strerror(errno));
	for (i = 0; i < 2; i++) {
		char what[120];

		snprintf(what, sizeof(what), "READ of 2 MiB of %s%s",
			 "a 9p file", i ? " after MADV_PAGEOUT" : "");
		fill_pat(l->mem, len, G_BACK);
		do_read(c, l, 0, f, 0, len, IBV_WC_SUCCESS, what);
		expect_same(what, l->mem, want, len);
		madv(p, len, MADV_PAGEOUT, "MADV_PAGEOUT");
	}
}

/*
 * Transparent huge pages (MADV_HUGEPAGE, 2 MiB-aligned 4 MiB, checked in
 * smaps): WRITE and READ across both huge pages; MADV_DONTNEED of 4 KiB
 * inside one (the PMD splits) reads as zeros between the data; a WRITE
 * into the hole shows; all of it DONTNEED reads as zeros.
 */
static void test_thp(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 4 * MIB, map_len, hole = MIB + 5 * PAGE;
	struct buf *r, *src, *l;
	uint8_t *p;
	long kb;

	p = map_blocks(len, &map_len, true);
	CHECK(p, "mmap: %s", strerror(errno));
	fill_pat(p, len, G_DST);
	kb = anon_huge_kb(p);
	vt_diag("AnonHugePages of the 4 MiB buffer: %ld kB", kb);
	CHECK(kb >= 2048, "no transparent huge page in the MADV_HUGEPAGE buffer (AnonHugePages %ld kB)",
	      kb);
	r = buf_track(tc, p, len, p, map_len, -1);
	buf_reg(r, &tc->sb, odp_kind(tc), ODP_ACCESS);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);

	fill_pat(src->mem, len, 111);
	do_write(c, src, 3, r, 5, len - 10, IBV_WC_SUCCESS,
		 "WRITE across two huge pages");
	expect_region(tc, "WRITE across two huge pages (CPU)", r->mem, len, 5,
		      src->mem + 3, len - 10, G_DST);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS, "READ of the huge pages");
	expect_same("READ of the huge pages", l->mem, r->mem, len);
	CHECK(anon_huge_kb(p) >= 2048,
	      "the huge pages split without reason (AnonHugePages %ld kB)",
	      anon_huge_kb(p));

	madv(r->mem + hole, PAGE, MADV_DONTNEED, "MADV_DONTNEED of 4 KiB");
	fill_pat(l->mem, 3 * PAGE, G_BACK);
	do_read(c, l, 0, r, hole - PAGE, 3 * PAGE, IBV_WC_SUCCESS,
		"READ around the hole in a huge page");
	{
		uint8_t *want = vt_tc_alloc(&tc->vc, 3 * PAGE);

		memcpy(want, r->mem + hole - PAGE, 3 * PAGE);
		memset(want + PAGE, 0, PAGE);
		expect_same("READ around the hole in a huge page", l->mem,
			    want, 3 * PAGE);
	}
	fill_pat(src->mem, PAGE, 112);
	do_write(c, src, 0, r, hole, PAGE, IBV_WC_SUCCESS,
		 "WRITE into the hole");
	expect_pat(tc, "WRITE into the hole (CPU)", r->mem + hole, PAGE, 112);

	madv(r->mem, len, MADV_DONTNEED, "MADV_DONTNEED of all");
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS,
		"READ after MADV_DONTNEED of the huge pages");
	expect_pat(tc, "READ after MADV_DONTNEED of the huge pages", l->mem,
		   len, ZERO);
}

/*
 * hugetlb pages (MAP_HUGETLB, 2 MiB; the suite reserves some): WRITE,
 * READ, MADV_DONTNEED then READ gives zeros.  Skipped without pages.
 */
static void test_hugetlb(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = 4 * MIB;
	struct buf *r, *src, *l;
	uint8_t *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED) {
		vt_diag("no 4 MiB of hugetlb pages (mmap MAP_HUGETLB: %s)",
			strerror(errno));
		skip();
	}
	r = obuf_at(tc, &tc->sb, p, len, -1);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);

	fill_pat(src->mem, len, 121);
	do_write(c, src, 1, r, 9, len - 17, IBV_WC_SUCCESS,
		 "WRITE into hugetlb pages");
	expect_region(tc, "WRITE into hugetlb pages (CPU)", r->mem, len, 9,
		      src->mem + 1, len - 17, ZERO);
	fill_pat(r->mem, len, 122);
	fill_pat(l->mem, len, G_BACK);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS,
		"READ after the CPU wrote");
	expect_pat(tc, "READ from hugetlb pages", l->mem, len, 122);
	madv(r->mem, len, MADV_DONTNEED, "MADV_DONTNEED");
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS,
		"READ after MADV_DONTNEED");
	expect_pat(tc, "READ after MADV_DONTNEED of hugetlb pages", l->mem,
		   len, ZERO);
}

/* ---------------------------------------------------------------------- */
/* ibv_advise_mr                                                           */
/* ---------------------------------------------------------------------- */

static const char *advice_str(enum ibv_advise_mr_advice a)
{
	switch (a) {
	case IBV_ADVISE_MR_ADVICE_PREFETCH:		return "PREFETCH";
	case IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE:	return "PREFETCH_WRITE";
	case IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT:	return "PREFETCH_NO_FAULT";
	default:					return "?";
	}
}

/* ibv_advise_mr on one range must return @want (0 or an errno). */
static void advise(struct ibv_pd *pd, enum ibv_advise_mr_advice a,
		   uint32_t flags, struct ibv_sge g, int want,
		   const char *what)
{
	int rc;

	errno = 0;
	rc = ibv_advise_mr(pd, a, flags, &g, 1);
	CHECK(rc == want,
	      "%s: ibv_advise_mr(%s, flags 0x%x, 0x%" PRIx64 "+%u, lkey 0x%x) returned %d (%s), errno %d, want %d (%s)",
	      what, advice_str(a), flags, (uint64_t)g.addr, g.length, g.lkey,
	      rc, rc > 0 ? strerror(rc) : "-", errno, want,
	      want ? strerror(want) : "success");
}

/* A key no MR of the test has. */
static uint32_t bad_key(const struct tcase *tc, uint32_t key)
{
	uint32_t k = key ^ 0x5a5a00u;
	unsigned int i;

	for (i = 0; i < tc->nbufs; i++)
		if (tc->bufs[i].lkey == k || tc->bufs[i].rkey == k)
			return bad_key(tc, k + 0x100);
	if ((tc->sa.imr && tc->sa.imr->lkey == k) ||
	    (tc->sb.imr && tc->sb.imr->lkey == k))
		return bad_key(tc, k + 0x100);
	return k;
}

#define ADV_FLUSH	IBV_ADVISE_MR_FLAG_FLUSH

/*
 * ibv_advise_mr: PREFETCH_WRITE with FLUSH mirrors the range before it
 * returns (a WRITE into it then faults nowhere; CPU-filled and untouched
 * memory); PREFETCH for a READ source; PREFETCH_NO_FAULT mirrors only
 * what is present (the untouched half still faults); without FLUSH the
 * prefetch happens in the background.  Counted in odp_prefetches and
 * odp_prefetch_pages.  Errors: EFAULT for an unknown lkey, a range
 * outside the MR, PREFETCH_WRITE on an MR without LOCAL_WRITE; EINVAL for
 * a pinned MR and for unknown flags.
 */
static void test_advise(void **state)
{
	struct tcase *tc = *state;
	struct conn *c = conn_open(tc);
	size_t len = MIB, half = MIB / 2;
	struct ibv_pd *pa = tc->sa.pd, *pb = tc->sb.pd;
	struct buf *src, *r, *r2, *r3, *l3, *r4, *l4, *r5, *ro, *pin;
	struct cnts before, d;
	struct ibv_sge g;
	int64_t end;

	src = obuf(tc, &tc->sa, len);
	r = obuf(tc, &tc->sb, len);
	fill_pat(src->mem, len, 131);
	fill_pat(r->mem, len, G_DST);
	advise(pa, IBV_ADVISE_MR_ADVICE_PREFETCH, ADV_FLUSH,
	       sge(src, 0, len), 0, "PREFETCH of a WRITE source");
	snap(tc, &before);
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, ADV_FLUSH,
	       sge(r, 0, len), 0, "PREFETCH_WRITE of a CPU-filled target");
	since(tc, &before, &d);
	CHECK(d.v[VT_C_PREFETCHES] == 1 &&
	      d.v[VT_C_PREFETCH_PAGES] >= npages(r->mem, 0, len),
	      "PREFETCH_WRITE of %zu pages: odp_prefetches +%" PRIu64 ", odp_prefetch_pages +%" PRIu64 ", want 1 and >= %zu",
	      npages(r->mem, 0, len), d.v[VT_C_PREFETCHES],
	      d.v[VT_C_PREFETCH_PAGES], npages(r->mem, 0, len));
	snap(tc, &before);
	do_write(c, src, 0, r, 0, len, IBV_WC_SUCCESS,
		 "WRITE after PREFETCH_WRITE");
	since(tc, &before, &d);
	expect_warm(&d, "WRITE after PREFETCH(_WRITE) with FLUSH");
	expect_pat(tc, "WRITE after PREFETCH_WRITE", r->mem, len, 131);

	/* Untouched memory, prefetched for writing. */
	r2 = obuf(tc, &tc->sb, len);
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, ADV_FLUSH,
	       sge(r2, 0, len), 0, "PREFETCH_WRITE of untouched memory");
	snap(tc, &before);
	do_write(c, src, 0, r2, 0, len, IBV_WC_SUCCESS,
		 "WRITE into prefetched untouched memory");
	since(tc, &before, &d);
	expect_warm(&d, "WRITE into prefetched untouched memory");
	expect_pat(tc, "WRITE into prefetched untouched memory", r2->mem,
		   len, 131);

	/* A READ from untouched memory prefetched for reading. */
	r3 = obuf(tc, &tc->sb, len);
	l3 = obuf(tc, &tc->sa, len);
	fill_pat(l3->mem, len, G_BACK);
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH, ADV_FLUSH, sge(r3, 0, len),
	       0, "PREFETCH of an untouched READ source");
	advise(pa, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, ADV_FLUSH,
	       sge(l3, 0, len), 0, "PREFETCH_WRITE of a READ destination");
	snap(tc, &before);
	do_read(c, l3, 0, r3, 0, len, IBV_WC_SUCCESS,
		"READ after PREFETCH");
	since(tc, &before, &d);
	expect_warm(&d, "READ after PREFETCH");
	expect_pat(tc, "READ of prefetched untouched memory", l3->mem, len,
		   ZERO);

	/* PREFETCH_NO_FAULT: only the present half gets mirrored. */
	r4 = obuf(tc, &tc->sb, len);
	l4 = obuf(tc, &tc->sa, len);
	fill_pat(r4->mem, half, 132);
	advise(pa, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, ADV_FLUSH,
	       sge(l4, 0, len), 0, "PREFETCH_WRITE of a READ destination");
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT, ADV_FLUSH,
	       sge(r4, 0, len), 0, "PREFETCH_NO_FAULT, half present");
	snap(tc, &before);
	do_read(c, l4, 0, r4, 0, half, IBV_WC_SUCCESS,
		"READ of the present half after PREFETCH_NO_FAULT");
	since(tc, &before, &d);
	expect_warm(&d, "READ of the present half after PREFETCH_NO_FAULT");
	expect_pat(tc, "READ of the present half", l4->mem, half, 132);
	snap(tc, &before);
	do_read(c, l4, half, r4, half, half, IBV_WC_SUCCESS,
		"READ of the untouched half after PREFETCH_NO_FAULT");
	since(tc, &before, &d);
	expect_faulted(&d, npages(r4->mem, half, half),
		       "READ of the untouched half after PREFETCH_NO_FAULT");
	expect_pat(tc, "READ of the untouched half", l4->mem + half, half,
		   ZERO);

	/* Without FLUSH: in the background, done when counted. */
	r5 = obuf(tc, &tc->sb, len);
	snap(tc, &before);
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, 0, sge(r5, 0, len),
	       0, "PREFETCH_WRITE without FLUSH");
	end = vt_now_ms() + 10000;
	do
		since(tc, &before, &d);
	while (d.v[VT_C_PREFETCH_PAGES] < npages(r5->mem, 0, len) &&
	       vt_now_ms() < end);
	CHECK(d.v[VT_C_PREFETCH_PAGES] >= npages(r5->mem, 0, len),
	      "PREFETCH_WRITE without FLUSH: odp_prefetch_pages +%" PRIu64 " after 10 s, want >= %zu",
	      d.v[VT_C_PREFETCH_PAGES], npages(r5->mem, 0, len));
	snap(tc, &before);
	do_write(c, src, 0, r5, 0, len, IBV_WC_SUCCESS,
		 "WRITE after a background prefetch");
	since(tc, &before, &d);
	expect_warm(&d, "WRITE after a background prefetch");
	expect_pat(tc, "WRITE after a background prefetch", r5->mem, len,
		   131);

	/* Errors. */
	g = sge(r, 0, PAGE);
	g.lkey = bad_key(tc, g.lkey);
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH, ADV_FLUSH, g, EFAULT,
	       "unknown lkey");
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH, 0x80, sge(r, 0, PAGE),
	       EINVAL, "unknown flag 0x80");
	pin = buf_new(tc, &tc->sb, 64 * KIB, B_PINNED,
		      IBV_ACCESS_LOCAL_WRITE);
	advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH, ADV_FLUSH,
	       sge(pin, 0, PAGE), EINVAL, "pinned (non-ODP) MR");
	if (tc->mode == M_EXPLICIT) {
		g = sge(r, len - 100, 200);
		advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH, ADV_FLUSH, g, EFAULT,
		       "range beyond the MR's end");
		ro = buf_new(tc, &tc->sb, 64 * KIB, B_ODP,
			     IBV_ACCESS_REMOTE_READ);
		advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, ADV_FLUSH,
		       sge(ro, 0, PAGE), EFAULT,
		       "PREFETCH_WRITE on an MR without LOCAL_WRITE");
		advise(pb, IBV_ADVISE_MR_ADVICE_PREFETCH, ADV_FLUSH,
		       sge(ro, 0, PAGE), 0,
		       "PREFETCH on an MR without LOCAL_WRITE");
	}
}

/* ---------------------------------------------------------------------- */
/* A peer process that exits with transfers in flight                      */
/* ---------------------------------------------------------------------- */

/* What the exiting child and the test tell each other. */
struct xinfo {
	uint32_t qpn, psn;
	union ibv_gid gid;
	uint64_t addr;
	uint32_t rkey, len;
	struct vt_path path;
};

#define X_LEN		(4 * MIB)	/* the child's ODP MR */
#define X_CHUNK		(64 * KIB)
#define X_DEPTH		16		/* WRs in flight */
#define X_BEFORE	24		/* completions before the exit */

static int xchild_fail(const char *what, int err)
{
	printf("# exit child: %s: %s\n", what, strerror(err));
	fflush(stdout);
	return 2;
}

/*
 * odp_test --exit-child DEV MODE ROLE (fds 3 and 4: pipes from and to
 * the test): one RC QP on DEV and an ODP MR (MODE explicit or implicit)
 * over 4 MiB, half of it touched; exchange the QP's coordinates (and
 * MRs), connect, report ready, then wait (ROLE responder) or run
 * transfers itself (ROLE requester).  The test kills it or tells it to
 * exit ('x') while WRITEs and READs run.  No cmocka here.
 */
/*
 * The child as the requester: WRITEs from and READs into its ODP memory
 * (@p) against the test's memory (@peer), X_DEPTH in flight, until it is
 * killed or told to exit ('x' on fd 3); 'g' on fd 4 after X_BEFORE
 * completions.  An error completion ends it with status 3.
 */
static int xchild_requester(struct ibv_qp *qp, struct ibv_cq *cq,
			    struct ibv_mr *mr, uint8_t *p,
			    const struct xinfo *peer)
{
	struct pollfd pf = { .fd = 3, .events = POLLIN };
	uint64_t posted = 0, done = 0;
	struct ibv_send_wr wr, *bad;
	struct ibv_sge g;
	struct ibv_wc wc;
	char c;
	int n;

	for (;;) {
		while (posted - done < X_DEPTH) {
			g.addr = (uintptr_t)p + (posted % 32) * X_CHUNK;
			g.length = X_CHUNK;
			g.lkey = mr->lkey;
			vt_send_wr(&wr, posted, &g, 1, posted % 2 ?
				   IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE,
				   IBV_SEND_SIGNALED);
			wr.wr.rdma.remote_addr = peer->addr +
				(posted % 32) * X_CHUNK;
			wr.wr.rdma.rkey = peer->rkey;
			n = ibv_post_send(qp, &wr, &bad);
			if (n)
				return xchild_fail("ibv_post_send", n);
			posted++;
		}
		n = ibv_poll_cq(cq, 1, &wc);
		if (n < 0)
			return xchild_fail("ibv_poll_cq", EIO);
		if (n == 1) {
			if (wc.status != IBV_WC_SUCCESS) {
				printf("# exit child: WR %" PRIu64 ": %s\n",
				       (uint64_t)wc.wr_id,
				       ibv_wc_status_str(wc.status));
				fflush(stdout);
				return 3;
			}
			if (++done == X_BEFORE && write(4, "g", 1) != 1)
				return xchild_fail("pipe", errno);
		}
		if (poll(&pf, 1, 0) == 1 && read(3, &c, 1) >= 0)
			exit(0);
	}
}

static int exit_child(const char *devname, const char *mode,
		      const char *role)
{
	struct vt_dev *d = vt_dev_get(devname, false);
	struct ibv_qp_cap cap = {
		.max_send_wr = X_DEPTH, .max_recv_wr = 4,
		.max_send_sge = 1, .max_recv_sge = 1,
	};
	struct xinfo me, peer;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	size_t map_len;
	uint8_t *p;
	char c = 'r';
	int rc;

	alarm(120);
	if (!d || !vt_dev_ok(d))
		return xchild_fail(d ? d->error : devname, ENODEV);
	pd = ibv_alloc_pd(d->ctx);
	if (!pd)
		return xchild_fail("ibv_alloc_pd", errno);
	cq = ibv_create_cq(d->ctx, CQE, NULL, NULL, 0);
	if (!cq)
		return xchild_fail("ibv_create_cq", errno);
	qp = vt_qp_create(pd, cq, cq, &cap, false);
	if (!qp)
		return xchild_fail("ibv_create_qp", errno);
	p = map_blocks(X_LEN, &map_len, false);
	if (!p)
		return xchild_fail("mmap", errno);
	memset(p, 0x5c, X_LEN / 2);
	if (!strcmp(mode, "implicit"))
		mr = reg_implicit(pd, ODP_ACCESS);
	else
		mr = ibv_reg_mr(pd, p, X_LEN,
				IBV_ACCESS_ON_DEMAND | ODP_ACCESS);
	if (!mr)
		return xchild_fail("ODP MR", errno);
	rc = vt_qp_to_init(qp, VT_ACCESS_ALL);
	if (rc)
		return xchild_fail("QP to INIT", rc);
	memset(&me, 0, sizeof(me));
	me.qpn = qp->qp_num;
	me.psn = 0x123456;
	me.gid = d->gid;
	me.addr = (uintptr_t)p;
	me.rkey = mr->rkey;
	me.len = X_LEN;
	if (write(4, &me, sizeof(me)) != sizeof(me) ||
	    read(3, &peer, sizeof(peer)) != sizeof(peer))
		return xchild_fail("pipe", errno);
	rc = vt_qp_to_rtr(qp, &peer.path, d->gid_index, peer.qpn, peer.psn,
			  &peer.gid);
	if (!rc)
		rc = vt_qp_to_rts(qp, &peer.path, me.psn);
	if (rc)
		return xchild_fail("QP to RTR/RTS", rc);
	if (write(4, &c, 1) != 1)
		return xchild_fail("pipe", errno);
	if (!strcmp(role, "requester"))
		return xchild_requester(qp, cq, mr, p, &peer);
	/* Whatever comes (or EOF): exit with everything still in place. */
	if (read(3, &c, 1) < 0)
		return xchild_fail("pipe", errno);
	exit(0);
}

/**
 * struct xwatch - the test's view of an exit child
 * @k: the child
 * @c: the test's QP connected to the child's
 * @ci: what the child reported (its QP, GID and ODP MR)
 * @trig: the child was killed or told to exit, at @t_trig
 * @reaped: it is gone (wait status @st), since @t_reap
 * @stack_shown: its kernel stack was shown (still there 1 s after @t_trig)
 */
struct xwatch {
	struct kid *k;
	struct conn *c;
	struct xinfo ci;
	bool trig, reaped, stack_shown;
	int64_t t_trig, t_reap;
	int st;
};

/*
 * Start an exit child in @role on device B and connect a QP on A to it;
 * @me: the test's MR for the child to use (zero for a responder child).
 * Returns when the child is ready.
 */
static void xchild_start(struct tcase *tc, struct xwatch *w,
			 const char *role, struct xinfo *me)
{
	struct vt_dev *da = tc->pair->a, *db = tc->pair->b;
	int down[2], up[2];
	struct kid *k;
	char r;

	vt_dev_ready(da);
	vt_dev_ready(db);
	sides_open(tc);
	assert_true(tc->nkids < MAX_KIDS);
	CHECK(!pipe(down) && !pipe(up), "pipe: %s", strerror(errno));
	fflush(stdout);
	k = &tc->kids[tc->nkids++];
	w->k = k;
	k->pid = fork();
	if (!k->pid) {
		if (dup2(down[0], 3) < 0 || dup2(up[1], 4) < 0)
			_exit(126);
		execl("/proc/self/exe", "odp_test", "--exit-child", db->name,
		      mode_names[tc->mode], role, (char *)NULL);
		_exit(127);
	}
	close(down[0]);
	close(up[1]);
	k->cmd = down[1];
	k->reply = up[0];
	CHECK(k->pid > 0, "fork: %s", strerror(errno));
	CHECK(read_within(k->reply, &w->ci, sizeof(w->ci), 30000),
	      "the exit child did not report its QP within 30 s");

	w->c = conn_new(tc);
	vt_path_init(&w->c->path, da, db);
	ep_create(&w->c->a, &tc->sa, 0xabcdef);
	CHECK(!vt_qp_connect(w->c->a.qp, &w->c->path, da, w->ci.qpn,
			     w->c->a.psn, w->ci.psn, &w->ci.gid),
	      "connecting to the exit child's QP %u failed: %s", w->ci.qpn,
	      vt_errmsg());
	me->qpn = w->c->a.qp->qp_num;
	me->psn = w->c->a.psn;
	me->gid = da->gid;
	me->path = w->c->path;
	CHECK(write(k->cmd, me, sizeof(*me)) == sizeof(*me), "pipe: %s",
	      strerror(errno));
	CHECK(read_within(k->reply, &r, 1, 30000) && r == 'r',
	      "the exit child did not get ready within 30 s");
}

/* Kill the child (@kill_it) or tell it to exit. */
static void xchild_trigger(struct xwatch *w, bool kill_it)
{
	if (kill_it)
		CHECK(!kill(w->k->pid, SIGKILL), "kill: %s", strerror(errno));
	else
		CHECK(write(w->k->cmd, "x", 1) == 1, "pipe: %s",
		      strerror(errno));
	w->trig = true;
	w->t_trig = vt_now_ms();
}

/*
 * Reap the child if it is gone (once triggered); its kernel stack once
 * when it is still there 1 s after the trigger.  Returns w->reaped.
 */
static bool xchild_gone(struct xwatch *w)
{
	if (!w->trig || w->reaped)
		return w->reaped;
	if (waitpid(w->k->pid, &w->st, WNOHANG) == w->k->pid) {
		w->reaped = true;
		w->k->pid = 0;
		w->t_reap = vt_now_ms();
	} else if (!w->stack_shown && vt_now_ms() - w->t_trig > 1000) {
		diag_stack(w->k->pid, "the child is still exiting after 1 s");
		w->stack_shown = true;
	}
	return w->reaped;
}

/* The child must be gone within 10 s of the trigger. */
static void xchild_reap(struct xwatch *w)
{
	while (!xchild_gone(w) && vt_now_ms() - w->t_trig < 10000)
		usleep(5000);
	CHECK(w->reaped, "the child did not exit within 10 s");
}

/* It died of SIGKILL (@kill_it) or exited with status 0. */
static void xchild_status(const struct xwatch *w, bool kill_it)
{
	if (kill_it)
		CHECK(WIFSIGNALED(w->st) && WTERMSIG(w->st) == SIGKILL,
		      "the child ended with status 0x%x, want SIGKILL",
		      w->st);
	else
		CHECK(WIFEXITED(w->st) && WEXITSTATUS(w->st) == 0,
		      "the child ended with status 0x%x, want exit 0", w->st);
}

/* After the child: a new connection, a WRITE of pattern @seed lands. */
static void write_after_exit(struct tcase *tc, uint32_t seed,
			     const char *what)
{
	struct conn *c = conn_open(tc);
	struct buf *s2 = obuf(tc, &tc->sa, 64 * KIB);
	struct buf *d2 = obuf(tc, &tc->sb, 64 * KIB);

	fill_pat(s2->mem, 64 * KIB, seed);
	do_write(c, s2, 0, d2, 0, 64 * KIB, IBV_WC_SUCCESS, what);
	expect_pat(tc, what, d2->mem, 64 * KIB, seed);
}

/*
 * A child process (exec'd, on device B) registers an ODP MR; the test
 * keeps X_DEPTH RDMA WRITEs and READs of 64 KiB running into it and, after
 * X_BEFORE completed, the child exits (or is killed).  Every WR must
 * complete within bounded time: successes, then one error
 * (RETRY_EXC_ERR, REM_ACCESS_ERR or REM_OP_ERR), then flushes; no WR
 * posted after the child was reaped may succeed; the child must be gone
 * within 10 s; the devices must then still carry data.
 */
static void exit_test(struct tcase *tc, bool kill_it)
{
	uint64_t posted = 0, done = 0, ok = 0, first_after = UINT64_MAX;
	int64_t t_err = 0, wait_end, t0;
	struct xwatch w = { 0 };
	int err_status = -1;
	struct xinfo me = { 0 };
	struct ibv_wc wc;
	struct conn *c;
	struct buf *l;

	xchild_start(tc, &w, "responder", &me);
	c = w.c;
	l = obuf(tc, &tc->sa, X_DEPTH * X_CHUNK);
	fill_pat(l->mem, X_DEPTH * X_CHUNK, 141);
	for (;;) {
		int64_t now;

		while (t_err == 0 && posted - done < X_DEPTH) {
			struct ibv_sge g = sge(l, (posted % X_DEPTH) * X_CHUNK,
					       X_CHUNK);
			struct ibv_send_wr wr;

			vt_send_wr(&wr, posted, &g, 1, posted % 2 ?
				   IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE,
				   IBV_SEND_SIGNALED);
			wr.wr.rdma.remote_addr = w.ci.addr +
				(posted % (X_LEN / X_CHUNK)) * X_CHUNK;
			wr.wr.rdma.rkey = w.ci.rkey;
			vt_post_send(c->a.qp, &wr, "WR to the exiting child");
			if (w.reaped && first_after == UINT64_MAX)
				first_after = posted;
			posted++;
		}
		/* Wait for the next completion, watching the child. */
		for (wait_end = vt_now_ms() + 20000;
		     !vt_get_wc(c->a.scq, &wc, 50);) {
			xchild_gone(&w);
			CHECK(vt_now_ms() < wait_end,
			      "no completion within 20 s for WR %" PRIu64 " (%" PRIu64 " posted, child %s)",
			      done, posted, !w.trig ? "alive" :
			      w.reaped ? "reaped" : "told to exit");
		}
		CHECK(wc.wr_id == done, "completion for WR %" PRIu64 ", want %" PRIu64,
		      (uint64_t)wc.wr_id, done);
		done++;
		now = vt_now_ms();
		if (wc.status == IBV_WC_SUCCESS) {
			CHECK(!t_err, "WR %" PRIu64 " succeeded after an error",
			      (uint64_t)wc.wr_id);
			CHECK(wc.wr_id < first_after,
			      "WR %" PRIu64 " (%s), posted after the child was reaped, succeeded",
			      (uint64_t)wc.wr_id,
			      wc.wr_id % 2 ? "READ" : "WRITE");
			ok++;
		} else if (!t_err) {
			t_err = now;
			err_status = wc.status;
			CHECK(w.trig, "WR %" PRIu64 " failed (%s) while the child was alive",
			      (uint64_t)wc.wr_id,
			      ibv_wc_status_str(wc.status));
			CHECK(wc.status == IBV_WC_RETRY_EXC_ERR ||
			      wc.status == IBV_WC_REM_ACCESS_ERR ||
			      wc.status == IBV_WC_REM_OP_ERR,
			      "first error %s, want RETRY_EXC_ERR, REM_ACCESS_ERR or REM_OP_ERR",
			      ibv_wc_status_str(wc.status));
		} else {
			CHECK(wc.status == IBV_WC_WR_FLUSH_ERR,
			      "WR %" PRIu64 " after the error: %s, want WR_FLUSH_ERR",
			      (uint64_t)wc.wr_id,
			      ibv_wc_status_str(wc.status));
		}
		if (!w.trig && ok >= X_BEFORE)
			xchild_trigger(&w, kill_it);
		xchild_gone(&w);
		if (t_err && done == posted)
			break;
		CHECK(!w.trig || vt_now_ms() - w.t_trig < 30000,
		      "WRs still succeed 30 s after the child was told to exit (%" PRIu64 " since)",
		      ok - X_BEFORE);
	}
	xchild_reap(&w);
	vt_diag("%" PRIu64 " WRs completed, %" PRIu64 " succeeded (%" PRIu64 " after the %s); first error %s %" PRId64 " ms after it; child reaped after %" PRId64 " ms",
		done, ok, ok - X_BEFORE, kill_it ? "SIGKILL" : "exit request",
		ibv_wc_status_str(err_status), t_err - w.t_trig,
		w.t_reap - w.t_trig);
	xchild_status(&w, kill_it);

	/* The devices still carry data. */
	t0 = vt_now_ms();
	write_after_exit(tc, 142, "WRITE after the child's exit");
	vt_diag("a new connection and a WRITE after the exit: %" PRId64 " ms",
		vt_now_ms() - t0);
}

/*
 * The other way round: the child (exec'd, on device B) is the requester,
 * WRITEs from and READs into its own ODP memory run against the test's
 * ODP memory, X_DEPTH in flight; after X_BEFORE completed it exits (or
 * is killed).  It must be gone within 10 s, its exit must not depend on
 * the network, and the devices must still carry data.
 */
static void exit_req_test(struct tcase *tc, bool kill_it)
{
	struct xwatch w = { 0 };
	struct xinfo me = { 0 };
	struct buf *t;
	char r;

	sides_open(tc);
	t = obuf(tc, &tc->sa, X_LEN);
	fill_pat(t->mem, X_LEN, 143);
	me.addr = (uintptr_t)t->mem;
	me.rkey = t->rkey;
	me.len = X_LEN;
	xchild_start(tc, &w, "requester", &me);
	CHECK(read_within(w.k->reply, &r, 1, 30000) && r == 'g',
	      "the exit child's transfers did not run (%d completions in 30 s)",
	      X_BEFORE);
	xchild_trigger(&w, kill_it);
	xchild_reap(&w);
	vt_diag("the requester child was reaped %" PRId64 " ms after the %s",
		w.t_reap - w.t_trig, kill_it ? "SIGKILL" : "exit request");
	xchild_status(&w, kill_it);
	write_after_exit(tc, 144, "WRITE after the requester child's exit");
}

static void test_exit(void **state)
{
	exit_test(*state, false);
}

static void test_req_exit(void **state)
{
	exit_req_test(*state, false);
}

static void test_req_kill(void **state)
{
	exit_req_test(*state, true);
}

static void test_kill(void **state)
{
	exit_test(*state, true);
}

/* ---------------------------------------------------------------------- */
/* Memory pressure                                                         */
/* ---------------------------------------------------------------------- */

static size_t pressure_mib = 64;

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

/* A /proc/vmstat value. */
static uint64_t vmstat(const char *key)
{
	FILE *f = fopen("/proc/vmstat", "r");
	size_t n = strlen(key);
	char line[256];
	uint64_t v = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ' ') {
			v = strtoull(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
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
static void test_pressure(void **state)
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
		fill_pat(l->mem, MIB, G_BACK);
		do_read(c, l, 0, t, i * MIB, MIB, IBV_WC_SUCCESS, what);
		expect_pat(tc, what, l->mem, MIB, 1000 + (uint32_t)i);
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
static void test_pageout(void **state)
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
	r = obuf(tc, &tc->sb, len);
	src = obuf(tc, &tc->sa, len);
	l = obuf(tc, &tc->sa, len);
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
	snap(tc, &before);
	do_read(c, l, 0, r, 0, len, IBV_WC_SUCCESS, "READ of swapped pages");
	since(tc, &before, &d);
	expect_pat(tc, "READ of swapped pages", l->mem, len, 211);
	expect_faulted(&d, 1, "READ of swapped pages");
	madv(r->mem, len, MADV_PAGEOUT, "MADV_PAGEOUT");
	write_inside(tc, c, src, r, len, 1, 211, "WRITE over swapped pages",
		     "WRITE over swapped pages (CPU)");
}

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
