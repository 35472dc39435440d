// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mr_test DEVICE: pinned memory regions on a rodp device (cmocka; run in
 * the guest by suites/40-mr.sh with TAP output).
 *
 * Registration and deregistration with every access combination, distinct
 * keys, the errors the verbs promise (bad access, zero length, unmapped
 * memory, ODP before ODP exists), and RLIMIT_MEMLOCK: pinning is charged
 * as the kernel does (VmPin), and refused over the limit for a process
 * without CAP_IPC_LOCK.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

static const char *dev_name;

struct fixture {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
};

static struct ibv_context *open_dev(void)
{
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	int i, n;

	list = ibv_get_device_list(&n);
	if (!list)
		return NULL;
	for (i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), dev_name))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	return ctx;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->ctx = open_dev();
	if (!f->ctx) {
		free(f);
		return -1;
	}
	f->pd = ibv_alloc_pd(f->ctx);
	if (!f->pd) {
		ibv_close_device(f->ctx);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ibv_dealloc_pd(f->pd);
	ibv_close_device(f->ctx);
	free(f);
	return 0;
}

static void *map_pages(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

/* VmPin of this process in kB, from /proc/self/status. */
static long vm_pin_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void test_device_reports_mrs(void **state)
{
	struct fixture *f = *state;
	struct ibv_device_attr attr;

	assert_int_equal(ibv_query_device(f->ctx, &attr), 0);
	assert_true(attr.max_mr > 0);
	assert_true(attr.max_mr_size >= (1ULL << 30));
}

static void test_reg_every_access(void **state)
{
	static const int access[] = {
		0,
		IBV_ACCESS_LOCAL_WRITE,
		IBV_ACCESS_REMOTE_READ,
		IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
		IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_ATOMIC,
		IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC,
		IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_RELAXED_ORDERING,
	};
	struct fixture *f = *state;
	size_t len = 3 * 4096 + 100;
	char *buf = map_pages(4 * 4096);
	unsigned int i;

	for (i = 0; i < sizeof(access) / sizeof(access[0]); i++) {
		struct ibv_mr *mr = ibv_reg_mr(f->pd, buf + 100, len,
					       access[i]);

		assert_non_null(mr);
		assert_int_equal(mr->lkey, mr->rkey);
		assert_int_not_equal(mr->lkey, 0);
		assert_ptr_equal(mr->addr, buf + 100);
		assert_int_equal(mr->length, len);
		assert_int_equal(ibv_dereg_mr(mr), 0);
	}
	munmap(buf, 4 * 4096);
}

static void test_keys_distinct(void **state)
{
	enum { N = 512 };
	struct fixture *f = *state;
	struct ibv_mr *mr[N];
	char *buf = map_pages(4096);
	int i, j;

	for (i = 0; i < N; i++) {
		mr[i] = ibv_reg_mr(f->pd, buf, 4096, IBV_ACCESS_LOCAL_WRITE);
		assert_non_null(mr[i]);
		for (j = 0; j < i; j++)
			assert_int_not_equal(mr[i]->lkey, mr[j]->lkey);
	}
	for (i = 0; i < N; i++)
		assert_int_equal(ibv_dereg_mr(mr[i]), 0);

	/* A stale key does not name the next MR. */
	mr[0] = ibv_reg_mr(f->pd, buf, 4096, 0);
	assert_non_null(mr[0]);
	i = mr[0]->lkey;
	assert_int_equal(ibv_dereg_mr(mr[0]), 0);
	mr[1] = ibv_reg_mr(f->pd, buf, 4096, 0);
	assert_non_null(mr[1]);
	assert_int_not_equal(mr[1]->lkey, (uint32_t)i);
	ibv_dereg_mr(mr[1]);
	munmap(buf, 4096);
}

static void test_bad_access(void **state)
{
	struct fixture *f = *state;
	char *buf = map_pages(4096);

	/* Remote write or atomic needs local write (IB spec, verbs man). */
	errno = 0;
	assert_null(ibv_reg_mr(f->pd, buf, 4096, IBV_ACCESS_REMOTE_WRITE));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(ibv_reg_mr(f->pd, buf, 4096, IBV_ACCESS_REMOTE_ATOMIC));
	assert_int_equal(errno, EINVAL);
	munmap(buf, 4096);
}

/*
 * ODP regions pin nothing (the odp suite covers them in depth); an
 * implicit one covers the whole address space.
 */
static void test_odp_unpinned(void **state)
{
	struct fixture *f = *state;
	struct ibv_device_attr_ex attr;
	size_t len = 64 * 4096;
	char *buf = map_pages(len);
	long before = vm_pin_kb();
	struct ibv_mr *mr, *imr;

	assert_int_equal(ibv_query_device_ex(f->ctx, NULL, &attr), 0);
	assert_int_equal(attr.odp_caps.general_caps,
			 IBV_ODP_SUPPORT | IBV_ODP_SUPPORT_IMPLICIT);
	memset(buf, 1, len);
	mr = ibv_reg_mr(f->pd, buf, len, IBV_ACCESS_LOCAL_WRITE |
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_ON_DEMAND);
	assert_non_null(mr);
	imr = ibv_reg_mr(f->pd, NULL, SIZE_MAX, IBV_ACCESS_LOCAL_WRITE |
			 IBV_ACCESS_ON_DEMAND);
	assert_non_null(imr);
	assert_int_equal(vm_pin_kb(), before);
	assert_int_equal(ibv_dereg_mr(imr), 0);
	assert_int_equal(ibv_dereg_mr(mr), 0);
	munmap(buf, len);
}

/*
 * ibv_rereg_mr: a new translation is pinned instead of the old one, new
 * keys come back, access and PD change; bad input is refused and leaves
 * the MR as it was.
 */
static void test_rereg(void **state)
{
	struct fixture *f = *state;
	size_t len = 16 * 4096;
	char *a = map_pages(len), *b = map_pages(2 * len);
	long before = vm_pin_kb();
	struct ibv_pd *pd2 = ibv_alloc_pd(f->ctx);
	struct ibv_mr *mr;
	uint32_t key;

	assert_non_null(pd2);
	mr = ibv_reg_mr(f->pd, a, len, IBV_ACCESS_LOCAL_WRITE);
	assert_non_null(mr);
	key = mr->lkey;
	assert_int_equal(vm_pin_kb() - before, (long)(len / 1024));

	assert_int_equal(ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_TRANSLATION,
				      NULL, b, 2 * len, 0), 0);
	assert_ptr_equal(mr->addr, b);
	assert_int_equal(mr->length, 2 * len);
	assert_int_not_equal(mr->lkey, key);
	assert_int_equal(mr->rkey, mr->lkey);
	/* The old range is unpinned, the new one pinned. */
	assert_int_equal(vm_pin_kb() - before, (long)(2 * len / 1024));

	key = mr->lkey;
	assert_int_equal(ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_ACCESS |
				      IBV_REREG_MR_CHANGE_PD, pd2, NULL, 0,
				      IBV_ACCESS_LOCAL_WRITE |
				      IBV_ACCESS_REMOTE_READ), 0);
	assert_ptr_equal(mr->pd, pd2);
	assert_ptr_equal(mr->addr, b);
	assert_int_not_equal(mr->lkey, key);
	assert_int_equal(vm_pin_kb() - before, (long)(2 * len / 1024));

	/* Remote write without local write: refused, the MR unchanged. */
	key = mr->lkey;
	assert_int_equal(ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL,
				      NULL, 0, IBV_ACCESS_REMOTE_WRITE),
			 IBV_REREG_MR_ERR_CMD);
	assert_int_equal(mr->lkey, key);
	/* No flags at all. */
	assert_int_not_equal(ibv_rereg_mr(mr, 0, NULL, NULL, 0, 0), 0);

	assert_int_equal(ibv_dereg_mr(mr), 0);
	assert_int_equal(vm_pin_kb(), before);
	assert_int_equal(ibv_dealloc_pd(pd2), 0);
	munmap(a, len);
	munmap(b, 2 * len);
}

static void test_bad_ranges(void **state)
{
	struct fixture *f = *state;
	char *buf = map_pages(2 * 4096);

	errno = 0;
	assert_null(ibv_reg_mr(f->pd, buf, 0, IBV_ACCESS_LOCAL_WRITE));
	assert_int_equal(errno, EINVAL);

	/* The second page is not mapped any more. */
	munmap(buf + 4096, 4096);
	errno = 0;
	assert_null(ibv_reg_mr(f->pd, buf, 2 * 4096, IBV_ACCESS_LOCAL_WRITE));
	assert_int_equal(errno, EFAULT);
	munmap(buf, 4096);
}

static void test_pin_accounting(void **state)
{
	struct fixture *f = *state;
	size_t len = 64 * 4096;
	char *buf = map_pages(len);
	long before = vm_pin_kb(), during;
	struct ibv_mr *mr;

	assert_true(before >= 0);
	mr = ibv_reg_mr(f->pd, buf, len, IBV_ACCESS_LOCAL_WRITE);
	assert_non_null(mr);
	during = vm_pin_kb();
	assert_int_equal(during - before, (long)(len / 1024));
	assert_int_equal(ibv_dereg_mr(mr), 0);
	assert_int_equal(vm_pin_kb(), before);
	munmap(buf, len);
}

/*
 * Without CAP_IPC_LOCK (as user nobody), pinning counts against
 * RLIMIT_MEMLOCK: 16 pages fit a 128 KiB limit, 64 pages do not.
 */
static int memlock_child(void)
{
	struct rlimit rl = { 128 << 10, 128 << 10 };
	struct ibv_context *ctx;
	struct ibv_mr *mr;
	struct ibv_pd *pd;
	char *buf;

	if (setrlimit(RLIMIT_MEMLOCK, &rl) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return 10;
	ctx = open_dev();
	if (!ctx)
		return 11;
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		return 12;
	buf = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 13;
	mr = ibv_reg_mr(pd, buf, 16 * 4096, IBV_ACCESS_LOCAL_WRITE);
	if (!mr)
		return 14;
	ibv_dereg_mr(mr);
	errno = 0;
	mr = ibv_reg_mr(pd, buf, 64 * 4096, IBV_ACCESS_LOCAL_WRITE);
	if (mr)
		return 15;
	if (errno != ENOMEM)
		return 16;
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	return 0;
}

static void test_memlock_limit(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(memlock_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_reports_mrs),
		cmocka_unit_test(test_reg_every_access),
		cmocka_unit_test(test_keys_distinct),
		cmocka_unit_test(test_bad_access),
		cmocka_unit_test(test_odp_unpinned),
		cmocka_unit_test(test_rereg),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_pin_accounting),
		cmocka_unit_test(test_memlock_limit),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: mr_test DEVICE\n");
		return 2;
	}
	dev_name = argv[1];
	return cmocka_run_group_tests_name("mr", tests, setup, teardown);
}
