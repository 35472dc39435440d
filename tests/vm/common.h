/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * common.h: what the guest-side test programs share (rc_test, odp_test,
 * mr_test, rodp_inject): TAP diagnostics and checks, cmocka test lists,
 * posting and completion checks, and (verbs.h) device lookup, QP connect,
 * polling and the hardware counters.
 *
 * The vt_expect_* and vt_post_* helpers check: a failure is a "# ..."
 * diagnostic and then the program's fail hook (vt_set_fail_hook();
 * cmocka programs pass cmocka's _fail, which ends the test), so they
 * never return after a failure under cmocka.
 */
#ifndef RODP_TESTS_VM_COMMON_H
#define RODP_TESTS_VM_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include "verbs.h"

/* ---------------------------------------------------------------------- */
/* Diagnostics and checks                                                  */
/* ---------------------------------------------------------------------- */

void vt_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vt_vdiag(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));
void vt_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vt_set_fail_hook(void (*hook)(const char *file, int line));
const char *vt_errmsg(void);

/* TAP cases of programs that print their own plan (not cmocka). */
extern unsigned int vt_tap_failed;
void vt_case_begin(void);
void vt_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vt_case_end(const char *name);
void vt_case_skip(const char *name, const char *reason);
void vt_die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* CHECK(cond, fmt, ...): unless @cond, a diagnostic and the fail hook. */
#define CHECK(cond, ...)						\
	do {								\
		if (!(cond))						\
			vt_fail(__FILE__, __LINE__, __VA_ARGS__);	\
	} while (0)

void vt_diag_cmd(const char *cmd);
bool vt_selected(const char *globs, const char *name);
void vt_fill(void *dst, size_t len, uint32_t seed);
uint64_t vt_get_u64(const void *p);
void vt_put_u64(void *p, uint64_t v);

/* ---------------------------------------------------------------------- */
/* A cmocka test list                                                      */
/* ---------------------------------------------------------------------- */

struct CMUnitTest;

#define VT_CASE_MEM	40

/**
 * struct vt_case - what each test's state starts with
 * @name: the test's name (its TAP line)
 * @fn: the test function, NULL when --only left the test out
 * @mem, @nmem: what vt_tc_alloc() gave the test, freed by vt_tc_free()
 */
struct vt_case {
	char name[200];
	void (*fn)(void **state);
	void *mem[VT_CASE_MEM];
	unsigned int nmem;
};

/**
 * struct vt_tests - the cmocka tests a program runs, being listed
 * @prog: the program's name, for messages
 * @only: --only's patterns (NULL: every test)
 * @teardown: each test's teardown (its state is its case)
 * @cases: @cap cases of @case_size bytes, each a struct vt_case first
 * @tests: the tests to run, @n of them (a left-out test takes none)
 */
struct vt_tests {
	const char *prog;
	const char *only;
	int (*teardown)(void **state);
	void *cases;
	size_t case_size;
	struct CMUnitTest *tests;
	unsigned int n, cap;
};

void vt_tests_alloc(struct vt_tests *t, unsigned int cap, size_t case_size);
void *vt_add_test(struct vt_tests *t, void (*fn)(void **state),
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vt_tc_setup(void **state);
void *vt_tc_alloc(struct vt_case *tc, size_t len);
void vt_tc_free(struct vt_case *tc);
int64_t vt_tc_ms(void);

/* ---------------------------------------------------------------------- */
/* Devices                                                                 */
/* ---------------------------------------------------------------------- */

void vt_dev_ready(const struct vt_dev *d);

/* ---------------------------------------------------------------------- */
/* Posting and completions                                                 */
/* ---------------------------------------------------------------------- */

int vt_wc_ms(size_t len);
bool vt_get_wc(struct ibv_cq *cq, struct ibv_wc *wc, int ms);
void vt_check_wc(const struct ibv_wc *wc, const char *what, uint64_t wr_id,
		 enum ibv_wc_status status, int opcode);
void vt_expect_no_wc(struct ibv_cq *cq, const char *what, int ms);
void vt_expect_qp_state(struct ibv_qp *qp, const char *dev,
			enum ibv_qp_state want, const char *what);
void vt_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr,
		  const char *what);
void vt_post_recv(struct ibv_qp *qp, uint64_t id, struct ibv_sge *sg,
		  int n, const char *what);

#endif /* RODP_TESTS_VM_COMMON_H */
