// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: address handles, and the paths (struct rodp_path) that RC QPs
 * and address handles both send along.
 *
 * An AH is numbered per device (struct rodp_create_ah_resp.ah_num) and a
 * UD send WQE names it by that number.  What a send needs of it, the
 * path and the PD, lives in a struct rodp_av of its own: the requester
 * finds it under RCU and takes a reference (rodp_av_get()), so an AH
 * destroyed under a send only goes away once the send is done with it,
 * and destroy_ah never waits (it may be called where it must not sleep).
 */

#include <net/ipv6.h>
#include <rdma/ib_cache.h>

#include <rdma/rodp-abi.h>
#include "rodp.h"

/**
 * struct rodp_av - what a UD send takes from an address handle
 * @path: where the datagrams go
 * @pd: the AH's PD; a QP may only use the AHs of its own PD
 * @users: the AH holds one reference, each rodp_av_get() one more
 * @rcu: frees it once lockless lookups that found it are done
 */
struct rodp_av {
	struct rodp_path path;
	struct ib_pd *pd;
	refcount_t users;
	struct rcu_head rcu;
};

/**
 * struct rodp_ah - an address handle
 * @ibah: the RDMA core's AH
 * @av: its path and PD
 * @num: its number in the device's @ah_xa
 * @attr: its attributes, for query_ah (without the source GID attribute)
 */
struct rodp_ah {
	struct ib_ah ibah;
	struct rodp_av *av;
	u32 num;
	struct rdma_ah_attr attr;
};

static inline struct rodp_ah *to_rah(struct ib_ah *ibah)
{
	return container_of(ibah, struct rodp_ah, ibah);
}

/**
 * rodp_path_init - make a path ready for rodp_path_set()
 * @path: the path, zeroed
 * @gfp: allocation flags
 *
 * Return: 0 or -ENOMEM.
 */
int rodp_path_init(struct rodp_path *path, gfp_t gfp)
{
	int err;

	err = dst_cache_init(&path->dst_cache, gfp);
	if (err)
		return err;
	path->direct = rodp_direct_ways_alloc(gfp);
	if (!path->direct) {
		dst_cache_destroy(&path->dst_cache);
		return -ENOMEM;
	}
	return 0;
}

/**
 * rodp_path_destroy - free what rodp_path_init() allocated
 * @path: the path; nothing sends on it any more
 */
void rodp_path_destroy(struct rodp_path *path)
{
	rodp_direct_ways_free(path->direct);
	dst_cache_destroy(&path->dst_cache);
}

/**
 * rodp_path_set - take the path of an address vector
 * @rdev: the device
 * @path: the path to set (rodp_path_init()); its caches are reset here
 * @ah: the address vector: a GRH whose source GID is a RoCEv2 GID of
 *	@rdev
 * @mcast_ok: the destination may be a multicast group (an AH's)
 *
 * RoCEv2 over IPv4 (IPv4-mapped GIDs) or IPv6; both GIDs must be of the
 * same family, and the destination a unicast address or, with
 * @mcast_ok, a multicast group.
 *
 * Return: 0, -EINVAL or -EAFNOSUPPORT.
 */
int rodp_path_set(struct rodp_dev *rdev, struct rodp_path *path,
		  const struct rdma_ah_attr *ah, bool mcast_ok)
{
	const struct ib_global_route *grh;
	const struct ib_gid_attr *sgid_attr;
	struct in6_addr sgid, dgid;
	struct net_device *ndev;

	if (!(rdma_ah_get_ah_flags(ah) & IB_AH_GRH))
		return -EINVAL;
	grh = rdma_ah_read_grh(ah);
	sgid_attr = grh->sgid_attr;
	if (!sgid_attr || sgid_attr->gid_type != IB_GID_TYPE_ROCE_UDP_ENCAP)
		return -EINVAL;
	memcpy(&sgid, &sgid_attr->gid, sizeof(sgid));
	memcpy(&dgid, &grh->dgid, sizeof(dgid));
	if (ipv6_addr_v4mapped(&sgid) != ipv6_addr_v4mapped(&dgid))
		return -EINVAL;
	if (ipv6_addr_v4mapped(&sgid)) {
		if ((!mcast_ok && ipv4_is_multicast(dgid.s6_addr32[3])) ||
		    ipv4_is_lbcast(dgid.s6_addr32[3]) ||
		    ipv4_is_zeronet(dgid.s6_addr32[3]))
			return -EINVAL;
		path->ipv6 = false;
		path->saddr = sgid.s6_addr32[3];
		path->daddr = dgid.s6_addr32[3];
	} else {
		if (!IS_ENABLED(CONFIG_IPV6))
			return -EAFNOSUPPORT;
		if (ipv6_addr_any(&dgid) ||
		    (!mcast_ok && ipv6_addr_is_multicast(&dgid)))
			return -EINVAL;
		path->ipv6 = true;
		path->saddr6 = sgid;
		path->daddr6 = dgid;
	}
	/* A GID of a VLAN or other upper device routes through that. */
	rcu_read_lock();
	ndev = rdma_read_gid_attr_ndev_rcu(sgid_attr);
	path->oif = IS_ERR(ndev) ? rdev->ndev->ifindex : ndev->ifindex;
	rcu_read_unlock();
	path->tos = grh->traffic_class;
	path->ttl = grh->hop_limit ? grh->hop_limit : 64;
	path->flow_label = grh->flow_label;
	dst_cache_reset(&path->dst_cache);
	rodp_direct_forget();
	return 0;
}

static void rodp_av_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct rodp_av, rcu));
}

/*
 * Drop a reference to an AH's path.  Any context but hard IRQ: the last
 * one frees the route cache now and the struct after a grace period.
 */
static void rodp_av_put(struct rodp_av *av)
{
	if (!refcount_dec_and_test(&av->users))
		return;
	rodp_path_destroy(&av->path);
	call_rcu(&av->rcu, rodp_av_free_rcu);
}

/**
 * rodp_ah_lookup - the path of the AH a UD send WQE names
 * @qp: the sending QP
 * @num: the AH's number (struct rodp_swqe.dest.ah)
 * @path: set to the AH's path, valid until rodp_ah_release()
 * @cookie: set to what rodp_ah_release() needs
 *
 * Return: 0; -ENOENT when no AH has that number, -EACCES when the AH is
 * of another PD than the QP's.
 */
int rodp_ah_lookup(struct rodp_qp *qp, u32 num, struct rodp_path **path,
		   void **cookie)
{
	struct rodp_av *av;

	rcu_read_lock();
	av = xa_load(&qp->rdev->ah_xa, num);
	if (av && !refcount_inc_not_zero(&av->users))
		av = NULL;
	rcu_read_unlock();
	if (!av)
		return -ENOENT;
	if (av->pd != qp->ibqp.pd) {
		rodp_av_put(av);
		return -EACCES;
	}
	*path = &av->path;
	*cookie = av;
	return 0;
}

/**
 * rodp_ah_release - done with the path rodp_ah_lookup() gave
 * @cookie: as rodp_ah_lookup() set it
 */
void rodp_ah_release(void *cookie)
{
	rodp_av_put(cookie);
}

/**
 * rodp_ah_num - the number a send WQE names an address handle by
 * @ibah: an address handle of a rodp device
 *
 * Return: its number (struct rodp_swqe.dest.ah).
 */
u32 rodp_ah_num(struct ib_ah *ibah)
{
	return to_rah(ibah)->num;
}

static int rodp_create_ah(struct ib_ah *ibah,
			  struct rdma_ah_init_attr *init_attr,
			  struct ib_udata *udata)
{
	struct rodp_dev *rdev = to_rdev(ibah->device);
	gfp_t gfp = (init_attr->flags & RDMA_CREATE_AH_SLEEPABLE) ?
		    GFP_KERNEL : GFP_ATOMIC;
	struct rodp_create_ah_resp resp = {};
	struct rodp_ah *ah = to_rah(ibah);
	struct rodp_av *av;
	u32 num;
	int err;

	if (udata && udata->outlen < sizeof(resp))
		return -EINVAL;
	if (init_attr->ah_attr->type != RDMA_AH_ATTR_TYPE_ROCE)
		return -EINVAL;
	av = kzalloc(sizeof(*av), gfp);
	if (!av)
		return -ENOMEM;
	err = rodp_path_init(&av->path, gfp);
	if (err)
		goto err_free;
	err = rodp_path_set(rdev, &av->path, init_attr->ah_attr, true);
	if (err)
		goto err_path;
	av->pd = ibah->pd;
	refcount_set(&av->users, 1);

	/* Reserved first: published once nothing can fail. */
	err = xa_alloc_cyclic(&rdev->ah_xa, &num, NULL,
			      XA_LIMIT(1, RODP_MAX_AH), &rdev->ah_next, gfp);
	if (err < 0) {
		err = err == -EBUSY ? -ENOMEM : err;
		goto err_path;
	}
	if (udata) {
		resp.ah_num = num;
		err = ib_copy_to_udata(udata, &resp, sizeof(resp));
		if (err)
			goto err_erase;
	}
	err = xa_err(xa_store(&rdev->ah_xa, num, av, gfp));
	if (err)
		goto err_erase;
	ah->av = av;
	ah->num = num;
	ah->attr = *init_attr->ah_attr;
	ah->attr.grh.sgid_attr = NULL;
	return 0;

err_erase:
	xa_erase(&rdev->ah_xa, num);
err_path:
	rodp_path_destroy(&av->path);
err_free:
	kfree(av);
	return err;
}

static int rodp_destroy_ah(struct ib_ah *ibah, u32 flags)
{
	struct rodp_ah *ah = to_rah(ibah);

	/* A send that found it keeps its path until it lets go. */
	xa_erase(&to_rdev(ibah->device)->ah_xa, ah->num);
	rodp_av_put(ah->av);
	return 0;
}

static int rodp_query_ah(struct ib_ah *ibah, struct rdma_ah_attr *attr)
{
	*attr = to_rah(ibah)->attr;
	return 0;
}

const struct ib_device_ops rodp_ah_ops = {
	.create_ah = rodp_create_ah,
	.create_user_ah = rodp_create_ah,
	.destroy_ah = rodp_destroy_ah,
	.query_ah = rodp_query_ah,

	INIT_RDMA_OBJ_SIZE(ib_ah, rodp_ah, ibah),
};
