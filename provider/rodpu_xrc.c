// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XRC domains of rodp's libibverbs provider.
 *
 * An XRC domain is the kernel's (opened with or without a file, so that
 * processes share it): the provider only wraps the handle.  XRC SRQs are
 * SRQs with a number (rodpu_srq.c), XRC_SEND QPs RC send queues whose
 * WQEs name that number, XRC_RECV QPs have no queues at all: the
 * kernel's responder fills the XRC SRQs (rodpu_qp.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rodpu.h"

/**
 * rodpu_open_xrcd - the open_xrcd verb.
 * @ibctx: context
 * @attr: IBV_XRCD_INIT_ATTR_FD (a file naming a domain to share, or -1)
 *	  and IBV_XRCD_INIT_ATTR_OFLAGS (O_CREAT, O_EXCL)
 *
 * Return: the domain, or NULL with errno set.
 */
struct ibv_xrcd *rodpu_open_xrcd(struct ibv_context *ibctx,
				 struct ibv_xrcd_init_attr *attr)
{
	struct ib_uverbs_open_xrcd_resp resp;
	struct ibv_open_xrcd cmd;
	struct verbs_xrcd *xrcd;
	int ret;

	xrcd = calloc(1, sizeof(*xrcd));
	if (!xrcd)
		return NULL;
	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_open_xrcd(ibctx, xrcd, sizeof(*xrcd), attr, &cmd,
				sizeof(cmd), &resp, sizeof(resp));
	if (ret) {
		free(xrcd);
		errno = ret;
		return NULL;
	}
	return &xrcd->xrcd;
}

/**
 * rodpu_close_xrcd - the close_xrcd verb.
 * @ibxrcd: the domain; left intact if the kernel refuses (still in use)
 *
 * Return: 0 or a positive errno.
 */
int rodpu_close_xrcd(struct ibv_xrcd *ibxrcd)
{
	struct verbs_xrcd *xrcd =
		rodpu_container_of(ibxrcd, struct verbs_xrcd, xrcd);
	int ret;

	ret = ibv_cmd_close_xrcd(xrcd);
	if (ret)
		return ret;
	free(xrcd);
	return 0;
}

/**
 * rodpu_get_srq_num - the get_srq_num verb.
 * @ibsrq: an XRC SRQ
 * @srq_num: set to the number XRC_SEND work requests name it by
 *
 * Return: 0, or EINVAL for an SRQ that is not an XRC SRQ.
 */
int rodpu_get_srq_num(struct ibv_srq *ibsrq, uint32_t *srq_num)
{
	struct rodpu_srq *srq = to_rsrq(ibsrq);

	if (srq->vsrq.srq_type != IBV_SRQT_XRC)
		return EINVAL;
	*srq_num = srq->vsrq.srq_num;
	return 0;
}
