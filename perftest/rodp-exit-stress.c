// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp-exit-stress: process exit during RDMA transfers, by the cycle,
 * against any pair of RDMA devices, with the kernel's state checked
 * after every cycle.
 *
 *   rodp-exit-stress --dev DEV --peer-dev PEER [--cycles N] [--until N]
 *                    [--scenario NAME]... [--seed S] [--out DIR]
 *                    [--logcheck PATH] [--plot-script PATH]
 *                    [--slack-ms MS] [--max-delay-ms MS]
 *                    [--core-helper PATH] [--cgroup DIR]
 *                    [--teardown-script PATH] [--qp-timeout T]
 *                    [--self-test]
 *
 * Each cycle the driver (this process, which opens no device itself)
 * forks two processes: the victim, on DEV, and the survivor, on PEER.
 * Each opens its device, allocates a PD, a CQ and an RC QP, registers
 * its buffer and tells the driver its QP number, GID and rkey through a
 * socket; the driver hands each the other's, both connect and the
 * requester starts a stream of operations (a few in flight).  Once
 * completions flow, the driver waits a random 0..--max-delay-ms and does
 * what the scenario says to the victim:
 *   sigkill    SIGKILL at that moment of the transfer
 *   exit0      the victim's transfer thread calls exit(0) with its QP,
 *              MR and context still there
 *   abort      the transfer thread calls abort(): core dump through a
 *              pipe core_pattern (rodp-core-helper, which sleeps 1 s
 *              before it reads the dump; --core-helper PATH, its path as
 *              PID 1 sees it, default next to this program) holding the
 *              mm while the peer goes on; the tool sets core_pattern for
 *              the run and puts the old one back at the end
 *   prefetch   a second victim thread drops the buffer (MADV_DONTNEED)
 *              and asks for an asynchronous prefetch of all of it
 *              (ibv_advise_mr PREFETCH_WRITE, no FLUSH) over and over;
 *              SIGKILL in the middle
 *   inval      a second victim thread unmaps pieces of the buffer (a new
 *              mmap MAP_FIXED over them, so that no hole makes a peer's
 *              access invalid) and drops others (MADV_DONTNEED) in a
 *              loop; SIGKILL in the middle
 *   mt         a second victim thread calls exit_group() while the
 *              transfer thread is inside ibv_post_send()/ibv_poll_cq()
 *   fuse       the victim's buffer is a MAP_SHARED mapping of a file on
 *              rodp-stallfs (perftest/rodp-stallfs.c, next to this
 *              program; needs the fuse module) whose reads wait at a
 *              closed gate: SIGKILL once the device's fault waits there,
 *              then, 1 s later, the gate opens.  The victim's memory is
 *              explicit or implicit ODP (a pinned MR of that file would
 *              wait in ibv_reg_mr: pinned entries of the matrix take
 *              explicit ODP); a requester survivor may get its error
 *              before the kill (the victim cannot answer)
 *   fork       the victim forks once its QP is connected; the child
 *              inherits the uverbs file and the mappings and touches no
 *              verbs object.  Four variants, by turns: the child exits
 *              100 ms after the fork while the victim's transfer goes
 *              on, then the victim is SIGKILLed (child-exits), or the
 *              child outlives the SIGKILLed victim by 300 ms, so that
 *              the device context (QP, MR) outlives the mm that
 *              registered the memory (child-outlives); each with the
 *              buffer MADV_DONTFORK before the fork (-dontfork) or not.  The driver is a child
 *              subreaper and reaps the orphan (victim-exit when it is
 *              not gone 3.3 s after the victim)
 *   import     before it makes any verbs object the victim forks an
 *              importer (which closes every other file); once connected,
 *              before it says it is ready, it passes its uverbs file by
 *              SCM_RIGHTS with its PD and MR handles; the importer
 *              ibv_import_device()s, _pd()s and _mr()s them and says
 *              so, waits for the victim's death (SIGKILL) and
 *              300 ms more, then deregisters the imported MR (variant
 *              dereg) or unimports it (unimport: the file's release
 *              destroys it), unimports the PD, closes and exits 0.  The
 *              MR and the QP outlive the mm that registered the memory,
 *              held by a process whose mm the device must never touch.
 *              Needs a provider with the import verbs (rodp's; not rxe's)
 *   oom        the victim runs in a memory cgroup (--cgroup DIR, made
 *              under a cgroup2 mount, /sys/fs/cgroup by default, with
 *              memory.swap.max 8 MiB) from before it allocates anything;
 *              the action sets the cgroup's memory.max 2 MiB below what
 *              it uses (the write reclaims: swaps out buffer pages the
 *              peer is using, with swap) and has a second victim thread
 *              allocate and touch memory without end, and the OOM
 *              killer kills the victim (its SIGKILL, and the cgroup's
 *              memory.events oom_kill must move), the OOM reaper tearing
 *              down its mm while the device may still use it
 *   faultunmap a thread of the victim faults a range of the stalled
 *              file (a MAP_SHARED mapping apart from the transfer's
 *              buffer, in an ODP MR of its own or the implicit MR) in
 *              for the device, ibv_advise_mr(PREFETCH_WRITE, FLUSH): the
 *              fault waits at the gate, the address space's lock held;
 *              the action has another thread munmap() that range, which
 *              waits for the lock (seen in its kernel stack).  Then, by
 *              turns: kill-in-fault, SIGKILL, the gate opening 1 s
 *              later; fault-ends, the gate opens, the fault returns,
 *              the munmap goes through (its invalidation between the
 *              fault and the device's commit of the mirror) and must
 *              return, then SIGKILL.  The transfer uses the other
 *              buffer (an ODP one's faults wait behind the munmap)
 *   teardown   SIGKILL, and at once the victim's device is torn down
 *              against the exit: by turns `rdma link del` (linkdel), the
 *              deletion of its network namespace, which takes its netdev
 *              (netns), and `rmmod` of its driver (rmmod), by
 *              `--teardown-script PATH down VARIANT DEV` (it must
 *              succeed); after the cycle `PATH up VARIANT DEV` brings the
 *              device back as it was (perftest/stress-teardown.sh does
 *              both for the test guest's topology), before the checks.
 *              When the rmmod takes the survivor's device too (both
 *              rodp), the survivor owes no error: it must end cleanly
 *              when told
 * By default every scenario runs, but teardown only with
 * --teardown-script.  Cycle k (counted over the whole --out folder) runs
 * scenario k modulo the scenarios chosen, and within a scenario its j-th
 * cycle takes entry (7j + seed + 5 x scenario) modulo 24 of the matrix
 * memory (pinned, explicit ODP, implicit ODP) x operation (WRITE, READ,
 * SEND, atomic fetch-and-add) x the victim's role (requester,
 * responder): 24 cycles of a scenario cover it all.  A scenario with V
 * variants (fork 4, teardown 3, import 2, faultunmap 2) takes variant
 * (j / 2 + j / 24 + seed) modulo V: each variant meets both roles
 * within 2 x V cycles, and every entry every variant within 24 x V.
 * The survivor's memory is pinned.  The delay comes from
 * the seed and the cycle number: a run is repeatable.
 *
 * Invariants, checked after every cycle (a failure names the first that
 * broke, the detail column the others):
 *   victim-exit  the victim ended within 15 s as the scenario says
 *                (SIGKILL; exit status 0; SIGABRT with a core dump, which
 *                with a pipe core_pattern means the helper took it)
 *   survivor     a survivor that was the requester got an error
 *                completion no later than the transport's retry bound
 *                ((retry_cnt + 1) x 2 x the ACK timeout, plus --slack-ms)
 *                after the victim ended, and none before the action; a
 *                responder survivor (to which RC owes no error) ends
 *                cleanly when told; either exits 0 within 15 s
 *   kernel-log   the kernel log lines of the cycle pass logcheck.py
 *                (which takes a memory cgroup's OOM killer report for
 *                what it is; tests/vm/logcheck; a built-in
 *                pattern list, with that call trace allowed in oom cycles,
 *                when it is
 *                not found)
 *   rdma-res     `rdma resource show` of both devices is back at its
 *                count from before the first cycle (within 5 s)
 *   module-ref   the refcnt of the rodp, rdma_rxe and siw modules that
 *                are loaded is back (within 5 s)
 *   mm-refs      /sys/kernel/debug/rodp/mm_refs is back (within 5 s),
 *                when rodp is loaded
 *   d-state      no task stays in D state (2 s)
 *   zombie       no zombie that was not there at the start stays (2 s)
 *
 * --self-test breaks five of them on purpose in every cycle (see
 * self_test_break()): each cycle must fail naming them.
 *
 * Output in --out (default ./exit-stress): cycles.tsv, one row per
 * cycle (its last column the variant, "-" for none), appended (a later run with the same --out goes on counting,
 * with the seed kept in the folder); summary.tsv and summary.txt, one
 * row per scenario over all the folder's cycles (cycles, failures, the
 * survivor's first error statuses, its latency from the action to the
 * first error p50/p99/max); latency.png when gnuplot is there
 * (--plot-script, default perftest/stress-plot.gp of the source tree);
 * kmsg.txt, the kernel log of the cycles.
 *
 * New scenarios: enum scenario, victim_action(), victim_end_ok().
 *
 * Needs root (kernel log, core_pattern, debugfs).  Exit status: 0 when
 * every cycle of this run passed, 1 when one failed, 2 on a usage error,
 * 3 when the run could not start.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "verbs.h"

#ifndef RODP_SOURCE_DIR
#define RODP_SOURCE_DIR "."
#endif

#define BUF_SIZE	(4ul << 20)
#define BLOCK		(2ul << 20)
#define MSG_SIZE	(64u << 10)
#define DEPTH		8
#define STALL_SIZE	(64u << 10)	/* faultunmap: the stalled range */
#define FLOWING		4	/* completions before the action may come */
#define EXIT_WAIT_MS	15000
#define SETTLE_MS	5000
#define CORE_SLEEP_S	1
/*
 * The RC attributes both ends use: ACK timeout 4.096 us << 14 = 67 ms,
 * or --qp-timeout's (a slow kernel: rxe on 6.1, retrying often, also
 * meets its own retry bug, which sends a message again one PSN late).
 */
#define QP_TIMEOUT	14
/*
 * Not 7: rxe (6.1 at least) takes retry_cnt 7 as "retry for ever", as
 * if it were rnr_retry, and its survivor would never get its error.
 */
#define QP_RETRY	6
#define QP_RNR_RETRY	6
#define QP_RNR_TIMER	26	/* 81.92 ms */

/* ---------------------------------------------------------------------- */
/* Scenarios and the matrix                                                */
/* ---------------------------------------------------------------------- */

/*
 * The scenarios.  Later ones (see the header comment) go before
 * SC_NUM, with their action in victim_action() and their expected end
 * in victim_end_ok().
 */
enum scenario { SC_SIGKILL, SC_EXIT0, SC_ABORT, SC_PREFETCH, SC_INVAL,
		SC_MT, SC_FUSE, SC_FORK, SC_IMPORT, SC_OOM, SC_TEARDOWN,
		SC_FAULTUNMAP, SC_NUM };

static const char *const sc_names[SC_NUM] = {
	"sigkill", "exit0", "abort", "prefetch", "inval", "mt", "fuse",
	"fork", "import", "oom", "teardown", "faultunmap",
};

/*
 * A scenario's variants (struct cycle.variant), taken by turns so that
 * each meets every entry of the matrix (see main()).  A scenario not
 * listed has one.
 */
#define MAX_VARIANTS	4
static const char *const sc_variants[SC_NUM][MAX_VARIANTS] = {
	[SC_FORK] = { "child-exits", "child-exits-dontfork",
		      "child-outlives", "child-outlives-dontfork" },
	[SC_IMPORT] = { "unimport", "dereg" },
	[SC_TEARDOWN] = { "linkdel", "netns", "rmmod" },
	[SC_FAULTUNMAP] = { "kill-in-fault", "fault-ends" },
};

static int sc_nvariants(enum scenario sc)
{
	int n = 0;

	while (n < MAX_VARIANTS && sc_variants[sc][n])
		n++;
	return n ? n : 1;
}

static const char *variant_name(enum scenario sc, int v)
{
	return sc_variants[sc][0] ? sc_variants[sc][v] : "-";
}

/* fork: the variant's two choices. */
#define FORK_DONTFORK(v)	((v) & 1)	/* the buffer MADV_DONTFORK */
#define FORK_LINGER(v)		((v) & 2)	/* the child outlives */
/* import: the importer deregisters the MR (else unimports it). */
#define IMPORT_DEREG(v)		((v) & 1)
/* faultunmap: the fault ends (the gate opens) before the kill. */
#define FAULT_ENDS(v)		((v) & 1)

/* teardown: its variants (sc_variants), and the script that does them. */
enum td { TD_LINKDEL, TD_NETNS, TD_RMMOD, TD_NUM };
static const char *const td_names[TD_NUM] = { "linkdel", "netns", "rmmod" };
static const char *opt_teardown;
#define TEARDOWN_WAIT_MS	60000

/* oom: the victims' memory cgroup (--cgroup), its swap allowance. */
static const char *opt_cgroup = "/sys/fs/cgroup/rodp-stress";
#define OOM_SWAP_MAX	"8M"
#define OOM_SQUEEZE	(2l << 20)	/* memory.max below current */
#define OOM_FLOOR	(4l << 20)	/* but not below this */
static char oom_setup_err[160];	/* why the cgroup is not there */

/* fork: how long the forked child outlives the victim (child-outlives). */
#define FORK_LINGER_MS	300
/* fork: how long the forked child lives (child-exits). */
#define FORK_SHORT_MS	100

enum mem { MEM_PINNED, MEM_ODP, MEM_IMPLICIT, MEM_NUM };
static const char *const mem_names[MEM_NUM] = { "pinned", "odp",
						"implicit" };

enum op { OP_WRITE, OP_READ, OP_SEND, OP_ATOMIC, OP_NUM };
static const char *const op_names[OP_NUM] = { "WRITE", "READ", "SEND",
					      "ATOMIC" };

/* What the driver tells a child (struct msg.type). */
enum msg_type {
	M_EP,		/* child -> driver -> other child: an endpoint */
	M_READY,	/* child: connected */
	M_GO,		/* driver: start */
	M_FLOWING,	/* requester: completions flow */
	M_ACTION,	/* driver -> victim: do the scenario's action */
	M_STOP,		/* driver -> survivor: stop, report, clean up */
	M_REPORT,	/* survivor: how it ended */
	M_ERROR,	/* child: set-up failed (text) */
	M_UNMAPPED,	/* faultunmap victim: its munmap() returned */
};

/**
 * struct msg - one message on a child's socket
 * @type: enum msg_type
 * @qpn, @psn, @rkey, @addr, @gid, @mtu, @rd_atom: an endpoint (M_EP)
 * @status: M_REPORT: the first error completion's status, -1 for none
 * @t_err_ns: M_REPORT: CLOCK_MONOTONIC of that completion
 * @completions: M_REPORT: successful completions before it
 * @text: M_ERROR: what failed
 */
struct msg {
	int type;
	uint32_t qpn, psn, rkey;
	uint64_t addr;
	union ibv_gid gid;
	int mtu, rd_atom;
	int status;
	int64_t t_err_ns;
	uint64_t completions;
	char text[200];
};

/**
 * struct cycle - what one cycle runs and how it went
 */
struct cycle {
	unsigned long n;
	enum scenario sc;
	enum mem mem;
	enum op op;
	bool victim_req;
	int delay_ms;
	int variant;		/* sc_variants[sc], 0 if it has none */
	enum td td;		/* teardown: the variant */
	/* results */
	char victim_end[48];
	int surv_status;	/* -1 none, -2 no report */
	double lat_ms;		/* action -> first error (NaN: none) */
	double after_exit_ms;	/* victim reaped -> first error */
	double cycle_ms;
	char broken[160];	/* invariants that broke, comma separated */
	char detail[1024];
};

/* ---------------------------------------------------------------------- */
/* Options and small helpers                                               */
/* ---------------------------------------------------------------------- */

static const char *opt_dev, *opt_peer, *opt_out = "exit-stress";
static const char *opt_logcheck, *opt_plot;
static unsigned long opt_cycles = 24, opt_until;
static bool opt_cycles_given, opt_self_test;
static bool opt_have_seed;
static uint64_t opt_seed;
static int opt_slack_ms = 3000, opt_max_delay_ms = 300;
static int opt_qp_timeout = QP_TIMEOUT;
static bool sc_chosen[SC_NUM];
static int nchosen;
static enum scenario chosen[SC_NUM];

static volatile sig_atomic_t interrupted;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						      noreturn));

static void restore_core_pattern(void);

static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("rodp-exit-stress: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	restore_core_pattern();
	exit(3);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* splitmix64: the cycle's random numbers from the seed and its number. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void addf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void addf(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* Note broken invariant @inv of cycle @c, with what was seen. */
static void broke(struct cycle *c, const char *inv, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void broke(struct cycle *c, const char *inv, const char *fmt, ...)
{
	char d[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d, sizeof(d), fmt, ap);
	va_end(ap);
	if (!strstr(c->broken, inv))
		addf(c->broken, sizeof(c->broken), "%s%s",
		     c->broken[0] ? "," : "", inv);
	addf(c->detail, sizeof(c->detail), "%s%s: %s",
	     c->detail[0] ? "; " : "", inv, d);
}

static bool read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	return true;
}

/* ---------------------------------------------------------------------- */
/* Messages                                                                */
/* ---------------------------------------------------------------------- */

static int msg_send(int fd, struct msg *m)
{
	return send(fd, m, sizeof(*m), MSG_NOSIGNAL) == sizeof(*m) ? 0 : -1;
}

/* Receive a message within @ms (-1: no limit).  0, or -1 (EOF/time). */
static int msg_recv(int fd, struct msg *m, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t end = now_ns() + (int64_t)ms * 1000000;

	for (;;) {
		int left = ms < 0 ? -1 :
			   (int)((end - now_ns()) / 1000000);

		if (ms >= 0 && left < 0)
			left = 0;
		if (poll(&p, 1, left) > 0)
			break;
		if (ms >= 0 && now_ns() >= end)
			return -1;
	}
	return recv(fd, m, sizeof(*m), 0) == sizeof(*m) ? 0 : -1;
}

static void child_fail(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void child_fail(int fd, const char *fmt, ...)
{
	struct msg m = { .type = M_ERROR };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	msg_send(fd, &m);
	_exit(3);
}

/* ---------------------------------------------------------------------- */
/* The children: one end of the connection                                 */
/* ---------------------------------------------------------------------- */

/* fuse: the rodp-stallfs mount of the cycle, its process, its output. */
static char fuse_mnt[64];
static pid_t fuse_pid;
static FILE *fuse_out;

/**
 * struct end - one child's verbs objects and buffer
 * @fd: the socket to the driver
 * @victim: this is the victim
 * @req: this end is the requester
 */
struct end {
	int fd;
	bool victim, req;
	enum scenario sc;
	enum mem mem;
	enum op op;
	struct vt_dev vd;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	char *buf;
	struct msg peer;
	atomic_int action;	/* the victim's transfer thread acts on it */
	char *stall;		/* faultunmap: the stalled file's mapping */
	struct ibv_mr *stall_mr;	/* faultunmap: an ODP MR over it */
};

static int mem_access(enum mem mem)
{
	return VT_ACCESS_ALL | (mem == MEM_PINNED ? 0 : IBV_ACCESS_ON_DEMAND);
}

static int post_recv(struct end *e, uint64_t i);

/*
 * faultunmap: a MAP_SHARED mapping of the stalled file apart from the
 * transfer's buffer, reached through an explicit ODP MR of its own (or
 * the implicit MR), for the fault thread to prefetch.
 */
static void stall_setup(struct end *e, const char *dev)
{
	struct ibv_device_attr_ex ax;
	char path[PATH_MAX];
	int fd;

	if (ibv_query_device_ex(e->vd.ctx, NULL, &ax) ||
	    !(ax.odp_caps.general_caps & IBV_ODP_SUPPORT))
		child_fail(e->fd, "%s: faultunmap needs ODP", dev);
	snprintf(path, sizeof(path), "%s/data", fuse_mnt);
	fd = open(path, O_RDWR);
	e->stall = fd < 0 ? MAP_FAILED :
		   mmap(NULL, STALL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			fd, 0);
	if (e->stall == MAP_FAILED)
		child_fail(e->fd, "%s: %s", path, strerror(errno));
	close(fd);
	e->stall_mr = e->mem == MEM_IMPLICIT ? e->mr :
		      ibv_reg_mr(e->pd, e->stall, STALL_SIZE,
				 IBV_ACCESS_LOCAL_WRITE |
				 IBV_ACCESS_ON_DEMAND);
	if (!e->stall_mr)
		child_fail(e->fd, "%s: ibv_reg_mr (ODP, the stalled file): %s",
			   dev, strerror(errno));
}

static void end_setup(struct end *e, const char *dev)
{
	struct ibv_qp_cap cap = {
		.max_send_wr = DEPTH, .max_recv_wr = DEPTH,
		.max_send_sge = 1, .max_recv_sge = 1,
	};
	struct ibv_device_attr_ex ax;
	struct msg m = { .type = M_EP };
	struct vt_path p;
	uint64_t i;
	int rc;

	if (vt_dev_open(&e->vd, dev, false))
		child_fail(e->fd, "%s", e->vd.error);
	if (e->mem != MEM_PINNED) {
		uint32_t need = e->op == OP_WRITE ? IBV_ODP_SUPPORT_WRITE :
				e->op == OP_READ ? IBV_ODP_SUPPORT_READ :
				e->op == OP_SEND ? IBV_ODP_SUPPORT_SEND |
						   IBV_ODP_SUPPORT_RECV :
				IBV_ODP_SUPPORT_ATOMIC;

		if (ibv_query_device_ex(e->vd.ctx, NULL, &ax))
			child_fail(e->fd, "%s: ibv_query_device_ex", dev);
		if (!(ax.odp_caps.general_caps & IBV_ODP_SUPPORT) ||
		    (e->mem == MEM_IMPLICIT &&
		     !(ax.odp_caps.general_caps & IBV_ODP_SUPPORT_IMPLICIT)))
			child_fail(e->fd, "%s: no %s ODP", dev,
				   mem_names[e->mem]);
		if ((ax.odp_caps.per_transport_caps.rc_odp_caps & need) !=
		    need)
			child_fail(e->fd, "%s: no RC ODP for %s", dev,
				   op_names[e->op]);
	}
	e->pd = ibv_alloc_pd(e->vd.ctx);
	e->cq = e->pd ? ibv_create_cq(e->vd.ctx, 4 * DEPTH, NULL, NULL, 0) :
		NULL;
	e->qp = e->cq ? vt_qp_create(e->pd, e->cq, e->cq, &cap, true) : NULL;
	if (!e->qp)
		child_fail(e->fd, "%s: PD/CQ/QP: %s", dev, strerror(errno));
	e->buf = mmap(NULL, BUF_SIZE + BLOCK, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->buf == MAP_FAILED)
		child_fail(e->fd, "mmap: %s", strerror(errno));
	e->buf = (char *)(((uintptr_t)e->buf + BLOCK - 1) & ~(BLOCK - 1));
	if (e->victim && e->sc == SC_FUSE) {
		/* The stalled file: untouched, every fault waits at the gate. */
		char path[PATH_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/data", fuse_mnt);
		fd = open(path, O_RDWR);
		if (fd < 0 || mmap(e->buf, BUF_SIZE, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
			child_fail(e->fd, "%s: %s", path, strerror(errno));
		close(fd);
	} else {
		memset(e->buf, e->victim ? 0x5a : 0xa5, BUF_SIZE);
	}
	if (e->mem == MEM_IMPLICIT)
		e->mr = ibv_reg_mr(e->pd, NULL, SIZE_MAX,
				   mem_access(e->mem));
	else
		e->mr = ibv_reg_mr(e->pd, e->buf, BUF_SIZE,
				   mem_access(e->mem));
	if (!e->mr)
		child_fail(e->fd, "%s: ibv_reg_mr (%s): %s", dev,
			   mem_names[e->mem], strerror(errno));
	if (e->victim && e->sc == SC_FAULTUNMAP)
		stall_setup(e, dev);

	m.qpn = e->qp->qp_num;
	m.psn = (uint32_t)(mix((uint64_t)getpid()) & 0xffffff);
	m.rkey = e->mr->rkey;
	m.addr = (uintptr_t)e->buf;
	m.gid = e->vd.gid;
	m.mtu = e->vd.port.active_mtu;
	m.rd_atom = e->vd.attr.max_qp_rd_atom;
	if (e->vd.attr.max_qp_init_rd_atom < m.rd_atom)
		m.rd_atom = e->vd.attr.max_qp_init_rd_atom;
	if (msg_send(e->fd, &m) || msg_recv(e->fd, &e->peer, 30000) ||
	    e->peer.type != M_EP)
		_exit(3);

	memset(&p, 0, sizeof(p));
	p.mtu = m.mtu < e->peer.mtu ? m.mtu : e->peer.mtu;
	p.rd_atomic = m.rd_atom < e->peer.rd_atom ? m.rd_atom :
		      e->peer.rd_atom;
	if (p.rd_atomic > 8)
		p.rd_atomic = 8;
	p.dest_rd_atomic = p.rd_atomic;
	p.timeout = (uint8_t)opt_qp_timeout;
	p.retry_cnt = QP_RETRY;
	p.rnr_retry = QP_RNR_RETRY;
	p.min_rnr_timer = QP_RNR_TIMER;
	p.access = VT_ACCESS_ALL;
	rc = vt_qp_connect(e->qp, &p, &e->vd, e->peer.qpn, m.psn,
			   e->peer.psn, &e->peer.gid);
	if (rc)
		child_fail(e->fd, "%s", vt_errmsg());
	/* A SEND responder's receives are there before the first SEND. */
	for (i = 0; !e->req && e->op == OP_SEND && i < DEPTH; i++)
		if (post_recv(e, i))
			child_fail(e->fd, "ibv_post_recv: %s",
				   strerror(errno));
}

static uint64_t slot_addr(uint64_t base, uint64_t i)
{
	return base + (i * MSG_SIZE) % BUF_SIZE;
}

/* Post request number @i of the requester's stream. */
static int post_req(struct end *e, uint64_t i)
{
	struct ibv_sge sg = {
		.addr = slot_addr((uintptr_t)e->buf, i),
		.length = e->op == OP_ATOMIC ? 8 : MSG_SIZE,
		.lkey = e->mr->lkey,
	};
	struct ibv_send_wr wr, *bad;
	static const enum ibv_wr_opcode wop[OP_NUM] = {
		IBV_WR_RDMA_WRITE, IBV_WR_RDMA_READ, IBV_WR_SEND,
		IBV_WR_ATOMIC_FETCH_AND_ADD,
	};

	vt_send_wr(&wr, i, &sg, 1, wop[e->op], 0);
	if (e->op == OP_ATOMIC) {
		wr.wr.atomic.remote_addr = slot_addr(e->peer.addr, i);
		wr.wr.atomic.rkey = e->peer.rkey;
		wr.wr.atomic.compare_add = 1;
	} else if (e->op != OP_SEND) {
		wr.wr.rdma.remote_addr = slot_addr(e->peer.addr, i);
		wr.wr.rdma.rkey = e->peer.rkey;
	}
	return ibv_post_send(e->qp, &wr, &bad);
}

static int post_recv(struct end *e, uint64_t i)
{
	struct ibv_sge sg = {
		.addr = slot_addr((uintptr_t)e->buf, i),
		.length = MSG_SIZE,
		.lkey = e->mr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = i, .sg_list = &sg, .num_sge = 1 };
	struct ibv_recv_wr *bad;

	return ibv_post_recv(e->qp, &wr, &bad);
}

/* The victim's transfer thread acts on the driver's M_ACTION here. */
static void victim_check_action(struct end *e)
{
	if (!e->victim || !atomic_load(&e->action))
		return;
	if (e->sc == SC_EXIT0)
		exit(0);
	if (e->sc == SC_ABORT)
		abort();
}

/*
 * The transfer: the requester keeps DEPTH operations in flight, the
 * responder (for SEND) DEPTH receives posted.  A survivor stops at its
 * first error completion (*status, *t_err) or at M_STOP (stop set).
 */
static atomic_bool stop_req;

static void transfer(struct end *e, int *status, int64_t *t_err,
		     uint64_t *done)
{
	struct ibv_wc wc[DEPTH];
	uint64_t posted = 0;
	bool flowing = false;
	int i, n, out = 0;

	*status = -1;
	*done = 0;
	if (!e->req && e->op == OP_SEND)
		posted = DEPTH;		/* end_setup() posted them */
	for (;;) {
		victim_check_action(e);
		if (atomic_load(&stop_req))
			return;
		while (e->req && out < DEPTH) {
			if (post_req(e, posted)) {
				if (e->victim)
					break;	/* QP in error: go on polling */
				*status = -3;
				*t_err = now_ns();
				return;
			}
			posted++;
			out++;
		}
		n = ibv_poll_cq(e->cq, DEPTH, wc);
		for (i = 0; i < n; i++) {
			if (wc[i].status != IBV_WC_SUCCESS) {
				if (!e->victim && *status == -1) {
					*status = wc[i].status;
					*t_err = now_ns();
					return;
				}
				out = out ? out - 1 : 0;
				continue;
			}
			(*done)++;
			if (wc[i].opcode & IBV_WC_RECV) {
				post_recv(e, posted++);
			} else {
				out--;
			}
		}
		if (e->req && !flowing && *done >= FLOWING) {
			struct msg m = { .type = M_FLOWING };

			flowing = true;
			msg_send(e->fd, &m);
		}
		/*
		 * A responder of WRITE, READ or atomics has nothing to poll
		 * for: it naps, except in mt, where the point is a thread
		 * inside ibv_poll_cq() when exit_group() comes.
		 */
		if (!n && !e->req && e->op != OP_SEND &&
		    !(e->victim && e->sc == SC_MT))
			usleep(500);
	}
}

/* prefetch: drop the buffer, prefetch it asynchronously, again. */
static void *prefetch_thread(void *arg)
{
	struct end *e = arg;
	struct ibv_sge sg = {
		.addr = (uintptr_t)e->buf, .length = BUF_SIZE,
		.lkey = e->mr->lkey,
	};

	for (;;) {
		madvise(e->buf, BUF_SIZE, MADV_DONTNEED);
		/* EINVAL on a pinned MR: the kill still comes mid-transfer. */
		ibv_advise_mr(e->pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, 0,
			      &sg, 1);
		usleep(2000);
	}
	return NULL;
}

/* inval: unmap and drop pieces of the buffer while the device uses it. */
static void *inval_thread(void *arg)
{
	struct end *e = arg;
	uint64_t i;

	for (i = 0;; i++) {
		uint64_t r = mix(i ^ (uint64_t)getpid());
		char *p = e->buf + (r % (BUF_SIZE / MSG_SIZE)) * MSG_SIZE;

		/*
		 * A new mapping over the old one unmaps its pages with no
		 * hole in between: a peer's access at that moment is still
		 * a valid one (munmap alone would make it a remote access
		 * error, which is right but no sign of trouble).
		 */
		if (i & 1)
			madvise(p, MSG_SIZE, MADV_DONTNEED);
		else if (mmap(p, MSG_SIZE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			      -1, 0) == MAP_FAILED)
			_exit(4);
		if (!(i % 16))
			usleep(200);
	}
	return NULL;
}

/*
 * faultunmap: fault the stalled range in for the device, waiting for it
 * (PREFETCH_WRITE with FLUSH): the fault, in this thread, waits at the
 * file system's gate with the address space's lock held for reading.
 * Whatever it returns (the range may be unmapped under it), the thread
 * then only waits for the end.
 */
static void *fault_thread(void *arg)
{
	struct end *e = arg;
	struct ibv_sge sg = {
		.addr = (uintptr_t)e->stall, .length = STALL_SIZE,
		.lkey = e->stall_mr->lkey,
	};

	ibv_advise_mr(e->pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
		      IBV_ADVISE_MR_FLAG_FLUSH, &sg, 1);
	for (;;)
		pause();
	return NULL;
}

/* The victim's control thread: waits for M_ACTION and does it. */
/*
 * oom: allocate and touch memory until the OOM killer ends the process
 * (an mmap that fails is tried again: the cgroup charges at fault time).
 */
static void __attribute__((noreturn)) oom_hog(void)
{
	const size_t chunk = 1ul << 20;
	long pg = sysconf(_SC_PAGESIZE);

	for (;;) {
		volatile char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		size_t i;

		if (p == MAP_FAILED) {
			usleep(1000);
			continue;
		}
		for (i = 0; i < chunk; i += (size_t)pg)
			p[i] = 1;
	}
}

static void *victim_control(void *arg)
{
	struct end *e = arg;
	struct msg m;

	while (!msg_recv(e->fd, &m, -1)) {
		if (m.type != M_ACTION)
			continue;
		if (e->sc == SC_MT)
			syscall(SYS_exit_group, 0);
		if (e->sc == SC_OOM)
			oom_hog();
		if (e->sc == SC_FAULTUNMAP) {
			/* Waits for the fault thread's lock, then unmaps. */
			struct msg u = { .type = M_UNMAPPED };

			munmap(e->stall, STALL_SIZE);
			msg_send(e->fd, &u);
			continue;
		}
		atomic_store(&e->action, 1);
	}
	/* The driver is gone: so is the run. */
	_exit(5);
	return NULL;
}

static void *survivor_control(void *arg)
{
	struct end *e = arg;
	struct msg m;

	while (!msg_recv(e->fd, &m, -1))
		if (m.type == M_STOP)
			break;
	atomic_store(&stop_req, true);
	return NULL;
}

/*
 * fork: the victim forks, single-threaded, once the transfer is set up;
 * the child inherits the uverbs file and the mappings (the buffer
 * MADV_DONTFORK in the -dontfork variants) and touches no verbs object.
 * child-outlives: the child outlives the victim by FORK_LINGER_MS, so
 * the device context (QP, MR) outlives the mm that registered the
 * memory.  child-exits: the child exits after FORK_SHORT_MS while the
 * victim's transfer goes on (the survivor must see no error before the
 * kill).
 * The driver (a child subreaper) reaps the orphan.
 */
static void victim_fork(struct end *e, int variant)
{
	pid_t parent = getpid(), pid;
	bool linger = FORK_LINGER(variant);

	if (FORK_DONTFORK(variant))
		madvise(e->buf, BUF_SIZE, MADV_DONTFORK);
	pid = fork();
	if (pid)
		return;		/* a failed fork: the cycle is a sigkill */
	close(e->fd);
	prctl(PR_SET_PDEATHSIG, 0);
	if (!linger) {
		usleep(FORK_SHORT_MS * 1000);
		_exit(0);
	}
	while (getppid() == parent)
		usleep(5000);
	usleep(FORK_LINGER_MS * 1000);
	_exit(0);
}

/* Send @fd over the UNIX socket @sock (SCM_RIGHTS). */
static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'f';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -1;
}

/* Receive a file descriptor sent by send_fd(); -1 on failure. */
static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &mh, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * import: a second process gets the victim's uverbs file by SCM_RIGHTS
 * (from a process that shares nothing else with the victim: it is
 * forked before the verbs objects exist and closes all but its socket),
 * imports the device, the PD and the MR (ibv_import_*), and says so.
 * It waits for the victim's death, then FORK_LINGER_MS; then deregisters
 * the imported MR (variant dereg; unimport leaves it to the file's
 * release), and exits.  The device context and the MR thus
 * outlive the mm that registered the memory, held by a process whose mm
 * the device must never touch.
 */
static void importer_main(int sock, pid_t victim, int variant)
{
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	uint32_t h[2];
	char ok = 'i';
	int fd;

	fd = recv_fd(sock);
	if (fd < 0 || read(sock, h, sizeof(h)) != sizeof(h))
		_exit(20);
	ctx = ibv_import_device(fd);
	pd = ctx ? ibv_import_pd(ctx, h[0]) : NULL;
	mr = pd ? ibv_import_mr(pd, h[1]) : NULL;
	if (!mr)
		ok = 'x';
	if (write(sock, &ok, 1) != 1 || ok != 'i')
		_exit(21);
	while (kill(victim, 0) == 0) {
		char st[64];
		FILE *f;

		/* A zombie victim is dead for this purpose. */
		snprintf(st, sizeof(st), "/proc/%d/stat", victim);
		f = fopen(st, "r");
		if (!f)
			break;
		if (fscanf(f, "%*d %*s %c", st) == 1 && st[0] == 'Z') {
			fclose(f);
			break;
		}
		fclose(f);
		usleep(5000);
	}
	usleep(FORK_LINGER_MS * 1000);
	if (IMPORT_DEREG(variant)) {
		if (ibv_dereg_mr(mr))
			_exit(22);
	} else {
		ibv_unimport_mr(mr);
	}
	ibv_unimport_pd(pd);
	ibv_close_device(ctx);
	_exit(0);
}

static pid_t importer_pid;
static int importer_sock = -1;

/* import: fork the importer while the victim has no verbs object yet. */
static void importer_fork(int variant)
{
	int sv[2], i;
	pid_t victim = getpid();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	importer_pid = fork();
	if (importer_pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (!importer_pid) {
		for (i = 3; i < 1024; i++)
			if (i != sv[1])
				close(i);
		importer_main(sv[1], victim, variant);
	}
	close(sv[1]);
	importer_sock = sv[0];
}

/* import: hand the uverbs file, the PD and the MR to the importer. */
static void victim_import(struct end *e)
{
	uint32_t h[2] = { e->pd->handle, e->mr->handle };
	char ok = 0;

	if (importer_sock < 0 || send_fd(importer_sock, e->vd.ctx->cmd_fd) ||
	    write(importer_sock, h, sizeof(h)) != sizeof(h) ||
	    read(importer_sock, &ok, 1) != 1 || ok != 'i')
		child_fail(e->fd, "import: the importer could not import "
			   "the device, PD and MR");
}

/* Write @text to @dir/@file; 0 or -1 (errno set). */
static int cg_write(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ret = -1;
	close(fd);
	return ret;
}

/* oom: the calling process moves into the cgroup. */
static int oom_join(void)
{
	return cg_write(opt_cgroup, "cgroup.procs", "0");
}

/* A number from @dir/@file (for memory.events: the line @key); -1. */
static long cg_read(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX], line[256];
	size_t kl = key ? strlen(key) : 0;
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!key) {
			v = atol(line);
			break;
		}
		if (!strncmp(line, key, kl) && line[kl] == ' ') {
			v = atol(line + kl + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

/*
 * oom: the cgroup, once per run: a cgroup2 mount above --cgroup (mounted
 * at /sys/fs/cgroup when nothing is), the memory controller enabled for
 * its children.  On failure oom_setup_err says why (each oom cycle then
 * fails in "setup").
 */
static void oom_setup(void)
{
	char parent[PATH_MAX], *sl;

	snprintf(parent, sizeof(parent), "%s", opt_cgroup);
	sl = strrchr(parent, '/');
	if (!sl || sl == parent) {
		snprintf(oom_setup_err, sizeof(oom_setup_err),
			 "--cgroup %s: not below a cgroup2 mount", opt_cgroup);
		return;
	}
	*sl = 0;
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) &&
	    !strcmp(parent, "/sys/fs/cgroup"))
		mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL);
	if (cg_write(parent, "cgroup.subtree_control", "+memory") ||
	    (mkdir(opt_cgroup, 0755) && errno != EEXIST) ||
	    cg_write(opt_cgroup, "memory.max", "max")) {
		snprintf(oom_setup_err, sizeof(oom_setup_err),
			 "cgroup %s with the memory controller: %s",
			 opt_cgroup, strerror(errno));
		return;
	}
	/* Without swap (or its accounting) the file may be missing. */
	cg_write(opt_cgroup, "memory.swap.max", OOM_SWAP_MAX);
}

static void child_main(int fd, const char *dev, bool victim, bool req,
		       const struct cycle *c)
{
	struct end e = { .fd = fd, .victim = victim, .req = req, .sc = c->sc,
			 .mem = victim ? c->mem : MEM_PINNED, .op = c->op };
	struct msg m = { .type = M_READY };
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	pthread_t th;
	int status;
	int64_t t_err = 0;
	uint64_t done;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (victim && c->sc == SC_ABORT) {
		setrlimit(RLIMIT_CORE, &rl);
		prctl(PR_SET_DUMPABLE, 1);
	} else {
		rl.rlim_cur = rl.rlim_max = 0;
		setrlimit(RLIMIT_CORE, &rl);
	}
	if (victim && c->sc == SC_IMPORT)
		importer_fork(c->variant);
	/* oom: everything the victim allocates is the cgroup's. */
	if (victim && c->sc == SC_OOM && oom_join())
		child_fail(fd, "oom: cannot join %s: %s", opt_cgroup,
			   strerror(errno));
	end_setup(&e, dev);
	/* Before READY: the action may come as soon as the peer flows. */
	if (victim && c->sc == SC_FORK)
		victim_fork(&e, c->variant);
	if (victim && c->sc == SC_IMPORT)
		victim_import(&e);
	if (msg_send(fd, &m) || msg_recv(fd, &m, 30000) || m.type != M_GO)
		_exit(3);
	if (victim) {
		pthread_create(&th, NULL, victim_control, &e);
		if (c->sc == SC_PREFETCH)
			pthread_create(&th, NULL, prefetch_thread, &e);
		if (c->sc == SC_INVAL)
			pthread_create(&th, NULL, inval_thread, &e);
		if (c->sc == SC_FAULTUNMAP)
			pthread_create(&th, NULL, fault_thread, &e);
		transfer(&e, &status, &t_err, &done);
		/* Only an action ends a victim's transfer. */
		_exit(6);
	}
	pthread_create(&th, NULL, survivor_control, &e);
	transfer(&e, &status, &t_err, &done);
	m.type = M_REPORT;
	m.status = status;
	m.t_err_ns = t_err;
	m.completions = done;
	msg_send(fd, &m);
	/* Clean up as a careful program would, then wait for M_STOP. */
	ibv_destroy_qp(e.qp);
	ibv_dereg_mr(e.mr);
	ibv_destroy_cq(e.cq);
	ibv_dealloc_pd(e.pd);
	ibv_close_device(e.vd.ctx);
	if (!atomic_load(&stop_req))
		pthread_join(th, NULL);
	_exit(0);
}

/* ---------------------------------------------------------------------- */
/* core_pattern: "|rodp-core-helper 1" for the abort scenario             */
/* ---------------------------------------------------------------------- */

static char old_core_pattern[256];
static bool core_pattern_set;

static void restore_core_pattern(void)
{
	FILE *f;

	if (!core_pattern_set)
		return;
	f = fopen("/proc/sys/kernel/core_pattern", "w");
	if (f) {
		fputs(old_core_pattern, f);
		fclose(f);
	}
	core_pattern_set = false;
}

static const char *opt_core_helper;

/*
 * The kernel runs the helper in PID 1's root: in the test guest that is
 * the initramfs, where --core-helper names it (its path there).
 */
static void set_core_pattern(void)
{
	char self[PATH_MAX], pat[PATH_MAX + 64], root[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	FILE *f;

	if (n <= 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	self[n] = 0;
	if (!opt_core_helper) {
		*strrchr(self, '/') = 0;
		strcat(self, "/rodp-core-helper");
		opt_core_helper = self;
	}
	snprintf(root, sizeof(root), "/proc/1/root%s", opt_core_helper);
	if (access(root, X_OK))
		die("the core helper %s is not there for PID 1 (%s): give "
		    "--core-helper as PID 1 sees it", opt_core_helper, root);
	snprintf(pat, sizeof(pat), "|%s %d", opt_core_helper, CORE_SLEEP_S);
	if (strlen(pat) > 127)
		die("core_pattern would be longer than 127 bytes: %s", pat);
	if (!read_text("/proc/sys/kernel/core_pattern", old_core_pattern,
		       sizeof(old_core_pattern)))
		die("cannot read /proc/sys/kernel/core_pattern");
	f = fopen("/proc/sys/kernel/core_pattern", "w");
	if (!f || fputs(pat, f) < 0 || fclose(f))
		die("cannot set core_pattern: %s", strerror(errno));
	core_pattern_set = true;
}

/* ---------------------------------------------------------------------- */
/* Invariants: the state of the machine                                    */
/* ---------------------------------------------------------------------- */

static int kmsg_fd = -1;
static FILE *kmsg_all;

/* New kernel log messages, one per line, into @f; how many. */
/*
 * /dev/kmsg escapes a record's unprintable bytes as \xHH (a message of
 * several lines, as KASAN's "located ... to the right of" one, comes
 * with \x0a in it): undo that in place, as dmesg does.
 */
static void kmsg_unescape(char *msg)
{
	char *in = msg, *out = msg;

	while (*in) {
		if (in[0] == '\\' && in[1] == 'x' &&
		    isxdigit((unsigned char)in[2]) &&
		    isxdigit((unsigned char)in[3])) {
			char hex[3] = { in[2], in[3], 0 };

			*out++ = (char)strtol(hex, NULL, 16);
			in += 4;
		} else {
			*out++ = *in++;
		}
	}
	*out = 0;
}

static int kmsg_drain(FILE *f)
{
	char rec[8192];
	int lines = 0;
	ssize_t n;

	for (;;) {
		char *msg, *nl;

		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		kmsg_unescape(msg);
		fprintf(f, "%s\n", msg);
		if (kmsg_all)
			fprintf(kmsg_all, "%s\n", msg);
		lines++;
	}
	return lines;
}

static const char *const builtin_bad[] = {
	"WARNING:", "BUG:", "Oops", "Call Trace", "general protection",
	"blocked for more than", "soft lockup", "KASAN:", "UBSAN:",
	"refcount_t:", "corruption", NULL,
};

static void check_kmsg(struct cycle *c)
{
	char path[PATH_MAX], cmd[PATH_MAX * 2 + 64], line[512];
	FILE *f;
	int n, rc, i;

	snprintf(path, sizeof(path), "%s/kmsg-cycle.txt", opt_out);
	f = fopen(path, "w");
	if (!f)
		die("%s: %s", path, strerror(errno));
	if (kmsg_all)
		fprintf(kmsg_all, "--- cycle %lu\n", c->n);
	n = kmsg_drain(f);
	if (opt_self_test) {
		fprintf(f, "WARNING: CPU: 0 PID: 1 at rodp-exit-stress "
			"--self-test (not in the kernel's log)\n");
		n++;
	}
	fclose(f);
	if (!n)
		return;
	if (opt_logcheck) {
		snprintf(cmd, sizeof(cmd), "python3 '%s' '%s' >'%s.out' 2>&1",
			 opt_logcheck, path, path);
		rc = system(cmd);
		if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) > 1)
			broke(c, "kernel-log", "logcheck.py did not run (%d)",
			      rc);
		else if (WEXITSTATUS(rc) == 1)
			broke(c, "kernel-log", "logcheck: problems (kmsg.txt,"
			      " cycle %lu)", c->n);
		return;
	}
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		for (i = 0; builtin_bad[i]; i++)
			if (strstr(line, builtin_bad[i]) &&
			    !(c->sc == SC_OOM &&
			      !strcmp(builtin_bad[i], "Call Trace"))) {
				line[strcspn(line, "\n")] = 0;
				broke(c, "kernel-log", "%.120s", line);
				break;
			}
	if (f)
		fclose(f);
}

/* `rdma resource show` line of device @dev (after its name), or "". */
static void rdma_res(const char *dev, char *out, size_t len)
{
	char line[512], key[80];
	FILE *p = popen("rdma resource show 2>/dev/null", "r");

	out[0] = 0;
	snprintf(key, sizeof(key), " %s: ", dev);
	while (p && fgets(line, sizeof(line), p)) {
		char *s = strstr(line, key);

		if (!s)
			continue;
		s += strlen(key);
		s[strcspn(s, "\n")] = 0;
		snprintf(out, len, "%s", s);
	}
	if (p)
		pclose(p);
}

static const char *const modules[] = { "rodp", "rdma_rxe", "siw", NULL };

/**
 * struct state - what must come back after each cycle
 */
struct state {
	char res[2][256];
	long modref[4];
	char mm[128];
	pid_t zombies[64];
	int nzombies;
};

static struct state base;

static void read_modrefs(long *v)
{
	char path[128], buf[32];
	int i;

	for (i = 0; modules[i]; i++) {
		snprintf(path, sizeof(path), "/sys/module/%s/refcnt",
			 modules[i]);
		v[i] = read_text(path, buf, sizeof(buf)) ? atol(buf) : -1;
	}
}

static void read_mm(char *buf, size_t len)
{
	if (!read_text("/sys/kernel/debug/rodp/mm_refs", buf, len))
		buf[0] = 0;
	for (char *s = buf; *s; s++)
		if (*s == '\n')
			*s = ' ';
}

/* The state letter ('R', 'S', 'D', 'Z', ...) in a /proc stat file, or 0. */
static char stat_state(const char *path)
{
	char buf[512], *s;

	if (!read_text(path, buf, sizeof(buf)))
		return 0;
	s = strrchr(buf, ')');
	return s && s[1] == ' ' ? s[2] : 0;
}

/* The state letter of task @pid, or 0. */
static char task_state(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return stat_state(path);
}

/* Tasks in state @st ('D' or 'Z'): their ids into @ids, how many. */
static int tasks_in(char st, pid_t *ids, int max, bool threads)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char path[600];
		DIR *td;
		struct dirent *te;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", de->d_name);
		td = threads ? opendir(path) : NULL;
		do {
			const char *tid = de->d_name;

			if (td) {
				te = readdir(td);
				if (!te)
					break;
				if (!isdigit((unsigned char)te->d_name[0]))
					continue;
				tid = te->d_name;
				snprintf(path, sizeof(path),
					 "/proc/%s/task/%s/stat",
					 de->d_name, tid);
			} else {
				snprintf(path, sizeof(path), "/proc/%s/stat",
					 de->d_name);
			}
			if (stat_state(path) == st && n < max)
				ids[n++] = atoi(tid);
		} while (td);
		if (td)
			closedir(td);
	}
	if (d)
		closedir(d);
	return n;
}

static bool in(pid_t p, const pid_t *v, int n)
{
	for (int i = 0; i < n; i++)
		if (v[i] == p)
			return true;
	return false;
}

static void state_read(struct state *s)
{
	rdma_res(opt_dev, s->res[0], sizeof(s->res[0]));
	rdma_res(opt_peer, s->res[1], sizeof(s->res[1]));
	read_modrefs(s->modref);
	read_mm(s->mm, sizeof(s->mm));
}

static void check_state(struct cycle *c)
{
	int64_t end = now_ns() + (int64_t)SETTLE_MS * 1000000;
	struct state s = { 0 };	/* modref[] past the modules stays 0 */
	pid_t d0[64], d1[64], z[64];
	int nd0, nd1, nz, i, j;
	bool same;

	/* Counts and references: back within SETTLE_MS. */
	for (;;) {
		state_read(&s);
		same = !strcmp(s.res[0], base.res[0]) &&
		       !strcmp(s.res[1], base.res[1]) &&
		       !strcmp(s.mm, base.mm);
		for (i = 0; same && modules[i]; i++)
			same = s.modref[i] == base.modref[i];
		if (same || now_ns() > end)
			break;
		sleep_ms(100);
	}
	for (i = 0; i < 2; i++)
		if (strcmp(s.res[i], base.res[i]))
			broke(c, "rdma-res", "%s: %s (baseline %s)",
			      i ? opt_peer : opt_dev, s.res[i], base.res[i]);
	for (i = 0; modules[i]; i++)
		if (s.modref[i] != base.modref[i])
			broke(c, "module-ref", "%s refcnt %ld (baseline %ld)",
			      modules[i], s.modref[i], base.modref[i]);
	if (strcmp(s.mm, base.mm))
		broke(c, "mm-refs", "%s(baseline %s)", s.mm, base.mm);

	/* D state: a task that stays in it for 2 s. */
	nd0 = tasks_in('D', d0, 64, true);
	for (i = 0; nd0 && i < 10; i++) {
		sleep_ms(200);
		nd1 = tasks_in('D', d1, 64, true);
		for (j = 0, nd0 = 0; j < nd1; j++)
			if (in(d1[j], d0, 64))
				d0[nd0++] = d1[j];
	}
	for (i = 0; i < nd0; i++) {
		char path[64], comm[64] = "";

		snprintf(path, sizeof(path), "/proc/%d/comm", d0[i]);
		read_text(path, comm, sizeof(comm));
		comm[strcspn(comm, "\n")] = 0;
		broke(c, "d-state", "task %d (%s) in D state for 2 s",
		      d0[i], comm);
	}
	/* Zombies that were not there at the start, for 2 s. */
	for (i = 0; i < 10; i++) {
		nz = tasks_in('Z', z, 64, false);
		for (j = 0, nd0 = 0; j < nz; j++)
			if (!in(z[j], base.zombies, base.nzombies))
				nd0++;
		if (!nd0)
			break;
		sleep_ms(200);
	}
	if (nd0)
		broke(c, "zombie", "%d new zombie(s)", nd0);
}

/* ---------------------------------------------------------------------- */
/* The driver                                                              */
/* ---------------------------------------------------------------------- */

/*
 * --self-test: the checks must be able to fail.  Before the checks of
 * each cycle the driver breaks six invariants on purpose: it keeps a
 * context, a PD and an ODP MR of its own open on the victim's device
 * (rdma-res, mm-refs), leaves a zombie child (zombie), has a child wait
 * in vfork() until the cycle's checks are done, which is D state
 * (d-state), and adds a WARNING line to the cycle's kernel log lines,
 * not to the kernel's own log (kernel-log).  Every cycle must then fail
 * with exactly these five.
 * (module-ref is not provoked: nothing a process holds takes a
 * reference on rodp's module, which supports disassociation.)
 */
static struct vt_dev st_dev;
static struct ibv_pd *st_pd;
static struct ibv_mr *st_mr;
static pid_t st_pids[2];
static int st_hold = -1;	/* closing it ends the vfork */
static char st_page[4 * 4096] __attribute__((aligned(4096)));

static void self_test_break(void)
{
	int hold[2], i;

	if (pipe2(hold, O_CLOEXEC))
		die("self-test: pipe: %s", strerror(errno));
	st_pids[0] = fork();
	if (!st_pids[0])
		_exit(0);
	st_pids[1] = fork();
	if (!st_pids[1]) {
		char b;

		close(hold[1]);
		/* The vfork child waits for the driver to close its end. */
		if (!vfork()) {
			if (read(hold[0], &b, 1) < 0)
				_exit(1);
			_exit(0);
		}
		_exit(0);
	}
	close(hold[0]);
	st_hold = hold[1];
	if (vt_dev_open(&st_dev, opt_dev, false))
		die("self-test: %s", st_dev.error);
	st_pd = ibv_alloc_pd(st_dev.ctx);
	st_mr = st_pd ? ibv_reg_mr(st_pd, st_page, sizeof(st_page),
				   IBV_ACCESS_LOCAL_WRITE |
				   IBV_ACCESS_ON_DEMAND) : NULL;
	if (!st_mr)
		die("self-test: PD/ODP MR on %s: %s", opt_dev,
		    strerror(errno));
	/*
	 * The zombie and the vfork must be there before the checks look
	 * (a slow kernel takes its time to fork): up to 10 s.
	 */
	for (i = 0; i < 100; i++) {
		if (task_state(st_pids[0]) == 'Z' &&
		    task_state(st_pids[1]) == 'D')
			break;
		sleep_ms(100);
	}
}

static void self_test_undo(void)
{
	ibv_dereg_mr(st_mr);
	ibv_dealloc_pd(st_pd);
	ibv_close_device(st_dev.ctx);
	close(st_hold);
	st_hold = -1;
	waitpid(st_pids[0], NULL, 0);
	waitpid(st_pids[1], NULL, 0);
}

struct child {
	pid_t pid;
	int fd;
	int status;
	bool reaped;
	int64_t t_reaped;
};

static struct child vch, sch;

static void kill_children(void)
{
	if (vch.pid > 0 && !vch.reaped)
		kill(vch.pid, SIGKILL);
	if (sch.pid > 0 && !sch.reaped)
		kill(sch.pid, SIGKILL);
}

static void spawn(struct child *ch, const char *dev, bool victim, bool req,
		  const struct cycle *c)
{
	int sv[2];

	memset(ch, 0, sizeof(*ch));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		die("socketpair: %s", strerror(errno));
	fflush(NULL);
	ch->pid = fork();
	if (ch->pid < 0)
		die("fork: %s", strerror(errno));
	if (!ch->pid) {
		close(sv[0]);
		if (kmsg_fd >= 0)
			close(kmsg_fd);
		if (victim && sch.fd > 0)
			close(sch.fd);
		child_main(sv[1], dev, victim, req, c);
	}
	close(sv[1]);
	ch->fd = sv[0];
}

/* Wait up to @ms for @ch to end; true when it did. */
static bool reap(struct child *ch, int ms)
{
	int64_t end = now_ns() + (int64_t)ms * 1000000;

	while (!ch->reaped) {
		pid_t r = waitpid(ch->pid, &ch->status, WNOHANG);

		if (r == ch->pid) {
			ch->reaped = true;
			ch->t_reaped = now_ns();
			break;
		}
		if (now_ns() > end)
			return false;
		sleep_ms(5);
	}
	return true;
}

static void describe_end(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "%s%s", sigabbrev_np(WTERMSIG(status)) ?:
			 "signal", WCOREDUMP(status) ? "+core" : "");
	else
		snprintf(buf, len, "status %#x", status);
}

/*
 * teardown: start `--teardown-script WHAT VARIANT DEV`; its pid, or -1.
 * Its output goes to ours.
 */
static pid_t teardown_start(const struct cycle *c, const char *what)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (!pid) {
		execl(opt_teardown, opt_teardown, what, td_names[c->td],
		      opt_dev, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* teardown: wait for the script; its status, or -1 (killed after 60 s). */
static int teardown_wait(pid_t pid)
{
	int64_t end = now_ns() + (int64_t)TEARDOWN_WAIT_MS * 1000000;
	int st;

	while (now_ns() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0)
			return -1;
		sleep_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* teardown: run the script to its end; false (and @c broken) if it failed. */
static bool teardown_run(struct cycle *c, const char *what, pid_t pid)
{
	int st = pid > 0 ? teardown_wait(pid) : -1;

	if (st == 0)
		return true;
	broke(c, "teardown", "%s %s %s: %s %d", opt_teardown, what,
	      td_names[c->td], st == -1 ? "did not end in 60 s, or" :
	      WIFSIGNALED(st) ? "signal" : "exit status",
	      st == -1 ? -1 : WIFSIGNALED(st) ? WTERMSIG(st) :
	      WEXITSTATUS(st));
	return false;
}

/* Does the victim's end match its scenario? */
static bool victim_end_ok(const struct cycle *c, int status)
{
	switch (c->sc) {
	case SC_EXIT0:
	case SC_MT:
		return WIFEXITED(status) && !WEXITSTATUS(status);
	case SC_ABORT:
		return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
		       WCOREDUMP(status);
	default:
		return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
	}
}

static pid_t teardown_pid;	/* teardown: the "down" script running */

/* The scenario's action on the victim. */
static void victim_action(const struct cycle *c)
{
	struct msg m = { .type = M_ACTION };
	char max[32];
	long cur;

	switch (c->sc) {
	case SC_EXIT0:
	case SC_ABORT:
	case SC_MT:
	case SC_FAULTUNMAP:
		msg_send(vch.fd, &m);
		break;
	case SC_OOM:
		/*
		 * Below what it uses: the write reclaims (swapping out
		 * buffer pages the peer is using), or has the OOM killer
		 * kill it at once; then the hog.
		 */
		cur = cg_read(opt_cgroup, "memory.current", NULL);
		snprintf(max, sizeof(max), "%ld",
			 cur - OOM_SQUEEZE > OOM_FLOOR ? cur - OOM_SQUEEZE :
			 OOM_FLOOR);
		cg_write(opt_cgroup, "memory.max", max);
		msg_send(vch.fd, &m);
		break;
	case SC_TEARDOWN:
		/* The exit and the teardown race. */
		kill(vch.pid, SIGKILL);
		teardown_pid = teardown_start(c, "down");
		break;
	default:
		kill(vch.pid, SIGKILL);
		break;
	}
}

static const char *status_name(int st)
{
	static const char *const names[] = {
		[IBV_WC_SUCCESS] = "SUCCESS",
		[IBV_WC_LOC_LEN_ERR] = "LOC_LEN_ERR",
		[IBV_WC_LOC_QP_OP_ERR] = "LOC_QP_OP_ERR",
		[IBV_WC_LOC_EEC_OP_ERR] = "LOC_EEC_OP_ERR",
		[IBV_WC_LOC_PROT_ERR] = "LOC_PROT_ERR",
		[IBV_WC_WR_FLUSH_ERR] = "WR_FLUSH_ERR",
		[IBV_WC_MW_BIND_ERR] = "MW_BIND_ERR",
		[IBV_WC_BAD_RESP_ERR] = "BAD_RESP_ERR",
		[IBV_WC_LOC_ACCESS_ERR] = "LOC_ACCESS_ERR",
		[IBV_WC_REM_INV_REQ_ERR] = "REM_INV_REQ_ERR",
		[IBV_WC_REM_ACCESS_ERR] = "REM_ACCESS_ERR",
		[IBV_WC_REM_OP_ERR] = "REM_OP_ERR",
		[IBV_WC_RETRY_EXC_ERR] = "RETRY_EXC_ERR",
		[IBV_WC_RNR_RETRY_EXC_ERR] = "RNR_RETRY_EXC_ERR",
		[IBV_WC_LOC_RDD_VIOL_ERR] = "LOC_RDD_VIOL_ERR",
		[IBV_WC_REM_INV_RD_REQ_ERR] = "REM_INV_RD_REQ_ERR",
		[IBV_WC_REM_ABORT_ERR] = "REM_ABORT_ERR",
		[IBV_WC_INV_EECN_ERR] = "INV_EECN_ERR",
		[IBV_WC_INV_EEC_STATE_ERR] = "INV_EEC_STATE_ERR",
		[IBV_WC_FATAL_ERR] = "FATAL_ERR",
		[IBV_WC_RESP_TIMEOUT_ERR] = "RESP_TIMEOUT_ERR",
		[IBV_WC_GENERAL_ERR] = "GENERAL_ERR",
	};

	if (st == -1)
		return "none";
	if (st == -2)
		return "no-report";
	if (st == -3)
		return "post-failed";
	if (st >= 0 && st < (int)(sizeof(names) / sizeof(names[0])) &&
	    names[st])
		return names[st];
	return "status?";
}

/* The retry bound after which a requester must have its error. */
static double retry_bound_ms(void)
{
	double t = 4.096e-3 * (double)(1u << opt_qp_timeout);

	return (QP_RETRY + 1) * 2 * t + opt_slack_ms;
}

/*
 * fuse: mount rodp-stallfs (next to this program) on a new folder in
 * /tmp, gate closed, and wait for its "ready".  0 or -1 (@c says why).
 */
static int fuse_start(struct cycle *c)
{
	char self[PATH_MAX], line[128];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int pfd[2];

	snprintf(fuse_mnt, sizeof(fuse_mnt), "/tmp/rodp-stress-fuse.XXXXXX");
	if (n <= 0 || !mkdtemp(fuse_mnt) || pipe2(pfd, O_CLOEXEC)) {
		broke(c, "setup", "fuse: %s", strerror(errno));
		return -1;
	}
	self[n] = 0;
	*strrchr(self, '/') = 0;
	strcat(self, "/rodp-stallfs");
	fflush(NULL);
	fuse_pid = fork();
	if (!fuse_pid) {
		dup2(pfd[1], 1);
		execl(self, self, fuse_mnt, "--size", "4", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	fuse_out = fdopen(pfd[0], "r");
	if (fuse_pid < 0 || !fuse_out || !fgets(line, sizeof(line), fuse_out) ||
	    strncmp(line, "ready", 5)) {
		broke(c, "setup", "fuse: %s did not start (/dev/fuse?)",
		      self);
		return -1;
	}
	return 0;
}

/* fuse: wait up to @ms for the gate to hold a read ("parked N"). */
static bool fuse_parked(int ms)
{
	struct pollfd p = { .fd = fileno(fuse_out), .events = POLLIN };
	char line[128];

	while (poll(&p, 1, ms) > 0) {
		if (!fgets(line, sizeof(line), fuse_out))
			return false;
		if (!strncmp(line, "parked", 6))
			return true;
	}
	return false;
}

/*
 * Each task of @pid, noted in @c's detail: its system call and its first
 * @frames kernel frames.
 */
static void tasks_note(struct cycle *c, pid_t pid, int frames)
{
	char path[80], buf[4096];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.12s/syscall",
			 pid, de->d_name);
		if (!read_text(path, buf, sizeof(buf)))
			continue;
		buf[strcspn(buf, " \n")] = 0;
		addf(c->detail, sizeof(c->detail), " [%s: syscall %s:",
		     de->d_name, buf);
		snprintf(path, sizeof(path), "/proc/%d/task/%.12s/stack", pid,
			 de->d_name);
		if (read_text(path, buf, sizeof(buf))) {
			char *l, *save = NULL;
			int n = 0;

			for (l = strtok_r(buf, "\n", &save); l && n < frames;
			     l = strtok_r(NULL, "\n", &save), n++)
				addf(c->detail, sizeof(c->detail), " %.28s",
				     strchr(l, ' ') ? strchr(l, ' ') + 1 : l);
		}
		addf(c->detail, sizeof(c->detail), "]");
	}
	if (d)
		closedir(d);
}

/*
 * fuse: the victim is still there 1 s after its SIGKILL: note it, with
 * where in the kernel each of its tasks waits (the first frames of
 * /proc/PID/task/TID/stack).
 */
static void fuse_note_stuck(struct cycle *c, pid_t pid)
{
	addf(c->detail, sizeof(c->detail), "%s",
	     "fuse: the victim waited for the gate");
	tasks_note(c, pid, 12);
}

/* fuse: open the gate, unmount, wait for rodp-stallfs, remove the folder. */
static void fuse_stop(struct cycle *c)
{
	int st;

	if (fuse_pid > 0) {
		kill(fuse_pid, SIGTERM);
		if (waitpid(fuse_pid, &st, 0) == fuse_pid &&
		    (!WIFEXITED(st) || WEXITSTATUS(st)))
			broke(c, "setup", "rodp-stallfs ended with %#x", st);
	}
	if (fuse_out)
		fclose(fuse_out);
	umount2(fuse_mnt, MNT_DETACH);
	rmdir(fuse_mnt);
	fuse_pid = 0;
	fuse_out = NULL;
}

/*
 * Whether a task of @pid is inside system call @nr with @what in its
 * kernel stack.
 */
static bool task_waits_in(pid_t pid, long nr, const char *what)
{
	char path[80], buf[4096];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && !found && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.12s/syscall",
			 pid, de->d_name);
		if (!read_text(path, buf, sizeof(buf)) || atol(buf) != nr)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.12s/stack", pid,
			 de->d_name);
		found = read_text(path, buf, sizeof(buf)) && strstr(buf, what);
	}
	if (d)
		closedir(d);
	return found;
}

/*
 * faultunmap, after M_ACTION: the victim's control thread unmaps the
 * range its fault thread is faulting in for the device, and waits for
 * the address space's lock (blocked in munmap(): /proc shows the system
 * call and __vm_munmap in its stack, whose rwsem frames are hidden)
 * behind the fault, which waits at the gate.  kill-in-fault: SIGKILL
 * then, the gate opening 1 s later (as in fuse); fault-ends: the gate
 * opens, hmm_range_fault() returns and lets go of the lock, the munmap
 * goes through (M_UNMAPPED), its invalidation coming between the fault
 * and the device's commit of the mirror (which must see it and fail or
 * retry), and then SIGKILL.
 */
static void faultunmap_act(struct cycle *c)
{
	struct msg m = { 0 };
	int i;

	for (i = 0; i < 2000 &&
		    !task_waits_in(vch.pid, SYS_munmap, "__vm_munmap"); i++)
		sleep_ms(10);
	if (i == 2000) {
		broke(c, "setup", "faultunmap: no victim task waits in "
		      "munmap() for the lock 20 s after the "
		      "action");
		tasks_note(c, vch.pid, 4);
	}
	if (!FAULT_ENDS(c->variant)) {
		kill(vch.pid, SIGKILL);
		if (!reap(&vch, 1000))
			fuse_note_stuck(c, vch.pid);
		kill(fuse_pid, SIGUSR2);
		return;
	}
	kill(fuse_pid, SIGUSR2);
	if (msg_recv(vch.fd, &m, EXIT_WAIT_MS) || m.type != M_UNMAPPED)
		broke(c, "d-state", "faultunmap: munmap() did not return %d s "
		      "after the fault's gate opened", EXIT_WAIT_MS / 1000);
	kill(vch.pid, SIGKILL);
}

/* One cycle: set up, transfer, act, check. */
/*
 * fork, import: the victim's child (the importer), an orphan the driver
 * (child subreaper) adopted, must end within FORK_LINGER_MS and a
 * margin, with status 0; reap it.
 */
static void fork_reap(struct cycle *c)
{
	int64_t end = now_ns() + (int64_t)(FORK_LINGER_MS + 3000) * 1000000;
	int st;

	for (;;) {
		pid_t r = waitpid(-1, &st, WNOHANG);

		if (r < 0)		/* ECHILD: nobody left */
			return;
		if (r > 0) {
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				broke(c, "victim-exit", "the victim's %s "
				      "ended with status %#x",
				      c->sc == SC_IMPORT ? "importer" :
				      "forked child", st);
			continue;
		}
		if (now_ns() > end)
			break;
		sleep_ms(5);
	}
	broke(c, "victim-exit", "the victim's %s is still there %d ms "
	      "after the victim", c->sc == SC_IMPORT ? "importer" :
	      "forked child", FORK_LINGER_MS + 3000);
}

/* Whether devices @a and @b have the same driver (by sysfs). */
static bool same_driver(const char *a, const char *b)
{
	char pa[PATH_MAX], pb[PATH_MAX], la[PATH_MAX], lb[PATH_MAX];
	ssize_t na, nb;

	snprintf(pa, sizeof(pa), "/sys/class/infiniband/%s/device/driver", a);
	snprintf(pb, sizeof(pb), "/sys/class/infiniband/%s/device/driver", b);
	na = readlink(pa, la, sizeof(la) - 1);
	nb = readlink(pb, lb, sizeof(lb) - 1);
	if (na > 0 && nb > 0) {
		la[na] = lb[nb] = 0;
		return !strcmp(la, lb);
	}
	/* Software devices have no parent device: by name. */
	na = strspn(a, "abcdefghijklmnopqrstuvwxyz_");
	return na && !strncmp(a, b, na) &&
	       strspn(b, "abcdefghijklmnopqrstuvwxyz_") == (size_t)na;
}

static void run_cycle(struct cycle *c)
{
	const char *vdev = opt_dev, *sdev = opt_peer;
	int64_t t0 = now_ns(), t_act = 0;
	struct msg mv = { 0 }, ms = { 0 }, rep = { 0 };
	bool surv_req = !c->victim_req, flowing = false, got_report = false;
	long oom_kills = 0;
	bool peer_gone = false;	/* teardown took the survivor's device */

	c->surv_status = -2;
	c->lat_ms = c->after_exit_ms = NAN;
	strcpy(c->victim_end, "-");
	vch.fd = sch.fd = -1;
	vch.pid = sch.pid = 0;
	vch.reaped = sch.reaped = true;
	if ((c->sc == SC_FUSE || c->sc == SC_FAULTUNMAP) && fuse_start(c))
		goto out;
	if (c->sc == SC_OOM && oom_setup_err[0]) {
		broke(c, "setup", "oom: %s", oom_setup_err);
		goto out;
	}
	if (c->sc == SC_OOM)
		cg_write(opt_cgroup, "memory.max", "max");
	if (c->sc == SC_TEARDOWN && !opt_teardown) {
		broke(c, "setup", "teardown: no --teardown-script");
		goto out;
	}
	teardown_pid = 0;
	if (c->sc == SC_TEARDOWN)
		addf(c->detail, sizeof(c->detail), "teardown %s",
		     td_names[c->td]);
	spawn(&sch, sdev, false, surv_req, c);
	spawn(&vch, vdev, true, c->victim_req, c);

	/* Endpoints: each to the other, then READY from both, then GO. */
	if (msg_recv(vch.fd, &mv, 30000) || msg_recv(sch.fd, &ms, 30000)) {
		broke(c, "setup", "no endpoint from a child");
		goto out_kill;
	}
	if (mv.type == M_ERROR || ms.type == M_ERROR) {
		broke(c, "setup", "%s", mv.type == M_ERROR ? mv.text :
		      ms.text);
		goto out_kill;
	}
	if (msg_send(vch.fd, &ms) || msg_send(sch.fd, &mv) ||
	    msg_recv(vch.fd, &mv, 30000) || msg_recv(sch.fd, &ms, 30000) ||
	    mv.type != M_READY || ms.type != M_READY) {
		broke(c, "setup", "connect: %s",
		      mv.type == M_ERROR ? mv.text :
		      ms.type == M_ERROR ? ms.text : "a child went away");
		goto out_kill;
	}
	mv.type = M_GO;
	msg_send(vch.fd, &mv);
	msg_send(sch.fd, &mv);

	/*
	 * Completions flow at the requester; in fuse nothing can flow: the
	 * device's first fault on the victim's file waits at the gate.
	 */
	if (c->sc == SC_FUSE)
		flowing = fuse_parked(20000);
	else if (!msg_recv(c->victim_req ? vch.fd : sch.fd, &mv, 20000) &&
		 mv.type == M_FLOWING)
		flowing = true;
	if (!flowing && c->sc == SC_FUSE) {
		broke(c, "setup", "no device fault waits at the gate in 20 s");
		goto out_kill;
	}
	if (flowing && c->sc == SC_FAULTUNMAP && !fuse_parked(20000)) {
		broke(c, "setup", "faultunmap: the victim's fault thread does "
		      "not wait at the gate in 20 s");
		goto out_kill;
	}
	if (!flowing) {
		broke(c, "setup", "no completions at the requester in 20 s%s%s",
		      mv.type == M_REPORT ? " (the survivor got an error: " :
		      "", mv.type == M_REPORT ? status_name(mv.status) : "");
		if (mv.type == M_REPORT)
			addf(c->detail, sizeof(c->detail), ")");
		goto out_kill;
	}
	sleep_ms(c->delay_ms);

	/*
	 * An error at the survivor before the action is a failure too;
	 * except in fuse, where the victim cannot answer: its requester
	 * survivor may run out of retries before the kill.
	 */
	if (!msg_recv(sch.fd, &rep, 0) && rep.type == M_REPORT) {
		if (c->sc != SC_FUSE) {
			broke(c, "survivor", "%s before the action",
			      status_name(rep.status));
			goto out_kill;
		}
		got_report = true;
	}
	if (c->sc == SC_OOM)
		oom_kills = cg_read(opt_cgroup, "memory.events", "oom_kill");
	t_act = now_ns();
	victim_action(c);
	if (c->sc == SC_FUSE) {
		/*
		 * The victim's exit waits for its QP, whose fault waits for
		 * the gate: note whether it got out on its own within 1 s,
		 * then open the gate.
		 */
		if (!reap(&vch, 1000))
			fuse_note_stuck(c, vch.pid);
		kill(fuse_pid, SIGUSR2);
	}
	if (c->sc == SC_FAULTUNMAP)
		faultunmap_act(c);
	if (!reap(&vch, EXIT_WAIT_MS)) {
		broke(c, "victim-exit", "still there %d s after the action",
		      EXIT_WAIT_MS / 1000);
		kill(vch.pid, SIGKILL);
		reap(&vch, EXIT_WAIT_MS);
	}
	describe_end(vch.status, c->victim_end, sizeof(c->victim_end));
	if (vch.reaped && !victim_end_ok(c, vch.status))
		broke(c, "victim-exit", "%s", c->victim_end);
	if (c->sc == SC_OOM && vch.reaped &&
	    cg_read(opt_cgroup, "memory.events", "oom_kill") <= oom_kills)
		broke(c, "victim-exit", "not the OOM killer's: the cgroup's "
		      "oom_kill count did not move");

	/* The teardown itself must work. */
	if (c->sc == SC_TEARDOWN && teardown_pid > 0) {
		teardown_run(c, "down", teardown_pid);
		teardown_pid = 0;
	}
	/*
	 * The survivor: a requester's error within the bound, or STOP; an
	 * rmmod that took the survivor's device too leaves it nothing to
	 * get an error from (its rings are gone with the device).
	 */
	peer_gone = c->sc == SC_TEARDOWN && c->td == TD_RMMOD &&
		    same_driver(opt_dev, opt_peer);
	if (surv_req && !peer_gone && !got_report) {
		int64_t deadline = (vch.reaped ? vch.t_reaped : now_ns()) +
				   (int64_t)(retry_bound_ms() * 1e6);
		int left = (int)((deadline - now_ns()) / 1000000);

		got_report = !msg_recv(sch.fd, &rep, left > 0 ? left : 0) &&
			     rep.type == M_REPORT;
		if (!got_report)
			broke(c, "survivor", "no error completion %.0f ms"
			      " after the victim ended", retry_bound_ms());
	}
	mv.type = M_STOP;
	msg_send(sch.fd, &mv);
	if (!got_report) {
		got_report = !msg_recv(sch.fd, &rep, EXIT_WAIT_MS) &&
			     rep.type == M_REPORT;
		if (!got_report && !strstr(c->broken, "survivor"))
			broke(c, "survivor", "no report after STOP");
	}
	if (got_report) {
		c->surv_status = rep.status;
		if ((rep.status >= 0 || rep.status == -3) &&
		    rep.t_err_ns >= t_act) {
			c->lat_ms = (double)(rep.t_err_ns - t_act) / 1e6;
			if (vch.reaped)
				c->after_exit_ms =
					(double)(rep.t_err_ns -
						 vch.t_reaped) / 1e6;
		}
		if (!surv_req && !peer_gone && rep.status == -3)
			broke(c, "survivor", "post failed");
	}
	if (!reap(&sch, EXIT_WAIT_MS))
		broke(c, "survivor", "still there %d s after STOP",
		      EXIT_WAIT_MS / 1000);
	else if (!WIFEXITED(sch.status) || WEXITSTATUS(sch.status))
		broke(c, "survivor", "ended with status %#x", sch.status);
	goto out;

out_kill:
	kill_children();
	reap(&vch, EXIT_WAIT_MS);
	reap(&sch, EXIT_WAIT_MS);
	if (vch.reaped)
		describe_end(vch.status, c->victim_end,
			     sizeof(c->victim_end));
out:
	if (vch.fd >= 0)
		close(vch.fd);
	if (sch.fd >= 0)
		close(sch.fd);
	if (!vch.reaped || !sch.reaped) {
		kill_children();
		reap(&vch, EXIT_WAIT_MS);
		reap(&sch, EXIT_WAIT_MS);
		if (!vch.reaped || !sch.reaped)
			broke(c, "d-state", "a child survives SIGKILL");
	}
	if (c->sc == SC_FORK || c->sc == SC_IMPORT)
		fork_reap(c);
	if (opt_self_test)
		self_test_break();
	if (c->sc == SC_FUSE || c->sc == SC_FAULTUNMAP)
		fuse_stop(c);
	if (c->sc == SC_OOM)
		cg_write(opt_cgroup, "memory.max", "max");
	if (c->sc == SC_TEARDOWN && opt_teardown) {
		/* Started, but the cycle broke off before its wait. */
		if (teardown_pid > 0)
			teardown_run(c, "down", teardown_pid);
		teardown_pid = 0;
		teardown_run(c, "up", teardown_start(c, "up"));
	}
	check_state(c);
	check_kmsg(c);
	if (opt_self_test)
		self_test_undo();
	c->cycle_ms = (double)(now_ns() - t0) / 1e6;
}

/* ---------------------------------------------------------------------- */
/* Results                                                                 */
/* ---------------------------------------------------------------------- */

static const char tsv_head[] =
	"cycle\tseed\tdev\tpeer\tscenario\tmem\top\tvictim\tdelay_ms\t"
	"victim_end\tsurvivor_status\tlatency_ms\tafter_exit_ms\t"
	"cycle_ms\tresult\tbroken\tdetail\tvariant\n";

static void tsv_row(FILE *f, const struct cycle *c)
{
	fprintf(f, "%lu\t%" PRIu64 "\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t"
		"%.1f\t%.1f\t%.0f\t%s\t%s\t%s\t%s\n", c->n, opt_seed, opt_dev,
		opt_peer, sc_names[c->sc], mem_names[c->mem],
		op_names[c->op], c->victim_req ? "requester" : "responder",
		c->delay_ms, c->victim_end, status_name(c->surv_status),
		c->lat_ms, c->after_exit_ms, c->cycle_ms,
		c->broken[0] ? "FAIL" : "PASS", c->broken[0] ? c->broken : "-",
		c->detail[0] ? c->detail : "-",
		variant_name(c->sc, c->variant));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double p)
{
	int i;

	if (!n)
		return NAN;
	i = (int)ceil(p * n) - 1;
	return v[i < 0 ? 0 : i];
}

/**
 * struct row - one scenario's line of the table
 */
struct row {
	unsigned long cycles, fails;
	double *lat;
	int nlat;
	char statuses[8][32];
	unsigned long scount[8];
	int nst;
};

/* The table over every cycle in cycles.tsv: summary.tsv and .txt. */
static void summarize(void)
{
	char path[PATH_MAX], line[2048], cmd[PATH_MAX * 3];
	struct row rows[SC_NUM] = { 0 };
	FILE *f, *t, *x;
	int s, i;

	snprintf(path, sizeof(path), "%s/cycles.tsv", opt_out);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *col[17], *save = NULL, *p = line;
		int n = 0;

		if (!isdigit((unsigned char)line[0]))
			continue;
		for (n = 0; n < 17; n++) {
			col[n] = strtok_r(p, "\t\n", &save);
			p = NULL;
			if (!col[n])
				break;
		}
		if (n < 15)
			continue;
		for (s = 0; s < SC_NUM; s++)
			if (!strcmp(col[4], sc_names[s]))
				break;
		if (s == SC_NUM)
			continue;
		rows[s].cycles++;
		if (strcmp(col[14], "PASS"))
			rows[s].fails++;
		if (strcmp(col[11], "nan") && strcmp(col[11], "-nan")) {
			rows[s].lat = realloc(rows[s].lat, sizeof(double) *
					      (rows[s].nlat + 1));
			rows[s].lat[rows[s].nlat++] = atof(col[11]);
		}
		for (i = 0; i < rows[s].nst; i++)
			if (!strcmp(rows[s].statuses[i], col[10]))
				break;
		if (i == rows[s].nst && i < 8)
			snprintf(rows[s].statuses[rows[s].nst++], 32, "%s",
				 col[10]);
		if (i < 8)
			rows[s].scount[i]++;
	}
	fclose(f);

	snprintf(path, sizeof(path), "%s/summary.tsv", opt_out);
	t = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/summary.txt", opt_out);
	x = fopen(path, "w");
	if (!t || !x)
		die("%s: %s", path, strerror(errno));
	fprintf(t, "scenario\tcycles\tfailures\tsurvivor_first_error\t"
		"p50_ms\tp99_ms\tmax_ms\n");
	fprintf(x, "%s <-> %s, seed %" PRIu64 "\n"
		"%-9s %6s %5s %8s %8s %8s  %s\n", opt_dev, opt_peer, opt_seed,
		"scenario", "cycles", "fail", "p50_ms", "p99_ms", "max_ms",
		"survivor's first error (cycles)");
	for (s = 0; s < SC_NUM; s++) {
		struct row *r = &rows[s];
		char st[300] = "";
		double p50, p99, mx;

		if (!r->cycles)
			continue;
		qsort(r->lat, r->nlat, sizeof(double), cmp_double);
		p50 = pct(r->lat, r->nlat, 0.5);
		p99 = pct(r->lat, r->nlat, 0.99);
		mx = r->nlat ? r->lat[r->nlat - 1] : NAN;
		for (i = 0; i < r->nst; i++)
			addf(st, sizeof(st), "%s%s:%lu", i ? "," : "",
			     r->statuses[i], r->scount[i]);
		fprintf(t, "%s\t%lu\t%lu\t%s\t%.1f\t%.1f\t%.1f\n",
			sc_names[s], r->cycles, r->fails, st, p50, p99, mx);
		fprintf(x, "%-9s %6lu %5lu %8.1f %8.1f %8.1f  %s\n",
			sc_names[s], r->cycles, r->fails, p50, p99, mx, st);
		free(r->lat);
	}
	fclose(t);
	fclose(x);
	snprintf(path, sizeof(path), "%s/summary.txt", opt_out);
	snprintf(cmd, sizeof(cmd), "cat '%s'", path);
	if (system(cmd))
		return;
	if (opt_plot && !system("command -v gnuplot >/dev/null 2>&1")) {
		snprintf(cmd, sizeof(cmd), "gnuplot -c '%s' '%s/summary.tsv' "
			 "'%s/latency.png' '%s <-> %s' >/dev/null 2>&1",
			 opt_plot, opt_out, opt_out, opt_dev, opt_peer);
		if (!system(cmd))
			printf("plot: %s/latency.png\n", opt_out);
	}
}

/* ---------------------------------------------------------------------- */
/* Main                                                                    */
/* ---------------------------------------------------------------------- */

static void usage(int rc)
{
	FILE *f = rc ? stderr : stdout;
	int s;

	fprintf(f, "usage: rodp-exit-stress --dev DEV --peer-dev PEER "
		"[--cycles N] [--until N]\n"
		"         [--scenario NAME]... [--seed S] [--out DIR] "
		"[--logcheck PATH]\n"
		"         [--plot-script PATH] [--slack-ms MS] "
		"[--max-delay-ms MS]\n"
		"         [--core-helper PATH] [--cgroup DIR] "
		"[--teardown-script PATH]\n         [--qp-timeout T] [--self-test]\n"
		"  --qp-timeout T  both QPs' ACK timeout, 4.096 us << T (default 14)\n"
		"  --cycles N   cycles in this run (default 24)\n"
		"  --until N    stop when --out holds N cycles in all (with\n"
		"               --cycles: at most that many in this run)\n"
		"  scenarios:");
	for (s = 0; s < SC_NUM; s++)
		fprintf(f, " %s", sc_names[s]);
	fprintf(f, " (default: all)\n"

		"see the comment at the top of perftest/rodp-exit-stress.c\n");
	exit(rc);
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static const char *find_file(const char *rel)
{
	static char buf[2][PATH_MAX];
	static int k;
	char *b = buf[k++ & 1];
	const char *repo = getenv("RODP_REPO");

	if (repo) {
		snprintf(b, PATH_MAX, "%s/%s", repo, rel);
		if (!access(b, R_OK))
			return b;
	}
	snprintf(b, PATH_MAX, "%s/%s", RODP_SOURCE_DIR, rel);
	return access(b, R_OK) ? NULL : b;
}

/* Cycles already in cycles.tsv (the next number) and their seed. */
static unsigned long resume(FILE *f, uint64_t *seed, bool *have)
{
	char line[2048];
	unsigned long last = 0, n;
	uint64_t s;

	*have = false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lu\t%" SCNu64, &n, &s) == 2) {
			last = n;
			*seed = s;
			*have = true;
		}
	return last;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "peer-dev", required_argument, NULL, 'p' },
		{ "cycles", required_argument, NULL, 'c' },
		{ "until", required_argument, NULL, 'u' },
		{ "scenario", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "out", required_argument, NULL, 'o' },
		{ "logcheck", required_argument, NULL, 'l' },
		{ "plot-script", required_argument, NULL, 'P' },
		{ "slack-ms", required_argument, NULL, 'k' },
		{ "core-helper", required_argument, NULL, 'C' },
		{ "self-test", no_argument, NULL, 'T' },
		{ "max-delay-ms", required_argument, NULL, 'm' },
		{ "cgroup", required_argument, NULL, 'G' },
		{ "teardown-script", required_argument, NULL, 'D' },
		{ "qp-timeout", required_argument, NULL, 'Q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned long last, done = 0, fails = 0, i;
	char path[PATH_MAX];
	uint64_t fseed = 0;
	bool fhave;
	FILE *tsv;
	int o, s;

	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (o) {
		case 'd': opt_dev = optarg; break;
		case 'p': opt_peer = optarg; break;
		case 'c':
			opt_cycles = strtoul(optarg, NULL, 0);
			opt_cycles_given = true;
			break;
		case 'u': opt_until = strtoul(optarg, NULL, 0); break;
		case 'S':
			opt_seed = strtoull(optarg, NULL, 0);
			opt_have_seed = true;
			break;
		case 'o': opt_out = optarg; break;
		case 'l': opt_logcheck = optarg; break;
		case 'P': opt_plot = optarg; break;
		case 'k': opt_slack_ms = atoi(optarg); break;
		case 'C': opt_core_helper = optarg; break;
		case 'T': opt_self_test = true; break;
		case 'm': opt_max_delay_ms = atoi(optarg); break;
		case 'G': opt_cgroup = optarg; break;
		case 'D': opt_teardown = optarg; break;
		case 'Q':
			opt_qp_timeout = atoi(optarg);
			if (opt_qp_timeout < 1 || opt_qp_timeout > 20)
				usage(2);
			break;
		case 's':
			for (s = 0; s < SC_NUM; s++)
				if (!strcmp(optarg, sc_names[s]))
					break;
			if (s == SC_NUM) {
				fprintf(stderr, "rodp-exit-stress: no scenario"
					" '%s'\n", optarg);
				usage(2);
			}
			sc_chosen[s] = true;
			break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (!opt_dev || !opt_peer || optind != argc || opt_max_delay_ms < 0)
		usage(2);
	for (s = 0; s < SC_NUM; s++)
		if (sc_chosen[s])
			chosen[nchosen++] = s;
	/*
	 * Every scenario by default; teardown only with a script that can
	 * take the device down and bring it back.
	 */
	if (!nchosen)
		for (s = 0; s < SC_NUM; s++)
			if (s != SC_TEARDOWN || opt_teardown)
				chosen[nchosen++] = s;
	if (geteuid())
		die("needs root (kernel log, core_pattern, debugfs)");
	if (!opt_logcheck)
		opt_logcheck = find_file("tests/vm/logcheck/logcheck.py");
	if (!opt_plot)
		opt_plot = find_file("perftest/stress-plot.gp");

	snprintf(path, sizeof(path), "%s", opt_out);
	for (char *sl = path + 1; *sl; sl++)
		if (*sl == '/') {
			*sl = 0;
			mkdir(path, 0755);
			*sl = '/';
		}
	if (mkdir(opt_out, 0755) && errno != EEXIST)
		die("%s: %s", opt_out, strerror(errno));
	snprintf(path, sizeof(path), "%s/cycles.tsv", opt_out);
	tsv = fopen(path, "a+");
	if (!tsv)
		die("%s: %s", path, strerror(errno));
	rewind(tsv);
	last = resume(tsv, &fseed, &fhave);
	if (fhave && opt_have_seed && fseed != opt_seed)
		die("%s holds cycles of seed %" PRIu64 ", not %" PRIu64,
		    path, fseed, opt_seed);
	if (fhave)
		opt_seed = fseed;
	else if (!opt_have_seed)
		opt_seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	if (!last) {
		fseek(tsv, 0, SEEK_END);
		if (!ftell(tsv))
			fputs(tsv_head, tsv);
	}
	fseek(tsv, 0, SEEK_END);
	/* --until: what is left of it; with --cycles, at most that. */
	if (opt_until) {
		unsigned long left = opt_until > last ? opt_until - last : 0;

		if (!opt_cycles_given || left < opt_cycles)
			opt_cycles = left;
	}

	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd < 0)
		die("/dev/kmsg: %s", strerror(errno));
	lseek(kmsg_fd, 0, SEEK_END);
	snprintf(path, sizeof(path), "%s/kmsg.txt", opt_out);
	kmsg_all = fopen(path, "a");

	/* fork: the victim's orphaned child comes to us to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	for (s = 0; s < nchosen; s++) {
		if (chosen[s] == SC_ABORT)
			set_core_pattern();
		if (chosen[s] == SC_OOM)
			oom_setup();
	}
	state_read(&base);
	base.nzombies = tasks_in('Z', base.zombies, 64, false);
	if (!base.res[0][0] || !base.res[1][0])
		die("`rdma resource show` shows no %s", base.res[0][0] ?
		    opt_peer : opt_dev);
	printf("rodp-exit-stress: %s (victim) <-> %s, seed %" PRIu64
	       ", cycles %lu..%lu in %s\n  kernel log: %s\n"
	       "  baseline: %s: %s | %s: %s | mm_refs: %s\n",
	       opt_dev, opt_peer, opt_seed, last + 1, last + opt_cycles,
	       opt_out, opt_logcheck ? opt_logcheck : "built-in patterns",
	       opt_dev, base.res[0], opt_peer, base.res[1],
	       base.mm[0] ? base.mm : "(no rodp debugfs)");
	fflush(stdout);

	for (i = 0; i < opt_cycles && !interrupted; i++) {
		struct cycle c = { .n = last + 1 + i };
		uint64_t k = c.n - 1, j, r;
		int combo;

		c.sc = chosen[k % nchosen];
		j = k / nchosen;
		/*
		 * 7 is prime to 24: j = 0..23 is every entry once; scenarios
		 * start at different entries, so short runs vary too.
		 */
		combo = (int)((j * 7 + opt_seed + (uint64_t)c.sc * 5) %
			      (MEM_NUM * OP_NUM * 2));
		c.victim_req = combo % 2;	/* 7 is odd: it alternates */
		c.op = (combo / 2) % OP_NUM;
		c.mem = combo / (OP_NUM * 2);
		/* A pinned MR of the stalled file would wait in ibv_reg_mr. */
		if (c.sc == SC_FUSE && c.mem == MEM_PINNED)
			c.mem = MEM_ODP;
		r = mix(opt_seed ^ mix(c.n));
		c.delay_ms = opt_max_delay_ms ?
			     (int)(r % (uint64_t)(opt_max_delay_ms + 1)) : 0;
		/*
		 * Variants by turns, each for two cycles in a row (the two
		 * roles: combo alternates), one step further on each pass
		 * over the matrix (j = 24p + q: 13p + q/2, and 13 is prime
		 * to 2, 3 and 4): every entry meets every variant in 24 x V
		 * cycles, and each variant both roles within 2 x V.
		 */
		c.variant = (int)((j / 2 + j / (MEM_NUM * OP_NUM * 2) +
				   opt_seed) % (uint64_t)sc_nvariants(c.sc));
		c.td = c.sc == SC_TEARDOWN ? (enum td)c.variant : TD_LINKDEL;
		run_cycle(&c);
		tsv_row(tsv, &c);
		fflush(tsv);
		done++;
		if (c.broken[0])
			fails++;
		printf("[%lu/%lu] cycle %lu %s%s%s %s %s victim=%s "
		       "delay=%dms: %s victim %s, survivor %s", i + 1,
		       opt_cycles, c.n, sc_names[c.sc],
		       sc_variants[c.sc][0] ? "/" : "",
		       sc_variants[c.sc][0] ? variant_name(c.sc, c.variant) :
		       "", mem_names[c.mem], op_names[c.op],
		       c.victim_req ? "requester" : "responder", c.delay_ms,
		       c.broken[0] ? "FAIL" : "PASS", c.victim_end,
		       status_name(c.surv_status));
		if (!isnan(c.lat_ms))
			printf(" after %.0f ms", c.lat_ms);
		printf(" (%.1f s; %lu failed)\n", c.cycle_ms / 1000, fails);
		if (c.broken[0])
			printf("  broken: %s: %s\n", c.broken, c.detail);
		fflush(stdout);
	}
	restore_core_pattern();
	if (!oom_setup_err[0])
		rmdir(opt_cgroup);	/* empty unless a victim is stuck */
	fclose(tsv);
	if (kmsg_all)
		fclose(kmsg_all);
	printf("this run: %lu cycles, %lu failed%s\n", done, fails,
	       interrupted ? " (interrupted)" : "");
	summarize();
	return fails ? 1 : 0;
}
