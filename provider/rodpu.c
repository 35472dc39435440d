// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp's libibverbs provider: device matching, contexts,
 * device and port queries, protection domains and memory regions.
 * Completion queues are in rodpu_cq.c, queue pairs in rodpu_qp.c,
 * shared receive queues in rodpu_srq.c, memory windows in rodpu_mw.c,
 * the import verbs in rodpu_import.c.
 *
 * Loaded by libibverbs as librodp-rdmav<ABI>.so; registers itself from a
 * constructor.  Verbs not set in rodpu_ctx_ops fail with EOPNOTSUPP
 * through libibverbs' defaults.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rodpu.h"

/**
 * rodpu_cmd_write - send a uverbs command through write(2)
 * @ibctx: the context whose command file takes it
 * @cmd: the command, struct ib_uverbs_cmd_hdr first
 * @len: its length in bytes
 *
 * The doorbells use the write(2) ABI directly: libibverbs'
 * ibv_cmd_post_send() goes through the ioctl() wrapper of the same
 * command, which costs more than the doorbell's work on a short message.
 * The kernel refuses write(2) with EACCES to a process whose credentials
 * changed since it opened the device (a child after fork(), a daemon
 * that dropped its capabilities); the doorbells then go through ioctl(2)
 * (rodpu_context.db_ioctl).
 *
 * Return: 0 or an errno value.
 */
int rodpu_cmd_write(struct ibv_context *ibctx, const void *cmd, size_t len)
{
	ssize_t ret = write(ibctx->cmd_fd, cmd, len);

	if (ret < 0)
		return errno;
	return (size_t)ret == len ? 0 : EIO;
}

/*
 * rodp.ko registers its devices with RDMA_DRIVER_UNKNOWN, so they are
 * recognised by the rodp_abi sysfs attribute only rodp devices carry.
 */
static bool rodpu_match_device(struct verbs_sysfs_dev *sysfs_dev)
{
	int saved_errno = errno;
	unsigned long abi;
	char buf[16];
	char *end;
	int len;

	len = ibv_read_ibdev_sysfs_file(buf, sizeof(buf), sysfs_dev,
					RODP_SYSFS_ABI_ATTR);
	if (len <= 0)
		goto no_match;

	errno = 0;
	abi = strtoul(buf, &end, 10);
	if (end == buf || *end != '\0' || errno)
		goto no_match;
	if (abi != RODP_UVERBS_ABI_VERSION) {
		fprintf(stderr,
			"rodp: %s speaks rodp ABI %lu, this provider ABI %u; not using it\n",
			sysfs_dev->ibdev_name, abi, RODP_UVERBS_ABI_VERSION);
		goto no_match;
	}

	errno = saved_errno;
	return true;

no_match:
	errno = saved_errno;
	return false;
}

static struct verbs_device *
rodpu_alloc_device(struct verbs_sysfs_dev *sysfs_dev)
{
	struct rodpu_device *dev;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	return &dev->vdev;
}

static void rodpu_uninit_device(struct verbs_device *vdev)
{
	free(rodpu_container_of(vdev, struct rodpu_device, vdev));
}

static int rodpu_query_device_ex(struct ibv_context *ibctx,
				 const struct ibv_query_device_ex_input *input,
				 struct ibv_device_attr_ex *attr,
				 size_t attr_size)
{
	struct ib_uverbs_ex_query_device_resp resp;
	size_t resp_size = sizeof(resp);
	uint64_t fw;
	int ret;

	ret = ibv_cmd_query_device_any(ibctx, input, attr, attr_size, &resp,
				       &resp_size);
	if (ret)
		return ret;

	/*
	 * Fast-registration MRs are the kernel consumers' (rodp_frmr.c):
	 * libibverbs has no verb for them, so user space is not told.
	 */
	attr->orig_attr.device_cap_flags &= ~IBV_DEVICE_MEM_MGT_EXTENSIONS;

	/* The 64-bit firmware version packs major.minor.sub in 16 bits each. */
	fw = resp.base.fw_ver;
	snprintf(attr->orig_attr.fw_ver, sizeof(attr->orig_attr.fw_ver),
		 "%u.%u.%u", (unsigned int)(fw >> 32) & 0xffff,
		 (unsigned int)(fw >> 16) & 0xffff, (unsigned int)fw & 0xffff);
	return 0;
}

static int rodpu_query_port(struct ibv_context *ibctx, uint8_t port,
			    struct ibv_port_attr *attr)
{
	struct ibv_query_port cmd;

	memset(&cmd, 0, sizeof(cmd));
	return ibv_cmd_query_port(ibctx, port, attr, &cmd, sizeof(cmd));
}

static struct ibv_pd *rodpu_alloc_pd(struct ibv_context *ibctx)
{
	struct ib_uverbs_alloc_pd_resp resp;
	struct ibv_alloc_pd cmd;
	struct ibv_pd *pd;
	int ret;

	pd = calloc(1, sizeof(*pd));
	if (!pd)
		return NULL;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_alloc_pd(ibctx, pd, &cmd, sizeof(cmd), &resp,
			       sizeof(resp));
	if (ret) {
		free(pd);
		errno = ret;
		return NULL;
	}
	return pd;
}

static int rodpu_dealloc_pd(struct ibv_pd *pd)
{
	int ret;

	ret = ibv_cmd_dealloc_pd(pd);
	if (ret)
		return ret;
	free(pd);
	return 0;
}

static struct ibv_mr *rodpu_reg_mr(struct ibv_pd *pd, void *addr,
				   size_t length, uint64_t hca_va, int access)
{
	struct ib_uverbs_reg_mr_resp resp;
	struct ibv_reg_mr cmd;
	struct verbs_mr *vmr;
	int ret;

	vmr = calloc(1, sizeof(*vmr));
	if (!vmr)
		return NULL;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_reg_mr(pd, addr, length, hca_va, access, vmr, &cmd,
			     sizeof(cmd), &resp, sizeof(resp));
	if (ret) {
		free(vmr);
		errno = ret;
		return NULL;
	}
	return &vmr->ibv_mr;
}

/*
 * ibv_rereg_mr: the kernel puts a new MR with the changes in the old one's
 * place, with the same keys (the command copies them into the ibv_mr),
 * and destroys the old one.
 */
static int rodpu_rereg_mr(struct verbs_mr *vmr, int flags, struct ibv_pd *pd,
			  void *addr, size_t length, int access)
{
	struct ib_uverbs_rereg_mr_resp resp;
	struct ibv_rereg_mr cmd;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	return ibv_cmd_rereg_mr(vmr, flags, addr, length, (uintptr_t)addr,
				access, pd, &cmd, sizeof(cmd), &resp,
				sizeof(resp));
}

static int rodpu_dereg_mr(struct verbs_mr *vmr)
{
	int ret;

	ret = ibv_cmd_dereg_mr(vmr);
	if (ret)
		return ret;
	free(vmr);
	return 0;
}

/*
 * ibv_advise_mr: the kernel checks the keys, ranges and rights, and
 * prefetches ODP pages (at once with IBV_ADVISE_MR_FLAG_FLUSH, queued
 * without).
 */
static int rodpu_advise_mr(struct ibv_pd *pd,
			   enum ibv_advise_mr_advice advice, uint32_t flags,
			   struct ibv_sge *sg_list, uint32_t num_sge)
{
	return ibv_cmd_advise_mr(pd, advice, flags, sg_list, num_sge);
}

static void rodpu_free_context(struct ibv_context *ibctx)
{
	struct rodpu_context *ctx = to_rctx(ibctx);

	verbs_uninit_context(&ctx->vctx);
	free(ctx);
}

const struct verbs_context_ops rodpu_ctx_ops = {
	.advise_mr	= rodpu_advise_mr,
	.alloc_mw	= rodpu_alloc_mw,
	.alloc_pd	= rodpu_alloc_pd,
	.attach_mcast	= rodpu_attach_mcast,
	.bind_mw	= rodpu_bind_mw,
	.close_xrcd	= rodpu_close_xrcd,
	.create_ah	= rodpu_create_ah,
	.create_cq	= rodpu_create_cq,
	.create_cq_ex	= rodpu_create_cq_ex,
	.create_qp	= rodpu_create_qp,
	.create_qp_ex	= rodpu_create_qp_ex,
	.dealloc_mw	= rodpu_dealloc_mw,
	.create_srq	= rodpu_create_srq,
	.create_srq_ex	= rodpu_create_srq_ex,
	.dealloc_pd	= rodpu_dealloc_pd,
	.dereg_mr	= rodpu_dereg_mr,
	.destroy_ah	= rodpu_destroy_ah,
	.destroy_cq	= rodpu_destroy_cq,
	.destroy_qp	= rodpu_destroy_qp,
	.destroy_srq	= rodpu_destroy_srq,
	.detach_mcast	= rodpu_detach_mcast,
	.free_context	= rodpu_free_context,
	.get_srq_num	= rodpu_get_srq_num,
	.import_mr	= rodpu_import_mr,
	.import_pd	= rodpu_import_pd,
	.modify_qp	= rodpu_modify_qp,
	.modify_srq	= rodpu_modify_srq,
	.open_qp	= rodpu_open_qp,
	.open_xrcd	= rodpu_open_xrcd,
	.poll_cq	= rodpu_poll_cq,
	.post_recv	= rodpu_post_recv,
	.post_send	= rodpu_post_send,
	.post_srq_recv	= rodpu_post_srq_recv,
	.query_device_ex = rodpu_query_device_ex,
	.query_port	= rodpu_query_port,
	.query_qp	= rodpu_query_qp,
	.query_rt_values = rodpu_query_rt_values,
	.query_srq	= rodpu_query_srq,
	.reg_mr		= rodpu_reg_mr,
	.rereg_mr	= rodpu_rereg_mr,
	.req_notify_cq	= rodpu_req_notify_cq,
	.resize_cq	= rodpu_resize_cq,
	.unimport_mr	= rodpu_unimport_mr,
	.unimport_pd	= rodpu_unimport_pd,
};

static struct verbs_context *rodpu_alloc_context(struct ibv_device *ibdev,
						 int cmd_fd,
						 void *private_data)
{
	struct rodpu_get_context_resp resp;
	struct ibv_get_context cmd;
	struct rodpu_context *ctx;
	int ret;

	/* From here on ctx owns cmd_fd, even if this fails. */
	ctx = verbs_init_and_alloc_context(ibdev, cmd_fd, ctx, vctx,
					   RDMA_DRIVER_UNKNOWN);
	if (!ctx)
		return NULL;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	ret = pabi_cmd_get_context(&ctx->vctx, &cmd, sizeof(cmd),
				   rodpu_get_context_resp_core(&resp),
				   sizeof(resp));
	if (ret) {
		rodpu_err(&ctx->vctx, "GET_CONTEXT failed: %s", strerror(ret));
		goto err_uninit;
	}

	if (resp.drv.abi_version != RODP_UVERBS_ABI_VERSION) {
		rodpu_err(&ctx->vctx,
			  "kernel speaks rodp ABI %u, provider ABI %u",
			  resp.drv.abi_version, RODP_UVERBS_ABI_VERSION);
		ret = EINVAL;
		goto err_uninit;
	}
	if (resp.drv.cqe_size != sizeof(struct rodp_cqe)) {
		rodpu_err(&ctx->vctx, "kernel CQE is %u bytes, provider's %zu",
			  resp.drv.cqe_size, sizeof(struct rodp_cqe));
		ret = EINVAL;
		goto err_uninit;
	}
	ctx->max_inline = resp.drv.max_inline;

	verbs_set_ops(&ctx->vctx, &rodpu_ctx_ops);
	return &ctx->vctx;

err_uninit:
	verbs_uninit_context(&ctx->vctx);
	free(ctx);
	errno = ret;
	return NULL;
}

/*
 * No table entry can name a rodp device (it has no driver id, and names are
 * the user's choice), but libibverbs walks the table of every provider for
 * devices that do have a driver id: it must exist, holding only the
 * sentinel.  rodpu_match_device() decides.
 */
static const struct verbs_match_ent rodpu_match_table[] = {
	{},
};

static const struct verbs_device_ops rodpu_dev_ops = {
	.name			= "rodp",
	.match_min_abi_version	= RODP_UVERBS_ABI_VERSION,
	.match_max_abi_version	= RODP_UVERBS_ABI_VERSION,
	.match_table		= rodpu_match_table,
	.match_device		= rodpu_match_device,
	.alloc_device		= rodpu_alloc_device,
	.uninit_device		= rodpu_uninit_device,
	.alloc_context		= rodpu_alloc_context,
	.import_context		= rodpu_import_context,
};

static void __attribute__((constructor)) rodpu_register(void)
{
	pabi_register_driver(&rodpu_dev_ops);
}
