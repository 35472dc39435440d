// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: host-local delivery between namespaces.
 *
 * A packet from a rodp device to a rodp device of another network
 * namespace of this host crosses a veth, usually a bridge and another
 * veth: a transmit, a bridge lookup and a receive per packet, all to put
 * the same bytes into the same kernel.  When nothing on that way could see,
 * hold, change or drop the packet, rodp hands it to the peer device at
 * once, as it does for an address of its own namespace (rodp_out_local()):
 * the same packet, the same receive path, the same transport, so PSNs,
 * ACKs, NAKs, RNR, retries and errors are exactly those of the wire.
 *
 * The way qualifies when, per packet:
 *  - the module parameter packet_path is off (on: every packet goes
 *    through the network stack, for comparison and tests);
 *  - the route is a unicast route without a gateway, IPsec or tunnel,
 *    out of a veth whose peer is either the receiving rodp device's netdev
 *    or a port of a bridge one of whose other ports is a veth whose peer
 *    is (checked against the neighbour entry's hardware address, so the
 *    peer is who the network would deliver to);
 *  - that neighbour entry is valid (the first packets, before ARP or
 *    neighbour discovery answered, take the network and resolve it);
 *  - every device on the way is up with carrier, has no packet tap
 *    (tcpdump), no XDP program, no tc ingress, clsact or tcx program,
 *    no netfilter netdev hook, and every device that transmits on the
 *    way has no queueing discipline (noqueue, the default of veths);
 *  - no netfilter hook of the families the packet would meet in each
 *    namespace: IPv4 or IPv6 LOCAL_OUT and POST_ROUTING in the sender's,
 *    the bridge family's in the bridge's (br_netfilter registers there
 *    too), PRE_ROUTING and LOCAL_IN in the receiver's; but for security
 *    modules' labelling hooks (rodp_nf_clear());
 *  - the bridge filters no VLANs and neither port is isolated (a port
 *    that STP keeps blocking is not seen: a limit).
 * Anything else, and packets take the network: a netem qdisc, a capture,
 * a firewall rule.  Packets handed on this way carry no ICRC (nothing can
 * corrupt them) and are not counted by the netdevs.
 */

#include <linux/etherdevice.h>
#include <linux/if_bridge.h>
#include <linux/inetdevice.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <net/addrconf.h>
#include <net/ip6_route.h>
#include <net/neighbour.h>
#include <net/route.h>
#include <net/sch_generic.h>

#include "rodp.h"

static bool packet_path;
module_param(packet_path, bool, 0644);
MODULE_PARM_DESC(packet_path,
		 "send every packet through the network stack, even to a rodp device of another namespace of this host (default: off)");

/*
 * Whether the netfilter hooks of one family @h at @hook would leave a
 * packet of rodp's alone: there are none but security modules' labelling
 * hooks, which the kernel registers in every namespace at the priorities
 * kept for them (AppArmor's and SELinux's POST_ROUTING, SELinux's
 * LOCAL_OUT: NF_IP_PRI_SELINUX_FIRST and _LAST, the same numbers for
 * IPv6) and which pass a packet without a socket or a security mark, as
 * rodp's are.  iptables and nftables tables and conntrack sit at other
 * priorities.
 */
static bool rodp_nf_clear(struct nf_hook_entries __rcu *const *h,
			  unsigned int hook)
{
	const struct nf_hook_entries *e = rcu_dereference(h[hook]);
	struct nf_hook_ops **ops;
	unsigned int i;

	if (!e)
		return true;
	ops = nf_hook_entries_get_hook_ops(e);
	for (i = 0; i < e->num_hook_entries; i++)
		if (ops[i]->priority != NF_IP_PRI_SELINUX_FIRST &&
		    ops[i]->priority != NF_IP_PRI_SELINUX_LAST)
			return false;
	return true;
}

/* Nothing on @dev can see, hold or drop a packet; @tx: it transmits one. */
static bool rodp_direct_dev_ok(struct net_device *dev, bool tx)
{
	struct netdev_queue *iq;
	unsigned int i;

	if (!netif_running(dev) || !netif_carrier_ok(dev) ||
	    dev_nit_active(dev) || dev_xdp_prog_count(dev))
		return false;
	iq = rcu_dereference(dev->ingress_queue);
	if (iq && rcu_access_pointer(iq->qdisc) != &noop_qdisc)
		return false;	/* ingress or clsact */
	if (rodp_dev_tcx_hooked(dev))
		return false;
#ifdef CONFIG_NETFILTER_INGRESS
	if (rcu_access_pointer(dev->nf_hooks_ingress))
		return false;
#endif
#ifdef CONFIG_NETFILTER_EGRESS
	if (rcu_access_pointer(dev->nf_hooks_egress))
		return false;
#endif
	if (!tx)
		return true;
	for (i = 0; i < dev->real_num_tx_queues; i++) {
		struct Qdisc *q;

		q = rcu_dereference(netdev_get_tx_queue(dev, i)->qdisc);
		if (!q || q->enqueue)	/* anything but noqueue */
			return false;
	}
	return true;
}

/*
 * The netfilter hooks a packet meets in namespace @net at @first and
 * @second (LOCAL_OUT and POST_ROUTING leaving it, PRE_ROUTING and
 * LOCAL_IN entering it), of its family.
 */
static bool rodp_direct_nf_ok(struct net *net, bool ipv6,
			      unsigned int first, unsigned int second)
{
	struct nf_hook_entries __rcu **h = ipv6 ? net->nf.hooks_ipv6 :
						  net->nf.hooks_ipv4;

	return rodp_nf_clear(h, first) && rodp_nf_clear(h, second);
}

/* The bridge family's hooks in namespace @net. */
static bool rodp_direct_bridge_nf_ok(struct net *net)
{
#ifdef CONFIG_NETFILTER_FAMILY_BRIDGE
	unsigned int i;

	for (i = 0; i < NF_INET_NUMHOOKS; i++)
		if (rcu_access_pointer(net->nf.hooks_bridge[i]))
			return false;
#endif
	return true;
}

/*
 * The other end of veth @dev, or NULL when @dev is not a veth.  veth is
 * the one device with ndo_get_peer_dev here that hands packets to its
 * peer unchanged; netkit (which also has it) runs BPF programs.
 */
static struct net_device *rodp_veth_peer(struct net_device *dev)
{
	const struct rtnl_link_ops *ops = dev->rtnl_link_ops;

	if (!ops || strcmp(ops->kind, "veth") ||
	    !dev->netdev_ops->ndo_get_peer_dev)
		return NULL;
	return dev->netdev_ops->ndo_get_peer_dev(dev);
}

/* Whether @dev, a rodp device's netdev, has address @daddr. */
static bool rodp_direct_owns(struct net_device *dev, const void *daddr,
			     bool ipv6)
{
	if (ipv6)
		return IS_ENABLED(CONFIG_IPV6) &&
		       ipv6_chk_addr(dev_net(dev), daddr, dev, 0);
	return __ip_dev_find(dev_net(dev), *(const __be32 *)daddr,
			     false) == dev;
}

struct rodp_direct_find {
	struct net_device *from;	/* the sender's bridge port */
	const u8 *ha;			/* the neighbour's hardware address */
	struct net_device *port;	/* found: the receiver's port */
	struct net_device *ndev;	/* and the receiver's netdev */
};

/* netdev_walk_all_lower_dev_rcu() callback: is @port the way to f->ha? */
static int rodp_direct_port(struct net_device *port,
			    struct netdev_nested_priv *priv)
{
	struct rodp_direct_find *f = priv->data;
	struct net_device *peer;

	if (port == f->from)
		return 0;
	peer = rodp_veth_peer(port);
	if (!peer || !ether_addr_equal(peer->dev_addr, f->ha))
		return 0;
	f->port = port;
	f->ndev = peer;
	return 1;
}

#if IS_ENABLED(CONFIG_BRIDGE)
/*
 * A bridge port that is not isolated.  Its STP state is the bridge's
 * private business (br_port_get_stp_state() wants RTNL): a port that STP
 * keeps from forwarding is not seen here.
 */
static bool rodp_direct_port_ok(struct net_device *port)
{
	return !br_port_flag_is_set(port, BR_ISOLATED);
}

/*
 * Across bridge port @from: the receiver's netdev, if the bridge would
 * take the packet to a veth whose peer has hardware address @ha and
 * nothing on the way stands in it; else NULL.
 */
static struct net_device *rodp_direct_bridge(struct net_device *from,
					     const u8 *ha)
{
	struct rodp_direct_find f = { .from = from, .ha = ha };
	struct netdev_nested_priv priv = { .data = &f };
	struct net_device *br;

	if (!netif_is_bridge_port(from))
		return NULL;
	br = netdev_master_upper_dev_get_rcu(from);
	if (!br || !netif_is_bridge_master(br) || !netif_running(br) ||
	    br_vlan_enabled(br) || !rodp_direct_bridge_nf_ok(dev_net(br)))
		return NULL;
	netdev_walk_all_lower_dev_rcu(br, rodp_direct_port, &priv);
	if (!f.port || !rodp_direct_port_ok(from) ||
	    !rodp_direct_port_ok(f.port) ||
	    !rodp_direct_dev_ok(f.port, true))
		return NULL;
	return f.ndev;
}
#else
static struct net_device *rodp_direct_bridge(struct net_device *from,
					     const u8 *ha)
{
	return NULL;
}
#endif

/* The hardware address the route's neighbour entry has for @daddr. */
static bool rodp_direct_neigh(struct dst_entry *dst, const void *daddr,
			      u8 *ha)
{
	struct neighbour *n = dst_neigh_lookup(dst, daddr);
	bool valid;

	if (!n)
		return false;
	valid = READ_ONCE(n->nud_state) & NUD_VALID;
	if (valid)
		neigh_ha_snapshot((char *)ha, n, dst->dev);
	neigh_release(n);
	return valid;
}

/**
 * rodp_direct_peer - the rodp device of this host a packet may be handed to
 * @rdev: the sending device
 * @path: the packet's path (addresses)
 * @dst: its route, not to an address of the sender's namespace
 *
 * Decides, for this packet, whether the way to the peer is one where the
 * network could not make a difference (see the top of this file).
 * Context: BHs off, inside rcu_read_lock().
 *
 * Return: the receiving device, valid until rcu_read_unlock(), or NULL
 * when the packet must go through the network.
 */
struct rodp_dev *rodp_direct_peer(struct rodp_dev *rdev,
				  const struct rodp_path *path,
				  struct dst_entry *dst)
{
	const void *daddr = path->ipv6 ? (const void *)&path->daddr6 :
					 (const void *)&path->daddr;
	struct net_device *ndev, *peer, *rx;
	u8 ha[MAX_ADDR_LEN];

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "no RCU read side");
	if (READ_ONCE(packet_path) || dst_xfrm(dst) || dst->lwtstate)
		return NULL;
	if (path->ipv6) {
		struct rt6_info *rt = (struct rt6_info *)dst;

		if (ipv6_addr_is_multicast(&path->daddr6) ||
		    (rt->rt6i_flags & RTF_GATEWAY))
			return NULL;
	} else {
		struct rtable *rt = (struct rtable *)dst;

		if (rt->rt_type != RTN_UNICAST || rt->rt_uses_gateway)
			return NULL;
	}
	ndev = dst->dev;
	if (ndev->addr_len != ETH_ALEN)
		return NULL;
	peer = rodp_veth_peer(ndev);
	if (!peer || !rodp_direct_neigh(dst, daddr, ha))
		return NULL;
	if (!rodp_direct_dev_ok(ndev, true) || !rodp_direct_dev_ok(peer, false) ||
	    !rodp_direct_nf_ok(dev_net(ndev), path->ipv6, NF_INET_LOCAL_OUT,
			       NF_INET_POST_ROUTING))
		return NULL;
	if (ether_addr_equal(peer->dev_addr, ha))
		rx = peer;		/* a veth pair, no bridge */
	else
		rx = rodp_direct_bridge(peer, ha);
	if (!rx || !rodp_direct_dev_ok(rx, false) ||
	    !rodp_direct_nf_ok(dev_net(rx), path->ipv6, NF_INET_PRE_ROUTING,
			       NF_INET_LOCAL_IN) ||
	    !rodp_direct_owns(rx, daddr, path->ipv6))
		return NULL;
	return rodp_dev_lookup_rcu(rx);
}
