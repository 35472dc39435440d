// SPDX-License-Identifier: GPL-2.0
/*
 * vm_holddev DEVICE READY_FILE: hold an RDMA device open while it is
 * removed (`rdma link del`, `rmmod`), the way a running application does.
 *
 * Opens DEVICE, creates a PD, a CQ and, when the device reports that it
 * has them (max_mr, max_qp), an MR and an RC QP, creates READY_FILE, then waits for the device's async events.  The kernel must
 * disassociate the process from a removed device: deliver
 * IBV_EVENT_DEVICE_FATAL and fail every later command, without waiting
 * for the process to let go.
 *
 * Exit status: 0 when DEVICE_FATAL came and a later command (alloc PD)
 * failed; 1 when the device misbehaved; 2 on a set-up error; 3 when no
 * DEVICE_FATAL came within 120 s.  A crash is a signal, not 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#define WAIT_SECONDS	120
#define BUF_SIZE	4096

static struct ibv_context *open_by_name(const char *name)
{
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	int i, n;

	list = ibv_get_device_list(&n);
	if (!list) {
		perror("ibv_get_device_list");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(ibv_get_device_name(list[i]), name) == 0) {
			ctx = ibv_open_device(list[i]);
			if (!ctx)
				perror("ibv_open_device");
			break;
		}
	}
	if (i == n)
		fprintf(stderr, "vm_holddev: no device %s\n", name);
	ibv_free_device_list(list);
	return ctx;
}

static int touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		perror(path);
		return -1;
	}
	return close(fd);
}

static void on_alarm(int sig)
{
	static const char text[] = "vm_holddev: no DEVICE_FATAL in time\n";

	ssize_t n = write(STDERR_FILENO, text, sizeof(text) - 1);

	(void)n;
	_exit(3);
}

/* Wait for DEVICE_FATAL; other events are printed and skipped. */
static int wait_fatal(struct ibv_context *ctx)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct ibv_async_event ev;
	enum ibv_event_type type;

	sigaction(SIGALRM, &sa, NULL);
	alarm(WAIT_SECONDS);
	for (;;) {
		if (ibv_get_async_event(ctx, &ev)) {
			perror("ibv_get_async_event");
			return -1;
		}
		type = ev.event_type;
		ibv_ack_async_event(&ev);
		printf("vm_holddev: async event %s\n",
		       ibv_event_type_str(type));
		if (type == IBV_EVENT_DEVICE_FATAL)
			return 0;
	}
}

int main(int argc, char **argv)
{
	struct ibv_qp_init_attr qp_attr = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 1, .max_recv_wr = 1,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_device_attr dattr;
	struct ibv_context *ctx;
	struct ibv_pd *pd, *pd2;
	struct ibv_cq *cq;
	struct ibv_mr *mr = NULL;
	struct ibv_qp *qp = NULL;
	void *buf;
	int ret = 2;

	if (argc != 3) {
		fprintf(stderr, "usage: vm_holddev DEVICE READY_FILE\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	ctx = open_by_name(argv[1]);
	if (!ctx)
		return 2;
	if (ibv_query_device(ctx, &dattr)) {
		perror("ibv_query_device");
		goto close_dev;
	}
	pd = ibv_alloc_pd(ctx);
	if (!pd) {
		perror("ibv_alloc_pd");
		goto close_dev;
	}
	cq = ibv_create_cq(ctx, 4, NULL, NULL, 0);
	if (!cq) {
		perror("ibv_create_cq");
		goto dealloc_pd;
	}
	buf = calloc(1, BUF_SIZE);
	if (!buf)
		goto destroy_cq;
	if (dattr.max_mr) {
		mr = ibv_reg_mr(pd, buf, BUF_SIZE, IBV_ACCESS_LOCAL_WRITE |
				IBV_ACCESS_REMOTE_WRITE);
		if (!mr) {
			perror("ibv_reg_mr");
			goto free_buf;
		}
	}
	if (dattr.max_qp) {
		qp_attr.send_cq = cq;
		qp_attr.recv_cq = cq;
		qp = ibv_create_qp(pd, &qp_attr);
		if (!qp) {
			perror("ibv_create_qp");
			goto dereg_mr;
		}
	}
	if (touch(argv[2]))
		goto destroy_qp;
	printf("vm_holddev: %s open, PD CQ%s%s created, waiting\n", argv[1],
	       mr ? " MR" : "", qp ? " QP" : "");

	if (wait_fatal(ctx)) {
		ret = 1;
		goto destroy_qp;
	}
	/* The device is gone: a new command must fail. */
	pd2 = ibv_alloc_pd(ctx);
	if (pd2) {
		fprintf(stderr,
			"vm_holddev: ibv_alloc_pd worked after DEVICE_FATAL\n");
		ibv_dealloc_pd(pd2);
		ret = 1;
	} else {
		printf("vm_holddev: ibv_alloc_pd after removal: %s\n",
		       strerror(errno));
		ret = 0;
	}

	/* Tearing down a removed device's objects must not crash. */
destroy_qp:
	if (qp)
		ibv_destroy_qp(qp);
dereg_mr:
	if (mr)
		ibv_dereg_mr(mr);
free_buf:
	free(buf);
destroy_cq:
	ibv_destroy_cq(cq);
dealloc_pd:
	ibv_dealloc_pd(pd);
close_dev:
	ibv_close_device(ctx);
	printf("vm_holddev: exit %d\n", ret);
	return ret;
}
