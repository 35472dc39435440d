// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Address handles and multicast attachments of rodp's libibverbs
 * provider.
 *
 * The kernel keeps an AH's path (addresses, route) and numbers it; a UD
 * send WQE carries that number (struct rodp_swqe.dest.ah), and the
 * kernel checks it names an AH of the QP's PD.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rodpu.h"

/**
 * rodpu_create_ah - the create_ah verb.
 * @pd: protection domain
 * @attr: the address: RoCEv2 needs is_global and a GRH
 *
 * Return: the AH, or NULL with errno set.
 */
struct ibv_ah *rodpu_create_ah(struct ibv_pd *pd, struct ibv_ah_attr *attr)
{
	struct rodpu_create_ah_resp resp;
	struct rodpu_ah *ah;
	int ret;

	if (!attr->is_global) {
		errno = EINVAL;
		return NULL;
	}
	ah = calloc(1, sizeof(*ah));
	if (!ah)
		return NULL;

	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_create_ah(pd, &ah->ibv_ah, attr,
				rodpu_create_ah_resp_core(&resp),
				sizeof(resp));
	if (ret) {
		free(ah);
		errno = ret;
		return NULL;
	}
	ah->num = resp.drv.ah_num;
	return &ah->ibv_ah;
}

/**
 * rodpu_destroy_ah - the destroy_ah verb.
 * @ibah: the AH; left intact if the kernel refuses to destroy it
 *
 * Return: 0 or a positive errno.
 */
int rodpu_destroy_ah(struct ibv_ah *ibah)
{
	int ret;

	ret = ibv_cmd_destroy_ah(ibah);
	if (ret)
		return ret;
	free(to_rah(ibah));
	return 0;
}

/**
 * rodpu_attach_mcast - the attach_mcast verb (carried out by the kernel:
 * RoCE multicast is IP multicast, the netdev joins the group).
 * @qp: a UD QP
 * @gid: the group
 * @lid: unused on RoCE
 *
 * Return: 0 or a positive errno.
 */
int rodpu_attach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
		       uint16_t lid)
{
	return ibv_cmd_attach_mcast(qp, gid, lid);
}

/**
 * rodpu_detach_mcast - the detach_mcast verb.
 * @qp: a UD QP
 * @gid: the group
 * @lid: unused on RoCE
 *
 * Return: 0 or a positive errno.
 */
int rodpu_detach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
		       uint16_t lid)
{
	return ibv_cmd_detach_mcast(qp, gid, lid);
}
