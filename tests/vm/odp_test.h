/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * odp_test.h: what the parts of odp_test share (one program, see
 * odp_main.c for what it does and its options).
 *
 *   odp_main.c      the test list, the per-test teardown, main()
 *   odp_lib.c       the fixtures: ODP counters, patterns, buffers and
 *                   MRs, connections, posting, forked children
 *   odp_fault.c     capabilities, no pinning, faults on anonymous and
 *                   untouched memory, protections, bounds, SGE lists,
 *                   atomics
 *   odp_inval.c     invalidation: MADV_DONTNEED, mprotect, munmap,
 *                   dereg/truncate under traffic, mremap, rereg, races,
 *                   collapse, migration, hwpoison
 *   odp_mem.c       fork, MAP_SHARED memory, files, huge pages
 *   odp_advise.c    ibv_advise_mr
 *   odp_exit.c      a peer process that exits with transfers in flight
 *   odp_pressure.c  MADV_PAGEOUT and memory pressure
 */
#ifndef RODP_ODP_TEST_H
#define RODP_ODP_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>

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

#define G_DST	0x6a09e667u	/* guard patterns */
#define G_BACK	0xbb67ae85u
#define G_RECV	0x3c6ef372u

#define ODP_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

enum { SEND_WR = 64, RECV_WR = 64, CQE = 130 };

/* do_send()'s @want_r when the receive must not complete. */
#define NO_RECV_WC	(-1)

/* ---------------------------------------------------------------------- */
/* Test cases and what they hold                                           */
/* ---------------------------------------------------------------------- */

enum mode { M_EXPLICIT, M_IMPLICIT, M_NONE };

extern const char *const mode_names[];

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
	/* rodp-stallfs's event stream and mount point, until it stopped */
	FILE *stall_ev;
	char stall_dir[64];
};

/* Set by main(). */
extern bool verbose;		/* ODP_TEST_VERBOSE: more diagnostics */
extern bool lifespan_zero;	/* the sysfs counters' lifespan is 0 */
extern bool use_netlink;	/* counters through RDMA netlink */
extern const char *tmp_dir;	/* --tmp */
extern size_t pressure_mib;	/* --pressure-mib */

/* The connection the last transfer went over (for stall reports). */
extern struct conn *cur_conn;

/* ---------------------------------------------------------------------- */
/* odp_lib.c                                                               */
/* ---------------------------------------------------------------------- */

/* ODP hardware counters, patterns and comparisons. */
struct cnts {
	uint64_t v[VT_C_ODP_NUM];
};

void fill_pat(void *dst, size_t len, uint32_t seed);
size_t npages(const void *p, size_t off, size_t len);
void expect_region(struct tcase *tc, const char *what, const uint8_t *got,
		   size_t size, size_t off, const void *data, size_t len,
		   uint32_t guard);
void expect_pat(struct tcase *tc, const char *what, const uint8_t *got,
		size_t len, uint32_t seed);
void expect_same(const char *what, const void *got, const void *want,
		 size_t len);
void snap(const struct tcase *tc, struct cnts *c);
void since(const struct tcase *tc, const struct cnts *before,
	   struct cnts *d);
void expect_faulted(const struct cnts *d, size_t pages, const char *what);
void expect_warm(const struct cnts *d, const char *what);

/* Sides, buffers, MRs; memory and the process. */
void side_open(struct side *s, struct vt_dev *d);
void sides_open(struct tcase *tc);
struct ibv_mr *reg_implicit(struct ibv_pd *pd, int access);
struct ibv_mr *side_implicit(struct side *s);
uint8_t *map_blocks(size_t len, size_t *map_len, bool huge);
struct buf *buf_track(struct tcase *tc, void *mem, size_t size, void *map,
		      size_t map_len, int fd);
const char *bkind_str(enum bkind k);
void buf_reg(struct buf *b, struct side *s, enum bkind k, int access);
struct buf *buf_new(struct tcase *tc, struct side *s, size_t len,
		    enum bkind k, int access);
enum bkind odp_kind(const struct tcase *tc);
struct buf *obuf(struct tcase *tc, struct side *s, size_t len);
struct buf *obuf_at(struct tcase *tc, struct side *s, void *p, size_t len,
		    int fd);
void obuf3(struct tcase *tc, size_t len, struct buf **r, struct buf **src,
	   struct buf **l);
uint8_t *file_map(struct tcase *tc, size_t len, int *fd);
long anon_huge_kb(const void *addr);
long vm_kb(const char *field);
int cap_ipc_lock(bool on);
void madv(void *p, size_t len, int advice, const char *name);
void mprot(void *p, size_t len, int prot, const char *name);

/* Connections, posting and completions. */
void ep_close(struct ep *e);
void ep_create(struct ep *e, struct side *s, uint32_t psn);
struct conn *conn_new(struct tcase *tc);
void conn_link(struct conn *c, const struct vt_dev *da,
	       const struct vt_dev *db);
struct conn *conn_open(struct tcase *tc);
void expect_wc(struct ibv_cq *cq, struct ibv_wc *wc, const char *what,
	       uint64_t wr_id, enum ibv_wc_status status, int opcode, int ms);
void expect_qp_state(struct ep *e, enum ibv_qp_state want, const char *what);
struct ibv_sge sge(const struct buf *b, size_t off, size_t len);
void post_wait(struct conn *c, struct ibv_send_wr *wr, struct ibv_wc *wc,
	       enum ibv_wc_status want, int opcode, int ms, const char *what);
void rdma_sgl(struct conn *c, enum ibv_wr_opcode op, struct ibv_sge *g,
	      int n, uint64_t ra, uint32_t rkey, enum ibv_wc_status want,
	      const char *what);
void rdma_at(struct conn *c, enum ibv_wr_opcode op, struct buf *l,
	     size_t loff, uint64_t ra, uint32_t rkey, size_t len,
	     enum ibv_wc_status want, const char *what);
void do_write(struct conn *c, struct buf *src, size_t soff, struct buf *dst,
	      size_t doff, size_t len, enum ibv_wc_status want,
	      const char *what);
void do_read(struct conn *c, struct buf *dst, size_t doff, struct buf *src,
	     size_t soff, size_t len, enum ibv_wc_status want,
	     const char *what);
void do_send(struct conn *c, struct buf *src, size_t soff, struct buf *dst,
	     size_t doff, size_t len, enum ibv_wc_status want_s, int want_r,
	     const char *what);
void do_atomic(struct conn *c, enum ibv_wr_opcode op, struct buf *l,
	       size_t loff, struct buf *r, size_t roff, uint64_t cmp_add,
	       uint64_t swap, enum ibv_wc_status want, const char *what);
void xfer(struct conn *c, enum ibv_wr_opcode op, struct buf *l, size_t loff,
	  struct buf *r, size_t roff, size_t len, const char *what);
void xfer_faults(struct tcase *tc, struct conn *c, enum ibv_wr_opcode op,
		 struct buf *l, size_t loff, struct buf *r, size_t roff,
		 size_t len, size_t faults, const char *what);
void xfer_check(struct tcase *tc, struct conn *c, enum ibv_wr_opcode op,
		struct buf *src, size_t soff, struct buf *r, size_t roff,
		size_t len, uint32_t guard, const char *what);
void write_pat(struct tcase *tc, struct conn *c, struct buf *src,
	       struct buf *r, size_t roff, size_t len, uint32_t seed,
	       const char *what);
void read_pat(struct tcase *tc, struct conn *c, struct buf *l, struct buf *r,
	      size_t roff, size_t len, uint32_t seed, const char *what);
void write_inside(struct tcase *tc, struct conn *c, struct buf *src,
		  struct buf *r, size_t len, size_t off, uint32_t seed,
		  const char *what, const char *cpu_what);

/* Child processes. */
void diag_stack(pid_t pid, const char *why);
void kid_reap(struct kid *k);
struct kid *kid_fork(struct tcase *tc, uint8_t *mem, size_t len,
		     uint8_t *want, uint32_t seed);
bool read_within(int fd, void *buf, size_t len, int ms);
void kid_ask(struct kid *k, char c, char ok, const char *what);
void kid_end(struct kid *k, const char *what);

/* ---------------------------------------------------------------------- */
/* The tests (in odp_main.c's list)                                        */
/* ---------------------------------------------------------------------- */

/* odp_fault.c */
void test_caps(void **state);
void test_nopin(void **state);
void test_anon(void **state);
void test_zero(void **state);
void test_neighbours(void **state);
void test_readonly(void **state);
void test_bigmr(void **state);
void test_bounds(void **state);
void test_mixed(void **state);
void test_two_qps(void **state);
void test_same_mr(void **state);
void test_uffd(void **state);
void test_atomics(void **state);

/* odp_inval.c */
void test_dontneed(void **state);
void test_mprotect(void **state);
void test_munmap(void **state);
void test_dereg(void **state);
void test_truncate(void **state);
void test_mremap(void **state);
void test_overlap(void **state);
void test_race(void **state);
void test_collapse(void **state);
void test_migrate(void **state);
void test_hwpoison(void **state);
void test_rereg(void **state);
void test_remap_cycles(void **state);

/* odp_mem.c */
void test_fork(void **state);
void test_shared_anon(void **state);
void test_memfd(void **state);
void test_file(void **state);
void test_9p_file(void **state);
void test_thp(void **state);
void test_hugetlb(void **state);

/* odp_advise.c */
void test_advise(void **state);

/* odp_exit.c; exit_child() is odp_test --exit-child DEV MODE ROLE. */
int exit_child(const char *devname, const char *mode, const char *role);
void test_exit(void **state);
void test_kill(void **state);
void test_req_exit(void **state);
void test_req_kill(void **state);
void test_stall_kill(void **state);
void test_stall_req_kill(void **state);

/* odp_pressure.c */
void test_pressure(void **state);
void test_pageout(void **state);

#endif
