// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rdma-core's import verbs on rodp: ibv_import_device(), ibv_import_pd()
 * and ibv_unimport_pd(), ibv_import_mr() and ibv_unimport_mr().
 *
 * A process that was given another one's uverbs file (SCM_RIGHTS, or
 * inherited) builds its own libibverbs objects around the kernel objects
 * that file holds.  Nothing is created or copied in the kernel: an
 * imported MR is the registered one, with its memory (rodp_import.c in
 * the module says what that means for ODP).  Unimporting frees only this
 * process's wrapper; destroying (ibv_dealloc_pd, ibv_dereg_mr) destroys
 * the kernel object for every process that shares the file.
 *
 * The three queries are ioctl() methods; libibverbs' command-buffer
 * helpers are macros of its private headers, which distributions do not
 * install, so this file builds the ioctl() itself from the kernel's
 * <rdma/rdma_user_ioctl_cmds.h> (stable uAPI).  It asks for the MR's
 * iova as well, which rdma-core 44's ibv_cmd_query_mr() leaves out, so
 * an imported MR's addr is right.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <rdma/ib_user_ioctl_cmds.h>
#include <rdma/rdma_user_ioctl_cmds.h>

#include "rodpu.h"

/* The most attributes any method here passes. */
#define RODPU_IMPORT_MAX_ATTRS	5

struct rodpu_ioctl {
	struct ib_uverbs_ioctl_hdr hdr;
	struct ib_uverbs_attr attrs[RODPU_IMPORT_MAX_ATTRS];
};

static void rodpu_ioctl_init(struct rodpu_ioctl *c, uint16_t object,
			     uint16_t method)
{
	memset(c, 0, sizeof(*c));
	c->hdr.object_id = object;
	c->hdr.method_id = method;
}

static struct ib_uverbs_attr *rodpu_ioctl_attr(struct rodpu_ioctl *c,
					       uint16_t id, uint16_t flags)
{
	struct ib_uverbs_attr *a = &c->attrs[c->hdr.num_attrs++];

	a->attr_id = id;
	a->flags = flags;
	return a;
}

/* An object handle the method looks up (an IDR attribute). */
static void rodpu_ioctl_obj(struct rodpu_ioctl *c, uint16_t id,
			    uint32_t handle)
{
	rodpu_ioctl_attr(c, id, UVERBS_ATTR_F_MANDATORY)->data = handle;
}

/* A buffer the kernel writes into. */
static void rodpu_ioctl_out(struct rodpu_ioctl *c, uint16_t id, void *ptr,
			    uint16_t len, bool mandatory)
{
	struct ib_uverbs_attr *a =
		rodpu_ioctl_attr(c, id,
				 mandatory ? UVERBS_ATTR_F_MANDATORY : 0);

	a->len = len;
	a->data = (uintptr_t)ptr;
}

/* Return: 0 or an errno value. */
static int rodpu_ioctl_exec(int fd, struct rodpu_ioctl *c)
{
	c->hdr.length = sizeof(c->hdr) +
			c->hdr.num_attrs * sizeof(c->attrs[0]);
	c->hdr.driver_id = RDMA_DRIVER_UNKNOWN;
	return ioctl(fd, RDMA_VERBS_IOCTL, &c->hdr) ? errno : 0;
}

/**
 * rodpu_import_context - verbs_device_ops.import_context
 * @ibdev: the device libibverbs found behind @cmd_fd
 * @cmd_fd: an open uverbs file with a context on it
 *
 * Asks the kernel what it told the context's creator at GET_CONTEXT, and
 * checks it as rodpu_alloc_context() does.  On success the context owns
 * @cmd_fd (ibv_close_device() closes it); on failure @cmd_fd is left
 * open, except when memory for the context cannot be had at all
 * (libibverbs closes it then).
 *
 * Return: the context, or NULL with errno set.
 */
struct verbs_context *rodpu_import_context(struct ibv_device *ibdev,
					   int cmd_fd)
{
	struct verbs_device *vdev = rodpu_container_of(ibdev,
						       struct verbs_device,
						       device);
	struct rodp_alloc_context_resp resp;
	struct rodpu_context *ctx;
	struct rodpu_ioctl c;
	uint64_t core_support = 0;
	uint32_t num_comp = 0;
	int ret;

	ctx = verbs_init_and_alloc_context(ibdev, cmd_fd, ctx, vctx,
					   RDMA_DRIVER_UNKNOWN);
	if (!ctx)
		return NULL;

	memset(&resp, 0, sizeof(resp));
	rodpu_ioctl_init(&c, UVERBS_OBJECT_DEVICE, UVERBS_METHOD_QUERY_CONTEXT);
	rodpu_ioctl_out(&c, UVERBS_ATTR_QUERY_CONTEXT_NUM_COMP_VECTORS,
			&num_comp, sizeof(num_comp), false);
	rodpu_ioctl_out(&c, UVERBS_ATTR_QUERY_CONTEXT_CORE_SUPPORT,
			&core_support, sizeof(core_support), false);
	rodpu_ioctl_out(&c, RODP_ATTR_QUERY_CONTEXT_RESP, &resp, sizeof(resp),
			true);
	ret = rodpu_ioctl_exec(cmd_fd, &c);
	if (ret) {
		/* EOPNOTSUPP, EPROTONOSUPPORT: a rodp.ko without imports. */
		rodpu_err(&ctx->vctx, "QUERY_CONTEXT failed: %s",
			  strerror(ret));
		goto err_uninit;
	}
	if (resp.abi_version != RODP_UVERBS_ABI_VERSION ||
	    resp.cqe_size != sizeof(struct rodp_cqe)) {
		rodpu_err(&ctx->vctx,
			  "kernel speaks rodp ABI %u (CQE %u bytes), provider ABI %u (%zu)",
			  resp.abi_version, resp.cqe_size,
			  RODP_UVERBS_ABI_VERSION, sizeof(struct rodp_cqe));
		ret = EINVAL;
		goto err_uninit;
	}
	ctx->max_inline = resp.max_inline;
	/*
	 * The file was opened by another process (other credentials): the
	 * kernel refuses its write(2) commands, so the doorbells go through
	 * ioctl(2) from the start (rodpu_cmd_write()).
	 */
	ctx->db_ioctl = true;
	ctx->vctx.context.num_comp_vectors = num_comp;
	vdev->core_support = core_support;

	verbs_set_ops(&ctx->vctx, &rodpu_ctx_ops);
	return &ctx->vctx;

err_uninit:
	/* The caller keeps its file. */
	ctx->vctx.context.cmd_fd = -1;
	verbs_uninit_context(&ctx->vctx);
	free(ctx);
	errno = ret;
	return NULL;
}

/*
 * ibv_import_pd: the kernel checks that the handle names a PD of this
 * file (RODP_METHOD_PD_QUERY); rodp's PD has nothing else to learn.
 */
struct ibv_pd *rodpu_import_pd(struct ibv_context *ibctx, uint32_t pd_handle)
{
	struct rodpu_ioctl c;
	struct ibv_pd *pd;
	int ret;

	rodpu_ioctl_init(&c, UVERBS_OBJECT_PD, RODP_METHOD_PD_QUERY);
	rodpu_ioctl_obj(&c, RODP_ATTR_QUERY_PD_HANDLE, pd_handle);
	ret = rodpu_ioctl_exec(ibctx->cmd_fd, &c);
	if (ret) {
		errno = ret;
		return NULL;
	}

	pd = calloc(1, sizeof(*pd));
	if (!pd)
		return NULL;
	pd->context = ibctx;
	pd->handle = pd_handle;
	return pd;
}

/* ibv_unimport_pd: this process forgets the PD; the kernel keeps it. */
void rodpu_unimport_pd(struct ibv_pd *pd)
{
	free(pd);
}

/*
 * ibv_import_mr: the core's UVERBS_METHOD_QUERY_MR gives the keys, the
 * length and the iova (the address the MR was registered at: an imported
 * MR's addr is in the registering process's address space).
 */
struct ibv_mr *rodpu_import_mr(struct ibv_pd *pd, uint32_t mr_handle)
{
	struct rodpu_ioctl c;
	struct verbs_mr *vmr;
	uint64_t length = 0, iova = 0;
	uint32_t lkey = 0, rkey = 0;
	int ret;

	rodpu_ioctl_init(&c, UVERBS_OBJECT_MR, UVERBS_METHOD_QUERY_MR);
	rodpu_ioctl_obj(&c, UVERBS_ATTR_QUERY_MR_HANDLE, mr_handle);
	rodpu_ioctl_out(&c, UVERBS_ATTR_QUERY_MR_RESP_LKEY, &lkey, sizeof(lkey),
			true);
	rodpu_ioctl_out(&c, UVERBS_ATTR_QUERY_MR_RESP_RKEY, &rkey, sizeof(rkey),
			true);
	rodpu_ioctl_out(&c, UVERBS_ATTR_QUERY_MR_RESP_LENGTH, &length,
			sizeof(length), true);
	rodpu_ioctl_out(&c, UVERBS_ATTR_QUERY_MR_RESP_IOVA, &iova, sizeof(iova),
			true);
	ret = rodpu_ioctl_exec(pd->context->cmd_fd, &c);
	if (ret) {
		errno = ret;
		return NULL;
	}

	vmr = calloc(1, sizeof(*vmr));
	if (!vmr)
		return NULL;
	vmr->ibv_mr.context = pd->context;
	vmr->ibv_mr.pd = pd;
	vmr->ibv_mr.addr = (void *)(uintptr_t)iova;
	vmr->ibv_mr.length = length;
	vmr->ibv_mr.handle = mr_handle;
	vmr->ibv_mr.lkey = lkey;
	vmr->ibv_mr.rkey = rkey;
	vmr->mr_type = IBV_MR_TYPE_IMPORTED_MR;
	return &vmr->ibv_mr;
}

/* ibv_unimport_mr: this process forgets the MR; the kernel keeps it. */
void rodpu_unimport_mr(struct ibv_mr *mr)
{
	free(rodpu_container_of(mr, struct verbs_mr, ibv_mr));
}
