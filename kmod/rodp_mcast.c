// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: multicast groups of UD QPs.
 *
 * RoCE multicast travels as IP multicast: the first QP of a device that
 * attaches to a group makes the device's netdev join it on the RoCEv2
 * socket of its namespace (rodp_net_mc()), the last one to detach leaves
 * it.  A datagram to the group (destination QPN 0xFFFFFF) is handed to
 * every QP of the device attached to it (rodp_net.c asks
 * rodp_mcast_qps_rcu() which).
 *
 * A group (struct rodp_mcg) is on its device's @mcgs list, changed under
 * rtnl_lock (which the joins need anyway) and read under RCU: a change
 * of a group's QPs replaces the group by an updated copy.
 */

#include <net/ipv6.h>

#include "rodp.h"

/**
 * struct rodp_mcg - a multicast group with QPs of a device attached
 * @list: entry on rodp_dev.mcgs
 * @gid: the group
 * @rcu: frees a replaced or removed group after readers are done
 * @nqp: entries in @qp
 * @qp: the attached QPs
 */
struct rodp_mcg {
	struct list_head list;
	struct in6_addr gid;
	struct rcu_head rcu;
	unsigned int nqp;
	struct rodp_qp *qp[];
};

static struct rodp_mcg *rodp_mcg_find(struct rodp_dev *rdev,
				      const struct in6_addr *gid)
{
	struct rodp_mcg *g;

	list_for_each_entry_rcu(g, &rdev->mcgs, list, lockdep_rtnl_is_held())
		if (ipv6_addr_equal(&g->gid, gid))
			return g;
	return NULL;
}

static int rodp_mcg_index(const struct rodp_mcg *g, const struct rodp_qp *qp)
{
	unsigned int i;

	for (i = 0; i < g->nqp; i++)
		if (g->qp[i] == qp)
			return i;
	return -1;
}

/* A copy of @g (or a new group) with room for @nqp QPs. */
static struct rodp_mcg *rodp_mcg_alloc(const struct in6_addr *gid,
				       unsigned int nqp)
{
	struct rodp_mcg *g = kzalloc(struct_size(g, qp, nqp), GFP_KERNEL);

	if (g)
		g->gid = *gid;
	return g;
}

static int rodp_attach_mcast(struct ib_qp *ibqp, union ib_gid *ibgid,
			     u16 lid)
{
	const struct in6_addr *gid = (const struct in6_addr *)ibgid->raw;
	struct rodp_qp *qp = to_rqp(ibqp);
	struct rodp_dev *rdev = qp->rdev;
	struct rodp_mcg *old, *g;
	int err = 0;

	rtnl_lock();
	old = rodp_mcg_find(rdev, gid);
	if (old && rodp_mcg_index(old, qp) >= 0)
		goto out_unlock;	/* attached already */
	err = -ENOMEM;
	if (old ? old->nqp >= RODP_MAX_MCAST_QP :
		  rdev->nmcg >= RODP_MAX_MCAST_GRP)
		goto out_unlock;
	g = rodp_mcg_alloc(gid, old ? old->nqp + 1 : 1);
	if (!g)
		goto out_unlock;
	if (old) {
		memcpy(g->qp, old->qp, old->nqp * sizeof(old->qp[0]));
		g->nqp = old->nqp;
	} else {
		err = rodp_net_mc(rdev, gid, true);
		if (err) {
			kfree(g);
			goto out_unlock;
		}
	}
	g->qp[g->nqp++] = qp;
	if (old) {
		list_replace_rcu(&old->list, &g->list);
		kfree_rcu(old, rcu);
	} else {
		list_add_rcu(&g->list, &rdev->mcgs);
		rdev->nmcg++;
	}
	qp->mcast_n++;
	err = 0;
out_unlock:
	rtnl_unlock();
	return err;
}

/* Take @qp out of group @old; under rtnl_lock. */
static int rodp_mcg_remove(struct rodp_dev *rdev, struct rodp_mcg *old,
			   struct rodp_qp *qp)
{
	struct rodp_mcg *g;
	int i = rodp_mcg_index(old, qp);

	ASSERT_RTNL();
	if (i < 0)
		return -EINVAL;
	if (old->nqp == 1) {
		list_del_rcu(&old->list);
		rdev->nmcg--;
		/* Leaving fails only with the netdev gone: left already. */
		rodp_net_mc(rdev, &old->gid, false);
	} else {
		g = rodp_mcg_alloc(&old->gid, old->nqp - 1);
		if (!g)
			return -ENOMEM;
		memcpy(g->qp, old->qp, i * sizeof(old->qp[0]));
		memcpy(g->qp + i, old->qp + i + 1,
		       (old->nqp - i - 1) * sizeof(old->qp[0]));
		g->nqp = old->nqp - 1;
		list_replace_rcu(&old->list, &g->list);
	}
	kfree_rcu(old, rcu);
	qp->mcast_n--;
	return 0;
}

static int rodp_detach_mcast(struct ib_qp *ibqp, union ib_gid *ibgid,
			     u16 lid)
{
	const struct in6_addr *gid = (const struct in6_addr *)ibgid->raw;
	struct rodp_qp *qp = to_rqp(ibqp);
	struct rodp_mcg *g;
	int err = -EINVAL;

	rtnl_lock();
	g = rodp_mcg_find(qp->rdev, gid);
	if (g)
		err = rodp_mcg_remove(qp->rdev, g, qp);
	rtnl_unlock();
	return err;
}

/**
 * rodp_mcast_qp_gone - detach a QP being destroyed from every group
 * @qp: the queue pair
 *
 * The RDMA core detaches a user QP's groups before destroying it; this
 * covers a consumer that did not.  Process context, no rodp lock held.
 */
void rodp_mcast_qp_gone(struct rodp_qp *qp)
{
	struct rodp_mcg *g, *next;

	if (!READ_ONCE(qp->mcast_n))
		return;
	rtnl_lock();
	list_for_each_entry_safe(g, next, &qp->rdev->mcgs, list) {
		/* Without memory for a copy: stop its delivery at least. */
		if (rodp_mcg_remove(qp->rdev, g, qp) == -ENOMEM)
			WRITE_ONCE(g->qp[rodp_mcg_index(g, qp)], NULL);
	}
	rtnl_unlock();
	synchronize_rcu();
}

/**
 * rodp_mcast_qps_rcu - the QPs a multicast datagram goes to
 * @rdev: the device that received it
 * @skb: the datagram, its network header set (the group is its
 *	destination address)
 * @qps: filled with the QPs attached to the group, a reference held on
 *	each (the caller drops it with rodp_qp_put())
 * @max: room in @qps
 *
 * Caller holds the RCU read lock; any context.
 *
 * Return: the number of QPs in @qps.
 */
int rodp_mcast_qps_rcu(struct rodp_dev *rdev, const struct sk_buff *skb,
		       struct rodp_qp **qps, int max)
{
	struct in6_addr gid;
	struct rodp_mcg *g;
	struct rodp_qp *qp;
	int i, n = 0;

	if (skb->protocol == htons(ETH_P_IPV6))
		gid = ipv6_hdr(skb)->daddr;
	else
		ipv6_addr_set_v4mapped(ip_hdr(skb)->daddr, &gid);
	g = rodp_mcg_find(rdev, &gid);
	if (!g)
		return 0;
	for (i = 0; i < g->nqp && n < max; i++) {
		qp = READ_ONCE(g->qp[i]);
		if (qp && refcount_inc_not_zero(&qp->users))
			qps[n++] = qp;
	}
	return n;
}

const struct ib_device_ops rodp_mcast_ops = {
	.attach_mcast = rodp_attach_mcast,
	.detach_mcast = rodp_detach_mcast,
};
