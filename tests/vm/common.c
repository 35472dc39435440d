// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * common.c: what the guest-side test programs share (see common.h).
 */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"

/* ---------------------------------------------------------------------- */
/* Diagnostics and checks                                                  */
/* ---------------------------------------------------------------------- */

static void (*fail_hook)(const char *file, int line);

/**
 * vt_vdiag - vt_diag() with a va_list
 * @fmt: printf format of the line, without the "# " and the newline
 * @ap: its arguments
 */
void vt_vdiag(const char *fmt, va_list ap)
{
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/**
 * vt_diag - a "# ..." TAP diagnostic line on stdout
 * @fmt: printf format of the line, without the "# " and the newline
 */
void vt_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vt_vdiag(fmt, ap);
	va_end(ap);
}

/*
 * TAP cases for the programs that print their own plan (no cmocka): a
 * case begins, any number of vt_bad() fail it, vt_case_end() prints it.
 */
unsigned int vt_tap_failed;
static unsigned int tap_n;
static bool case_ok = true;

/**
 * vt_case_begin - a new TAP case starts, passing so far
 */
void vt_case_begin(void)
{
	case_ok = true;
}

/**
 * vt_bad - a failed expectation of the current case: a diagnostic, and
 *	the case fails
 * @fmt: printf format of the diagnostic
 */
void vt_bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vt_vdiag(fmt, ap);
	va_end(ap);
	case_ok = false;
}

/**
 * vt_case_end - print the current case's "ok N - NAME" or "not ok ..."
 * @name: what the case checked
 */
void vt_case_end(const char *name)
{
	tap_n++;
	printf("%s %u - %s\n", case_ok ? "ok" : "not ok", tap_n, name);
	if (!case_ok)
		vt_tap_failed++;
	fflush(stdout);
	case_ok = true;
}

/**
 * vt_case_skip - print the next case as "ok N - NAME # SKIP REASON": it
 *	was not run, and counts neither as passed nor as failed
 * @name: the case
 * @reason: why it was not run
 */
void vt_case_skip(const char *name, const char *reason)
{
	tap_n++;
	printf("ok %u - %s # SKIP %s\n", tap_n, name, reason);
	fflush(stdout);
	case_ok = true;
}

/**
 * vt_die - the test bed cannot go on: a diagnostic, exit status 1 (the
 *	cases not reported count as failed)
 * @fmt: printf format of the diagnostic
 */
void vt_die(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vt_diag("fatal: %s", msg);
	exit(1);
}

/**
 * vt_set_fail_hook - what a failed check does after its diagnostic
 * @hook: called with the check's file and line; cmocka programs pass
 *	cmocka's _fail (it ends the test).  Without a hook a failed check
 *	ends the program with status 1.
 */
void vt_set_fail_hook(void (*hook)(const char *file, int line))
{
	fail_hook = hook;
}

/**
 * vt_fail - a check failed: a diagnostic, then the fail hook
 * @file: source file of the check
 * @line: its line
 * @fmt: printf format of the diagnostic
 *
 * Returns only when the hook does.
 */
void vt_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vt_vdiag(fmt, ap);
	va_end(ap);
	if (!fail_hook) {
		printf("# fatal: failed check at %s:%d\n", file, line);
		exit(1);
	}
	fail_hook(file, line);
}

/**
 * vt_diag_cmd - run a shell command, its output as diagnostics
 * @cmd: the command line ("$ @cmd" comes first)
 */
void vt_diag_cmd(const char *cmd)
{
	char line[1024];
	FILE *f;

	fflush(stdout);
	f = popen(cmd, "r");
	if (!f)
		return;
	vt_diag("$ %s", cmd);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		vt_diag("  %s", line);
	}
	pclose(f);
}

/**
 * vt_selected - does a test name match a --only list
 * @globs: comma-separated fnmatch(3) patterns, NULL: everything matches
 * @name: the test's name
 *
 * Return: true when @name matches one of @globs.
 */
bool vt_selected(const char *globs, const char *name)
{
	char *list, *pat, *save = NULL;
	bool hit = false;

	if (!globs)
		return true;
	list = strdup(globs);
	if (!list)
		return true;
	for (pat = strtok_r(list, ",", &save); pat && !hit;
	     pat = strtok_r(NULL, ",", &save))
		hit = !fnmatch(pat, name, 0);
	free(list);
	return hit;
}

/**
 * vt_fill - fill memory with a pseudo-random byte stream
 * @dst: where
 * @len: how many bytes
 * @seed: the stream (the same seed gives the same bytes)
 */
void vt_fill(void *dst, size_t len, uint32_t seed)
{
	uint64_t x = (uint64_t)seed * 0x9e3779b97f4a7c15ull + 0x2545f491;
	uint8_t *p = dst;

	while (len >= 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p, &x, 8);
		p += 8;
		len -= 8;
	}
	while (len--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*p++ = (uint8_t)(x >> 29);
	}
}

/**
 * vt_get_u64 - the 8 bytes at @p, unaligned, host order
 * @p: where
 *
 * Return: their value.
 */
uint64_t vt_get_u64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/**
 * vt_put_u64 - store 8 bytes at @p, unaligned, host order
 * @p: where
 * @v: the value
 */
void vt_put_u64(void *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* ---------------------------------------------------------------------- */
/* A cmocka test list                                                      */
/* ---------------------------------------------------------------------- */

static int64_t tc_start;

/**
 * vt_tests_alloc - room for @cap tests
 * @t: the list (@prog, @only and @teardown set)
 * @cap: how many tests at most
 * @case_size: the size of the program's test state (a struct vt_case
 *	first)
 *
 * Ends the program (status 2) when out of memory.
 */
void vt_tests_alloc(struct vt_tests *t, unsigned int cap, size_t case_size)
{
	t->cases = calloc(cap, case_size);
	t->tests = calloc(cap, sizeof(*t->tests));
	if (!t->cases || !t->tests) {
		fprintf(stderr, "%s: out of memory\n", t->prog);
		exit(2);
	}
	t->case_size = case_size;
	t->cap = cap;
	t->n = 0;
}

/**
 * vt_add_test - one more test, unless --only leaves it out
 * @t: the list
 * @fn: the test function
 * @fmt: printf format of its name
 *
 * Ends the program (status 2) when the list is full.
 *
 * Return: the test's case, its name filled in; a left-out test's case
 * (@fn NULL) is the next test's too.
 */
void *vt_add_test(struct vt_tests *t, void (*fn)(void **state),
		  const char *fmt, ...)
{
	struct vt_case *tc;
	va_list ap;

	if (t->n == t->cap) {
		fprintf(stderr, "%s: too many tests\n", t->prog);
		exit(2);
	}
	tc = (struct vt_case *)((char *)t->cases + t->n * t->case_size);
	va_start(ap, fmt);
	vsnprintf(tc->name, sizeof(tc->name), fmt, ap);
	va_end(ap);
	if (!vt_selected(t->only, tc->name))
		return tc;	/* filled, never run */
	tc->fn = fn;
	t->tests[t->n] = (struct CMUnitTest){
		.name = tc->name, .test_func = fn, .setup_func = vt_tc_setup,
		.teardown_func = t->teardown, .initial_state = tc,
	};
	t->n++;
	return tc;
}

/**
 * vt_tc_setup - cmocka setup of every test: notes when it started
 * @state: unused
 *
 * Return: 0.
 */
int vt_tc_setup(void **state)
{
	(void)state;
	tc_start = vt_now_ms();
	return 0;
}

/**
 * vt_tc_alloc - zeroed memory for the current test, freed after it
 * @tc: the test's case
 * @len: how many bytes
 *
 * Return: the memory (a failed check when there is none).
 */
void *vt_tc_alloc(struct vt_case *tc, size_t len)
{
	void *p;

	CHECK(tc->nmem < VT_CASE_MEM, "%s: more than %d allocations",
	      tc->name, VT_CASE_MEM);
	p = calloc(1, len);
	CHECK(p, "out of memory (%zu bytes)", len);
	tc->mem[tc->nmem++] = p;
	return p;
}

/**
 * vt_tc_free - free what vt_tc_alloc() gave a test
 * @tc: the test's case
 */
void vt_tc_free(struct vt_case *tc)
{
	unsigned int i;

	for (i = 0; i < tc->nmem; i++)
		free(tc->mem[i]);
	tc->nmem = 0;
}

/**
 * vt_tc_ms - how long the current test has run
 *
 * Return: milliseconds since its vt_tc_setup().
 */
int64_t vt_tc_ms(void)
{
	return vt_now_ms() - tc_start;
}

/* ---------------------------------------------------------------------- */
/* Devices                                                                 */
/* ---------------------------------------------------------------------- */

/**
 * vt_dev_ready - check that a device is open with a usable GID
 * @d: the device; when it is not, @d->error is the diagnostic
 */
void vt_dev_ready(const struct vt_dev *d)
{
	CHECK(vt_dev_ok(d), "%s", d->error);
}

/* ---------------------------------------------------------------------- */
/* Posting and completions                                                 */
/* ---------------------------------------------------------------------- */

/**
 * vt_wc_ms - time allowed for an operation on @len bytes
 * @len: its length
 *
 * Return: 10 s plus 1 ms per kB (at least 1 MB/s), times RODP_TIME_SCALE
 * when the harness sets it (the debug kernel: KASAN and lockdep under TCG
 * move a 256 MiB WRITE at less than 1 MB/s).
 */
int vt_wc_ms(size_t len)
{
	const char *s = getenv("RODP_TIME_SCALE");
	long scale = s ? strtol(s, NULL, 10) : 1;

	if (scale < 1 || scale > 100)
		scale = 1;
	return (int)((10000 + (long)(len / 1000)) * scale);
}

/**
 * vt_get_wc - vt_poll_wc(), and a failed check when ibv_poll_cq fails
 * @cq: the CQ
 * @wc: the completion
 * @ms: how long to wait
 *
 * Return: true when a completion came within @ms.
 */
bool vt_get_wc(struct ibv_cq *cq, struct ibv_wc *wc, int ms)
{
	int n = vt_poll_wc(cq, wc, ms);

	CHECK(n >= 0, "%s", vt_errmsg());
	return n == 1;
}

/**
 * vt_check_wc - check a completion's wr_id, status and opcode
 * @wc: the completion
 * @what: what it completes, for the diagnostics
 * @wr_id: the wr_id it must have
 * @status: the status it must have
 * @opcode: the opcode it must have when @status is success (-1: any)
 */
void vt_check_wc(const struct ibv_wc *wc, const char *what, uint64_t wr_id,
		 enum ibv_wc_status status, int opcode)
{
	CHECK(wc->wr_id == wr_id && wc->status == status,
	      "%s: got completion wr_id %" PRIu64 " status %s (%d), want wr_id %" PRIu64 " status %s (%d)",
	      what, (uint64_t)wc->wr_id, ibv_wc_status_str(wc->status),
	      wc->status, wr_id, ibv_wc_status_str(status), status);
	if (status == IBV_WC_SUCCESS && opcode >= 0)
		CHECK((int)wc->opcode == opcode,
		      "%s: completion opcode %s (%d), want %s (%d)", what,
		      vt_wc_opcode_str(wc->opcode), wc->opcode,
		      vt_wc_opcode_str(opcode), opcode);
}

/**
 * vt_expect_no_wc - check that no completion comes
 * @cq: the CQ
 * @what: for the diagnostic
 * @ms: how long to watch
 */
void vt_expect_no_wc(struct ibv_cq *cq, const char *what, int ms)
{
	struct ibv_wc wc;

	CHECK(!vt_get_wc(cq, &wc, ms),
	      "%s: unexpected completion wr_id %" PRIu64 " status %s opcode %s",
	      what, (uint64_t)wc.wr_id, ibv_wc_status_str(wc.status),
	      vt_wc_opcode_str(wc.opcode));
}

/**
 * vt_expect_qp_state - check the state a QP is in
 * @qp: the QP
 * @dev: its device's name, for the diagnostic
 * @want: the state it must be in
 * @what: for the diagnostic
 */
void vt_expect_qp_state(struct ibv_qp *qp, const char *dev,
			enum ibv_qp_state want, const char *what)
{
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr at;
	int rc;

	rc = ibv_query_qp(qp, &at, IBV_QP_STATE, &ia);
	CHECK(!rc, "%s: ibv_query_qp: %s", what, strerror(rc));
	CHECK(at.qp_state == want, "%s: QP %u on %s is in state %d, want %d",
	      what, qp->qp_num, dev, at.qp_state, want);
}

/**
 * vt_post_send - ibv_post_send() that must succeed
 * @qp: the QP
 * @wr: the work requests
 * @what: for the diagnostic
 */
void vt_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr,
		  const char *what)
{
	struct ibv_send_wr *bad = NULL;
	int rc = ibv_post_send(qp, wr, &bad);

	CHECK(!rc, "%s: ibv_post_send: %s", what, strerror(rc));
}

/**
 * vt_post_recv - post one receive that must be accepted
 * @qp: the QP
 * @id: its wr_id
 * @sg: its scatter list
 * @n: entries in @sg
 * @what: for the diagnostic
 */
void vt_post_recv(struct ibv_qp *qp, uint64_t id, struct ibv_sge *sg,
		  int n, const char *what)
{
	struct ibv_recv_wr wr = { .wr_id = id, .sg_list = sg, .num_sge = n };
	struct ibv_recv_wr *bad = NULL;
	int rc = ibv_post_recv(qp, &wr, &bad);

	CHECK(!rc, "%s: ibv_post_recv: %s", what, strerror(rc));
}
