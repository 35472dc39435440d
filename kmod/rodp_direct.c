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
 * a firewall rule.
 *
 * The way itself (the veth peer, the bridge and its port, the neighbour,
 * the address's owner) is walked once per path and CPU and kept until a
 * netdev, neighbour or address event bumps a generation (struct
 * rodp_direct_way); what no notifier tells of (carrier and running state
 * aside: taps, qdiscs, programs, hooks, a bridge's VLAN filtering and
 * isolated ports) is checked for every packet.
 *
 * Packets handed on this way carry no ICRC (nothing can corrupt them)
 * and are not counted by the netdevs.
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
#include <net/netevent.h>
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
 * Across bridge port @from: the receiver's netdev, if the bridge has a
 * port that is a veth whose peer has hardware address @ha (that port in
 * @port, the bridge in @br); else NULL.
 */
static struct net_device *rodp_direct_bridge(struct net_device *from,
					     const u8 *ha,
					     struct net_device **br,
					     struct net_device **port)
{
	struct rodp_direct_find f = { .from = from, .ha = ha };
	struct netdev_nested_priv priv = { .data = &f };

	if (!netif_is_bridge_port(from))
		return NULL;
	*br = netdev_master_upper_dev_get_rcu(from);
	if (!*br || !netif_is_bridge_master(*br))
		return NULL;
	netdev_walk_all_lower_dev_rcu(*br, rodp_direct_port, &priv);
	*port = f.port;
	return f.ndev;
}

/*
 * Whether bridge @br takes a packet from port @from to port @port as it
 * is: it forwards, filters no VLANs and has no hooks of its own, and
 * neither port is isolated.  A port's STP state is the bridge's private
 * business (br_port_get_stp_state() wants RTNL): a port that STP keeps
 * from forwarding is not seen here.
 */
static bool rodp_direct_bridge_ok(struct net_device *br,
				  struct net_device *from,
				  struct net_device *port)
{
	return netif_running(br) && !br_vlan_enabled(br) &&
	       rodp_direct_bridge_nf_ok(dev_net(br)) &&
	       !br_port_flag_is_set(from, BR_ISOLATED) &&
	       !br_port_flag_is_set(port, BR_ISOLATED) &&
	       rodp_direct_dev_ok(port, true);
}
#else
static struct net_device *rodp_direct_bridge(struct net_device *from,
					     const u8 *ha,
					     struct net_device **br,
					     struct net_device **port)
{
	return NULL;
}

static bool rodp_direct_bridge_ok(struct net_device *br,
				  struct net_device *from,
				  struct net_device *port)
{
	return false;
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
 * struct rodp_direct_way - the way to another namespace's rodp device, as
 * rodp_direct_find() walked it; one per path and CPU
 * @gen: rodp_direct_gen when it was walked, 0 for none
 * @out: the route's device, a veth
 * @peer: its other end
 * @br: the bridge @peer is a port of, or NULL when @peer is @rx
 * @port: the bridge's port towards @rx
 * @rx: the receiving rodp device's netdev
 *
 * The pointers may be followed only inside the RCU read side in which
 * @gen was found current: a netdev that goes away bumps the generation
 * (NETDEV_UNREGISTER) and is freed only after a grace period.
 */
struct rodp_direct_way {
	unsigned long gen;
	struct net_device *out;
	struct net_device *peer;
	struct net_device *br;
	struct net_device *port;
	struct net_device *rx;
};

/*
 * Bumped by every event that could change what a walk finds: a netdev's
 * (registration, addresses, uppers, state), a neighbour's, an IPv4 or
 * IPv6 address's, a path's new addresses.  Never 0.
 */
static atomic_long_t rodp_direct_gen = ATOMIC_LONG_INIT(1);

/**
 * rodp_direct_forget - forget every walked way (a path changed)
 */
void rodp_direct_forget(void)
{
	atomic_long_inc_return(&rodp_direct_gen);	/* fully ordered */
}

static int rodp_direct_event(struct notifier_block *nb, unsigned long event,
			     void *ptr)
{
	rodp_direct_forget();
	return NOTIFY_DONE;
}

static struct notifier_block rodp_direct_netdev_nb = {
	.notifier_call = rodp_direct_event,
};

static struct notifier_block rodp_direct_netevent_nb = {
	.notifier_call = rodp_direct_event,
};

static struct notifier_block rodp_direct_inetaddr_nb = {
	.notifier_call = rodp_direct_event,
};

static struct notifier_block rodp_direct_inet6addr_nb = {
	.notifier_call = rodp_direct_event,
};

/*
 * Whether @path's route @dst may lead to another namespace's device: a
 * unicast route on the link, without IPsec or a tunnel.
 */
static bool rodp_direct_route_ok(const struct rodp_path *path,
				 struct dst_entry *dst)
{
	if (dst_xfrm(dst) || dst->lwtstate ||
	    dst->dev->addr_len != ETH_ALEN)
		return false;
	if (path->ipv6) {
		struct rt6_info *rt = (struct rt6_info *)dst;

		return !ipv6_addr_is_multicast(&path->daddr6) &&
		       !(rt->rt6i_flags & RTF_GATEWAY);
	}
	return ((struct rtable *)dst)->rt_type == RTN_UNICAST &&
	       !((struct rtable *)dst)->rt_uses_gateway;
}

/*
 * Walk from route @dst's device to the rodp device's netdev that the
 * network would deliver @path's packets to on this host, through a veth
 * pair and maybe a bridge: into @way.  The slow part, done once per
 * generation.
 */
static bool rodp_direct_find(const struct rodp_path *path,
			     struct dst_entry *dst,
			     struct rodp_direct_way *way)
{
	const void *daddr = path->ipv6 ? (const void *)&path->daddr6 :
					 (const void *)&path->daddr;
	u8 ha[MAX_ADDR_LEN];

	way->out = dst->dev;
	way->peer = rodp_veth_peer(way->out);
	if (!way->peer || !rodp_direct_neigh(dst, daddr, ha))
		return false;
	way->br = NULL;
	way->port = NULL;
	if (ether_addr_equal(way->peer->dev_addr, ha))
		way->rx = way->peer;		/* a veth pair, no bridge */
	else
		way->rx = rodp_direct_bridge(way->peer, ha, &way->br,
					     &way->port);
	return way->rx && rodp_direct_owns(way->rx, daddr, path->ipv6);
}

/*
 * Whether nothing on @way can see, hold, change or drop a packet now:
 * what no notifier tells of (taps, qdiscs, hooks, a bridge's settings),
 * checked per packet.
 */
static bool rodp_direct_way_ok(const struct rodp_direct_way *way, bool ipv6)
{
	if (!rodp_direct_dev_ok(way->out, true) ||
	    !rodp_direct_dev_ok(way->peer, false) ||
	    !rodp_direct_nf_ok(dev_net(way->out), ipv6, NF_INET_LOCAL_OUT,
			       NF_INET_POST_ROUTING))
		return false;
	if (way->br && !rodp_direct_bridge_ok(way->br, way->peer, way->port))
		return false;
	return rodp_direct_dev_ok(way->rx, false) &&
	       rodp_direct_nf_ok(dev_net(way->rx), ipv6, NF_INET_PRE_ROUTING,
				 NF_INET_LOCAL_IN);
}

/**
 * rodp_direct_peer - the rodp device of this host a packet may be handed to
 * @rdev: the sending device
 * @path: the packet's path (addresses)
 * @dst: its route, not to an address of the sender's namespace
 *
 * Decides, for this packet, whether the way to the peer is one where the
 * network could not make a difference (see the top of this file).  The
 * way itself is walked once per generation and CPU.
 * Context: BHs off, inside rcu_read_lock().
 *
 * Return: the receiving device, valid until rcu_read_unlock(), or NULL
 * when the packet must go through the network.
 */
struct rodp_dev *rodp_direct_peer(struct rodp_dev *rdev,
				  const struct rodp_path *path,
				  struct dst_entry *dst)
{
	struct rodp_direct_way *way;
	unsigned long gen;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "no RCU read side");
	if (READ_ONCE(packet_path) || !rodp_direct_route_ok(path, dst))
		return NULL;
	way = this_cpu_ptr(path->direct);
	gen = atomic_long_read_acquire(&rodp_direct_gen);
	if (way->gen != gen || way->out != dst->dev) {
		way->gen = 0;
		if (!rodp_direct_find(path, dst, way))
			return NULL;
		way->gen = gen;
	}
	if (!rodp_direct_way_ok(way, path->ipv6))
		return NULL;
	return rodp_dev_lookup_rcu(way->rx);
}

/**
 * rodp_direct_ways_alloc - a path's walked ways, one per CPU, none yet
 * @gfp: allocation flags
 *
 * Return: the ways, or NULL.
 */
struct rodp_direct_way __percpu *rodp_direct_ways_alloc(gfp_t gfp)
{
	return alloc_percpu_gfp(struct rodp_direct_way, gfp);
}

/**
 * rodp_direct_ways_free - free what rodp_direct_ways_alloc() gave
 * @ways: the ways, or NULL
 */
void rodp_direct_ways_free(struct rodp_direct_way __percpu *ways)
{
	free_percpu(ways);
}

/**
 * rodp_direct_init - listen for what changes the ways (module init)
 *
 * Return: 0 or a negative errno.
 */
int rodp_direct_init(void)
{
	int err;

	err = register_netdevice_notifier(&rodp_direct_netdev_nb);
	if (err)
		return err;
	err = register_netevent_notifier(&rodp_direct_netevent_nb);
	if (err)
		goto err_netdev;
	err = register_inetaddr_notifier(&rodp_direct_inetaddr_nb);
	if (err)
		goto err_netevent;
	err = register_inet6addr_notifier(&rodp_direct_inet6addr_nb);
	if (err)
		goto err_inetaddr;
	return 0;

err_inetaddr:
	unregister_inetaddr_notifier(&rodp_direct_inetaddr_nb);
err_netevent:
	unregister_netevent_notifier(&rodp_direct_netevent_nb);
err_netdev:
	unregister_netdevice_notifier(&rodp_direct_netdev_nb);
	return err;
}

/**
 * rodp_direct_exit - stop listening (module exit)
 */
void rodp_direct_exit(void)
{
	unregister_inet6addr_notifier(&rodp_direct_inet6addr_nb);
	unregister_inetaddr_notifier(&rodp_direct_inetaddr_nb);
	unregister_netevent_notifier(&rodp_direct_netevent_nb);
	unregister_netdevice_notifier(&rodp_direct_netdev_nb);
}
