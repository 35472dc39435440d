// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: RoCEv2 UDP tunnel sockets, one pair (IPv4, IPv6) per network
 * namespace that has a rodp device, and the receive entry point.
 *
 * The sockets are opened by the first device of a namespace and closed by
 * its last.  Receive runs in softirq: it only finds the device and hands
 * the packet on; all protocol work happens in process context.
 */

#include <linux/igmp.h>
#include <linux/inetdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <net/addrconf.h>
#include <net/ip.h>
#include <net/ip6_route.h>
#include <net/ipv6.h>
#include <net/netns/generic.h>
#include <net/route.h>
#include <net/udp_tunnel.h>

#include <rcore/icrc.h>
#include "rodp.h"

static unsigned int rodp_net_id __read_mostly;

/*
 * Packets received in a softirq that rodp_xmit() itself runs, from its
 * local_bh_enable() (a veth pair into another namespace of this host
 * hands a packet on right there), are caught: the sending task runs
 * their QP sides once it is back in process context, as it does for
 * loopback, instead of waking their work items.  A task marks the window
 * with a struct rodp_catch on its stack, preemption off (not on
 * PREEMPT_RT, whose network locks sleep).
 */
#define RODP_CATCH_MAX	4

struct rodp_catch {
	struct rodp_catch *prev;
	unsigned int n;
	struct rodp_eng *e[RODP_CATCH_MAX];	/* QP references held */
};

static DEFINE_PER_CPU(struct rodp_catch *, rodp_catch_cur);

/* A side with a packet queued, in softirq: caught, or kicked. */
static void rodp_rx_wake(struct rodp_eng *e)
{
	struct rodp_catch *c = this_cpu_read(rodp_catch_cur);
	unsigned int i;

	if (c) {
		for (i = 0; i < c->n; i++) {
			if (c->e[i] == e) {
				rodp_qp_put(e->qp);
				return;
			}
		}
		if (c->n < RODP_CATCH_MAX) {
			c->e[c->n++] = e;
			return;
		}
	}
	rodp_eng_kick(e);
	rodp_qp_put(e->qp);
}

static struct rodp_net *rodp_net(struct net *net)
{
	return net_generic(net, rodp_net_id);
}

/*
 * A datagram to a multicast group (destination QPN 0xFFFFFF): a copy for
 * each QP of the device attached to the group (rodp_mcast.c), queued for
 * its responder as rodp_rx_queue() does for one.  Consumes @skb.
 */
static void rodp_rx_mcast(struct rodp_dev *rdev, struct sk_buff *skb,
			  bool local)
{
	struct rodp_qp *qps[RODP_MAX_MCAST_QP];
	struct sk_buff *c;
	struct rodp_eng *e;
	int i, n;

	rcu_read_lock();
	n = rodp_mcast_qps_rcu(rdev, skb, qps, ARRAY_SIZE(qps));
	rcu_read_unlock();
	if (!n) {
		rodp_count(rdev, RODP_CNT_RX_DROP_NOQP);
		kfree_skb(skb);
		return;
	}
	for (i = 0; i < n; i++) {
		e = &qps[i]->eng[RODP_RESP];
		c = i == n - 1 ? skb : skb_clone(skb, GFP_ATOMIC);
		if (!c || skb_queue_len(&e->rxq) >= RODP_RXQ_MAX) {
			rodp_count(rdev, RODP_CNT_RX_DROP_FULL);
			kfree_skb(c);
			rodp_qp_put(qps[i]);
			continue;
		}
		RODP_SKB_CB(c)->local = local;
		skb_queue_tail(&e->rxq, c);
		rodp_rx_wake(e);
	}
}

/*
 * Hand a packet to its QP: to the requester for a response, to the
 * responder otherwise.  @skb->data is at the BTH, the network header is
 * set; @local: from rodp_xmit() on this host (struct rodp_skb_cb).  Any
 * context.  Return the side, its QP with a reference held (the caller
 * kicks or runs the side, and puts the QP), or NULL when the packet was
 * dropped.
 */
static struct rodp_eng *rodp_rx_queue(struct rodp_dev *rdev,
				      struct sk_buff *skb, bool local)
{
	struct rodp_eng *e;
	struct rodp_qp *qp;
	u32 qpn;

	/* From the network: the IP layer's control block, not ours. */
	if (!local)
		memset(RODP_SKB_CB(skb), 0, sizeof(struct rodp_skb_cb));
	rodp_count_n(rdev, RODP_CNT_RX_PKTS,
		     max_t(u32, RODP_SKB_CB(skb)->train, 1));
	if (!pskb_may_pull(skb, RCORE_BTH_LEN)) {
		rodp_count(rdev, RODP_CNT_RX_DROP_HDR);
		goto drop;
	}
	/*
	 * The P_Key check: the table holds only the default P_Key (0xffff,
	 * a full member), which any P_Key with the same low 15 bits
	 * matches.  QP1 takes no other either.
	 */
	if ((get_unaligned_be16(skb->data + 2) ^ RCORE_DEFAULT_PKEY) &
	    RCORE_PKEY_KEY_MASK) {
		rodp_count(rdev, RODP_CNT_RX_DROP_HDR);
		goto drop;
	}
	qpn = get_unaligned_be32(skb->data + 4) & RCORE_PSN_MAX;
	if (qpn == RCORE_QPN_MASK) {
		rodp_rx_mcast(rdev, skb, local);
		return NULL;
	}
	qp = rodp_qp_get_rcu(rdev, qpn);
	if (!qp) {
		rodp_count(rdev, RODP_CNT_RX_DROP_NOQP);
		goto drop;
	}
	e = &qp->eng[rodp_is_response(skb->data[0]) ? RODP_REQ : RODP_RESP];
	if (skb_queue_len(&e->rxq) >= RODP_RXQ_MAX) {
		rodp_count(rdev, RODP_CNT_RX_DROP_FULL);
		rodp_qp_put(qp);
		goto drop;
	}
	RODP_SKB_CB(skb)->local = local;
	skb_queue_tail(&e->rxq, skb);
	return e;
drop:
	kfree_skb(skb);
	return NULL;
}

/* The rodp device of namespace @net that owns address @addr, or NULL. */
static struct rodp_dev *rodp_dev_by_addr_rcu(struct net *net, __be32 addr)
{
	struct net_device *ndev = __ip_dev_find(net, addr, false);

	return ndev ? rodp_dev_lookup_rcu(ndev) : NULL;
}

/* The same for an IPv6 address. */
static struct rodp_dev *rodp_dev_by_addr6_rcu(struct net *net,
					      const struct in6_addr *addr)
{
#if IS_ENABLED(CONFIG_IPV6)
	struct net_device *ndev = ipv6_dev_find(net, addr, NULL);

	return ndev ? rodp_dev_lookup_rcu(ndev) : NULL;
#else
	return NULL;
#endif
}

/* UDP encap receive: softirq, RCU read side held by the UDP stack. */
static int rodp_udp_encap_recv(struct sock *sk, struct sk_buff *skb)
{
	struct rodp_dev *rdev;
	struct rodp_eng *e;
	bool v4 = skb->protocol == htons(ETH_P_IP);

	if (!v4 && skb->protocol != htons(ETH_P_IPV6)) {
		kfree_skb(skb);
		return 0;
	}
	rdev = rodp_dev_lookup_rcu(skb->dev);
	if (!rdev && (skb->dev->flags & IFF_LOOPBACK))
		rdev = v4 ? rodp_dev_by_addr_rcu(sock_net(sk),
						 ip_hdr(skb)->daddr) :
			    rodp_dev_by_addr6_rcu(sock_net(sk),
						  &ipv6_hdr(skb)->daddr);
	if (!rdev) {
		kfree_skb(skb);
		return 0;
	}
	__skb_pull(skb, sizeof(struct udphdr));
	e = rodp_rx_queue(rdev, skb, false);
	if (e)
		rodp_rx_wake(e);
	return 0;
}

/*
 * The IPv4 route of a path, from the path's cache or the FIB; @local
 * says whether the peer's address is one of this host's.
 */
static struct dst_entry *rodp_route4(struct rodp_dev *rdev,
				     struct rodp_path *path, bool *local)
{
	struct flowi4 fl4 = {
		.flowi4_proto = IPPROTO_UDP,
		.daddr = path->daddr,
		.saddr = path->saddr,
		RODP_FLOWI4_TOS(path->tos),
		/* A group is reached through the GID's netdev. */
		.flowi4_oif = ipv4_is_multicast(path->daddr) ? path->oif : 0,
	};
	struct rtable *rt;
	__be32 saddr;

	rt = dst_cache_get_ip4(&path->dst_cache, &saddr);
	if (!rt) {
		rt = ip_route_output_key(rdev->net, &fl4);
		if (IS_ERR(rt))
			return ERR_CAST(rt);
		dst_cache_set_ip4(&path->dst_cache, &rt->dst, fl4.saddr);
	}
	*local = rt->rt_type == RTN_LOCAL;
	return &rt->dst;
}

/* The same for IPv6. */
static struct dst_entry *rodp_route6(struct rodp_dev *rdev,
				     struct rodp_path *path, bool *local)
{
#if IS_ENABLED(CONFIG_IPV6)
	struct flowi6 fl6 = {
		.flowi6_proto = IPPROTO_UDP,
		/* The GID's netdev: link-local peers need it. */
		.flowi6_oif = path->oif,
		.daddr = path->daddr6,
		.saddr = path->saddr6,
	};
	struct net *net = rdev->net;
	struct dst_entry *dst;
	struct socket *sock;

	dst = dst_cache_get_ip6(&path->dst_cache, &fl6.saddr);
	if (!dst) {
		sock = rcu_dereference_bh(rodp_net(net)->sk6);
		if (!sock)
			return ERR_PTR(-EAFNOSUPPORT);
		dst = rodp_ip6_dst_lookup_flow(net, sock->sk, &fl6);
		if (IS_ERR(dst))
			return dst;
		dst_cache_set_ip6(&path->dst_cache, dst, &fl6.saddr);
	}
	*local = ((struct rt6_info *)dst)->rt6i_flags & RTF_LOCAL;
	return dst;
#else
	return ERR_PTR(-EAFNOSUPPORT);
#endif
}

/*
 * Hand a packet straight to @peer, a rodp device of this host, without
 * the IP stack; RCU read side held.  Return the receiving side as
 * rodp_rx_queue() does.
 */
static struct rodp_eng *rodp_hand_to(struct rodp_dev *rdev,
				     struct rodp_dev *peer, struct sk_buff *skb)
{
	u32 n = max_t(u32, RODP_SKB_CB(skb)->train, 1);

	__skb_pull(skb, skb_transport_offset(skb) + sizeof(struct udphdr));
	rodp_count_n(rdev, RODP_CNT_TX_LOCAL, n);
	/* Fragments: the sender's MR pages (rodp_xmit(), a train). */
	if (skb_is_nonlinear(skb))
		rodp_count_n(rdev, RODP_CNT_TX_ZCOPY, n);
	return rodp_rx_queue(peer, skb, true);
}

/**
 * rodp_path_peer - where a path leads now: a rodp device of this host,
 * or the network
 * @rdev: the sending device
 * @path: the path
 * @peer: set to the rodp device of this host the path leads to (the one
 *	that owns the peer's address, or another namespace's reached
 *	directly: rodp_direct_peer()), or NULL
 * @dst: set, when @peer is NULL, to the route into the network
 *
 * As rodp_out() decides for each packet.  BHs off, RCU read side held
 * (@peer is good while it is).
 *
 * Return: 0, or the error of a path that leads nowhere (no route; an
 * address of this host that no rodp device owns).
 */
int rodp_path_peer(struct rodp_dev *rdev, struct rodp_path *path,
		   struct rodp_dev **peer, struct dst_entry **dst)
{
	struct dst_entry *d;
	bool local;

	*peer = NULL;
	*dst = NULL;
	d = path->ipv6 ? rodp_route6(rdev, path, &local) :
			 rodp_route4(rdev, path, &local);
	if (IS_ERR(d))
		return PTR_ERR(d);
	if (local) {
		dst_release(d);
		*peer = path->ipv6 ?
			rodp_dev_by_addr6_rcu(rdev->net, &path->daddr6) :
			rodp_dev_by_addr_rcu(rdev->net, path->daddr);
		return *peer ? 0 : -EHOSTUNREACH;
	}
	/* Another namespace of this host, maybe (rodp_direct.c). */
	*peer = rodp_direct_peer(rdev, path, d);
	if (*peer)
		dst_release(d);
	else
		*dst = d;
	return 0;
}

static bool rxe_flush_icrc;
module_param(rxe_flush_icrc, bool, 0644);
MODULE_PARM_DESC(rxe_flush_icrc,
		 "send RDMA FLUSH with the ICRC rxe computes (its headers twice), which rxe (6.2 to 7.2 at least) wants, instead of IBA's; received FLUSHes are taken in either form (default: off)");

/* Is the packet at @ip (@len bytes, its ICRC excluded) an RC FLUSH? */
static bool rodp_pkt_is_flush(const u8 *ip, unsigned int len)
{
	int bth = rcore_icrc_bth_offset(ip, len);

	return bth >= 0 && ip[bth] == RCORE_RC_FLUSH;
}

/* A packet (IP header at skb->data) onto the network: its ICRC, out. */
static void rodp_out_wire(struct rodp_dev *rdev, const struct rodp_path *path,
			  struct sk_buff *skb, struct dst_entry *dst)
{
	unsigned int len = skb->len - RCORE_ICRC_LEN;
	u32 icrc;
	int ret;

	if (unlikely(READ_ONCE(rxe_flush_icrc)) &&
	    rodp_pkt_is_flush(skb->data, len))
		rcore_icrc_calc_rxe_flush(skb->data, len, &icrc);
	else
		rcore_icrc_calc(skb->data, len, &icrc);
	rcore_icrc_put(skb_tail_pointer(skb) - RCORE_ICRC_LEN, icrc);
	skb_dst_set(skb, dst);
	if (IS_ENABLED(CONFIG_IPV6) && path->ipv6) {
		memset(IP6CB(skb), 0, sizeof(*IP6CB(skb)));
		ret = ip6_local_out(rdev->net, NULL, skb);
	} else {
		memset(IPCB(skb), 0, sizeof(*IPCB(skb)));
		ret = ip_local_out(rdev->net, NULL, skb);
	}
	if (unlikely(net_xmit_eval(ret)))
		rodp_count(rdev, RODP_CNT_TX_DROP);
}

static void rodp_push_ip4(struct rodp_qp *qp, const struct rodp_path *path,
			  struct sk_buff *skb);
static void rodp_push_ip6(const struct rodp_path *path, struct sk_buff *skb);

/*
 * The largest skb head taken as a page fragment: the headers of a full
 * train (RODP_TRAIN_MAX x RODP_TRAIN_HDR_MAX) with their room fit.
 */
#define RODP_FRAG_HEAD_MAX	(2 * PAGE_SIZE)

/*
 * An skb with @size bytes for headers and data, none of them set.  Its
 * head is a page fragment (netdev_alloc_frag(), GFP_ATOMIC) when it is
 * at most RODP_FRAG_HEAD_MAX: a kmalloc()ed head is zeroed whole at
 * every allocation under init_on_alloc (on in Debian's kernels), only
 * for rodp to write it over; under QEMU's TCG that zeroing was 2.8 % of
 * a 2-byte write_lat's samples.  A larger head, or one when no fragment
 * is to be had at once (or only from the emergency reserves), comes from
 * alloc_skb(@gfp).
 */
static struct sk_buff *rodp_alloc_skb(unsigned int size, gfp_t gfp)
{
	unsigned int len = SKB_HEAD_ALIGN(size);
	struct sk_buff *skb;
	void *data;

	if (len > RODP_FRAG_HEAD_MAX)
		goto kmalloced;
	data = netdev_alloc_frag(len);
	if (!data)
		goto kmalloced;
	skb = build_skb(data, len);
	if (!skb) {
		skb_free_frag(data);
		goto kmalloced;
	}
	if (!skb->pfmemalloc)
		return skb;
	kfree_skb(skb);
kmalloced:
	return alloc_skb(size, gfp);
}

/*
 * A train (rodp_train_begin()) whose peer turned out not to be on this
 * host after all: cut into its packets, each with its own UDP and IP
 * headers and its ICRC, onto the network.  Consumes @skb and @dst.  A
 * packet that gets no skb is lost, as on a wire.
 */
static void rodp_out_train(struct rodp_qp *qp, struct rodp_path *path,
			   struct sk_buff *skb, struct dst_entry *dst)
{
	struct rodp_skb_cb *cb = RODP_SKB_CB(skb);
	struct rodp_dev *rdev = qp->rdev;
	struct net_device *ndev = rdev->ndev;
	struct udphdr uh = *udp_hdr(skb);
	struct rodp_train_pos pos;
	u32 hdr = skb_transport_offset(skb) + sizeof(uh);
	struct sk_buff *one;
	struct udphdr *ouh;
	u8 *p;

	/* Packets from the BTH on, as the receiver walks them. */
	__skb_pull(skb, hdr);
	for (; cb->next < cb->train && rodp_train_next(skb, &pos);
	     rodp_train_step(skb, &pos)) {
		one = rodp_alloc_skb(LL_RESERVED_SPACE(ndev) + hdr + pos.len,
				     GFP_ATOMIC);
		if (!one) {
			rodp_count(rdev, RODP_CNT_TX_DROP);
			continue;
		}
		skb_reserve(one, LL_RESERVED_SPACE(ndev) + hdr);
		p = skb_put(one, pos.len);
		if (cb->split) {
			memcpy(p, skb->data + cb->off, pos.hdr_len);
			p += pos.hdr_len;
			if (skb_copy_bits(skb, pos.pay, p, pos.pay_len)) {
				rodp_count(rdev, RODP_CNT_TX_DROP);
				kfree_skb(one);
				continue;
			}
			/* The pad, and the ICRC's place. */
			memset(p + pos.pay_len, 0,
			       pos.len - pos.hdr_len - pos.pay_len);
		} else {
			memcpy(p, skb->data + cb->off, pos.len);
		}
		ouh = skb_push(one, sizeof(*ouh));
		skb_reset_transport_header(one);
		*ouh = uh;
		ouh->len = htons(one->len);
		if (path->ipv6)
			rodp_push_ip6(path, one);
		else
			rodp_push_ip4(qp, path, one);
		rodp_out_wire(rdev, path, one, dst_clone(dst));
	}
	dst_release(dst);
	consume_skb(skb);
}

/*
 * Route and send a packet (headers built); BHs off.  Return the receiving
 * side when the peer is local, as rodp_rx_queue() does, else NULL.
 */
static struct rodp_eng *rodp_out(struct rodp_qp *qp, struct rodp_path *path,
				 struct sk_buff *skb)
{
	struct rodp_dev *rdev = qp->rdev;
	struct dst_entry *dst;
	struct rodp_dev *peer;
	struct rodp_eng *pe;
	int err;

	rcu_read_lock();
	err = rodp_path_peer(rdev, path, &peer, &dst);
	if (peer) {
		pe = rodp_hand_to(rdev, peer, skb);
		rcu_read_unlock();
		return pe;
	}
	rcu_read_unlock();
	if (err) {
		rodp_count(rdev, RODP_CNT_TX_DROP);
		kfree_skb(skb);
		return NULL;
	}
	if (RODP_SKB_CB(skb)->train) {
		rodp_out_train(qp, path, skb, dst);
		return NULL;
	}
	/*
	 * Only a packet that goes on a wire needs its ICRC; one built for a
	 * peer on this host whose way changed since keeps its payload in the
	 * sender's pages: copied here.
	 */
	if (skb_is_nonlinear(skb) && skb_linearize(skb)) {
		rodp_count(rdev, RODP_CNT_TX_DROP);
		dst_release(dst);
		kfree_skb(skb);
		return NULL;
	}
	rodp_out_wire(rdev, path, skb, dst);
	return NULL;
}

static void rodp_push_ip4(struct rodp_qp *qp, const struct rodp_path *path,
			  struct sk_buff *skb)
{
	struct iphdr *iph = skb_push(skb, sizeof(*iph));

	skb_reset_network_header(skb);
	iph->version = 4;
	iph->ihl = sizeof(*iph) >> 2;
	iph->tos = path->tos;
	iph->tot_len = htons(skb->len);
	iph->frag_off = htons(IP_DF);
	iph->ttl = path->ttl;
	iph->protocol = IPPROTO_UDP;
	iph->saddr = path->saddr;
	iph->daddr = path->daddr;
	iph->check = 0;
	__ip_select_ident(qp->rdev->net, iph, 1);
	skb->protocol = htons(ETH_P_IP);
}

static void rodp_push_ip6(const struct rodp_path *path, struct sk_buff *skb)
{
	struct ipv6hdr *ip6h = skb_push(skb, sizeof(*ip6h));

	skb_reset_network_header(skb);
	ip6_flow_hdr(ip6h, path->tos, 0);
	ip6h->payload_len = htons(skb->len - sizeof(*ip6h));
	ip6h->nexthdr = IPPROTO_UDP;
	ip6h->hop_limit = path->ttl;
	ip6h->saddr = path->saddr6;
	ip6h->daddr = path->daddr6;
	skb->protocol = htons(ETH_P_IPV6);
}

/*
 * A side of a local QP has a packet from @qp's side @from: it takes it
 * now, in this context, unless we are ourselves run by another side, or
 * @parallel (then its work item does, maybe on another CPU), or it is
 * running up our call chain (then its round sees it).  Drops the
 * reference rodp_rx_queue() took.
 */
static void rodp_hand_on(struct rodp_qp *qp, enum rodp_side from,
			 struct rodp_eng *pe, bool parallel)
{
	if (!rodp_eng_owned(pe)) {
		if (qp->eng[from].nested || parallel)
			rodp_eng_kick(pe);
		else
			rodp_eng_run_inline(pe, true);
	}
	rodp_qp_put(pe->qp);
}

/*
 * As rodp_hand_on(), but when @qp's side @from is running a round in this
 * task, once at the end of the round for all the packets it queued for
 * @pe (rodp_eng_handoff_run()): the receiving side takes a batch per
 * round, not one packet per round.
 */
static void rodp_hand_later(struct rodp_qp *qp, enum rodp_side from,
			    struct rodp_eng *pe, u32 npkts)
{
	struct rodp_eng *e = &qp->eng[from];
	unsigned int i;

	if (!rodp_eng_owned(e)) {
		rodp_hand_on(qp, from, pe, false);
		return;
	}
	e->handoff_pkts += npkts;
	for (i = 0; i < e->nhandoff; i++) {
		if (e->handoff[i] == pe) {
			rodp_qp_put(pe->qp);	/* it has one already */
			return;
		}
	}
	if (e->nhandoff == RODP_HANDOFF_MAX) {
		rodp_hand_on(qp, from, pe, false);
		return;
	}
	e->handoff[e->nhandoff++] = pe;
}

/**
 * rodp_eng_handoff_run - the end of a round: the sides it sent packets to
 * on this host take them
 * @e: the side whose round ends, run by the caller (its lock held)
 * @busy: @e has more to do
 *
 * A round that sent RODP_PIPELINE_PKTS or more and has more to do makes a
 * pipeline: the receiving sides run on their work items (on another CPU,
 * if there is one) while @e goes on, rather than here, one after the
 * other.  Not a UC sender's: nothing but this would pace it to its
 * receiver (no window, no ACKs), and a receiver whose work item waits for
 * a CPU would overflow its queue (RODP_RXQ_MAX; seen on loopback, an
 * ib_send_bw -c UC that lost 27 messages of 200).  A smaller round's
 * receivers run here at once (a latency test's one packet must not wait
 * for a worker to wake).
 */
void rodp_eng_handoff_run(struct rodp_eng *e, bool busy)
{
	bool parallel = busy && e->handoff_pkts >= RODP_PIPELINE_PKTS &&
			!rodp_qp_uc(e->qp) && num_online_cpus() > 1;
	struct rodp_eng *pe[RODP_HANDOFF_MAX];
	unsigned int i, n = e->nhandoff;

	lockdep_assert_held(&e->lock);

	memcpy(pe, e->handoff, n * sizeof(pe[0]));
	e->nhandoff = 0;
	e->handoff_pkts = 0;
	for (i = 0; i < n; i++)
		rodp_hand_on(e->qp, e->side, pe[i], parallel);
}

/*
 * The UDP source port of a QP's packets, by the RDMA core's convention
 * for RoCEv2 (rxe follows it too): from the path's GRH flow label or,
 * when that is 0, from a flow label both ends of the connection compute
 * alike from the two QP numbers.  Computed per packet from the
 * attributes as they are, so a modify that sets the path and the
 * destination QP together needs no ordering.
 */
static u16 rodp_udp_sport(const struct rodp_qp *qp, const struct rodp_tx *tx)
{
	if (tx->path)	/* a datagram: its own destination QP */
		return rdma_get_udp_sport(tx->path->flow_label,
					  qp->ibqp.qp_num, tx->pkt.bth.dqpn);
	return rdma_get_udp_sport(qp->attr.ah_attr.grh.flow_label,
				  qp->ibqp.qp_num, qp->attr.dest_qp_num);
}

/*
 * Payloads of this many bytes or more from pinned or ODP memory go to a
 * peer on this host by reference: page fragments of the sender's MR,
 * which the receiver copies from (one copy instead of two).  Smaller ones
 * are cheaper to copy.
 */
#define RODP_FRAGS_MIN		256
#define RODP_LOCAL_HINT_TTL	(HZ / 100)

/**
 * rodp_path_local - is @path's peer a rodp device of this host
 * @rdev: the sending device
 * @path: the path
 *
 * Loopback, or another namespace's device (rodp_direct.c), as rodp_out()
 * would find now; the answer is kept for RODP_LOCAL_HINT_TTL.  Only a
 * guess: rodp_out() decides again for each packet.  Process context.
 *
 * Return: true when the peer was on this host.
 */
bool rodp_path_local(struct rodp_dev *rdev, struct rodp_path *path)
{
	unsigned long now = jiffies;
	struct dst_entry *dst;
	struct rodp_dev *peer;
	bool hint;

	/* 0: never asked (jiffies start below 0: compare only when set). */
	if (READ_ONCE(path->local_hint_at) &&
	    time_before(now, READ_ONCE(path->local_hint_at)))
		return READ_ONCE(path->local_hint);
	local_bh_disable();
	rcu_read_lock();
	rodp_path_peer(rdev, path, &peer, &dst);
	hint = peer;
	rcu_read_unlock();
	if (dst)
		dst_release(dst);
	local_bh_enable();
	WRITE_ONCE(path->local_hint, hint);
	WRITE_ONCE(path->local_hint_at, now + RODP_LOCAL_HINT_TTL);
	return hint;
}

/*
 * Whether @tx's payload could go by reference (rodp_tx_frags()).  Not a
 * datagram's (UD), nor UC's: a UC send completes when its last packet is
 * out, and the application may then write into the buffer that the
 * receiver has yet to copy from.  RC completes on the ACK, which the
 * receiver sends after copying.
 */
static bool rodp_tx_frags_ok(const struct rodp_qp *qp,
			     const struct rodp_tx *tx)
{
	return tx->payload_len >= RODP_FRAGS_MIN && !tx->inline_data &&
	       !tx->path && (tx->sge || tx->mr) && !rodp_qp_uc(qp);
}

/*
 * The payload of @tx as page fragments of its source (pinned or ODP
 * memory), at the end of @skb's.  Return 0, -EOPNOTSUPP when it must be
 * copied instead (some fragments may have been added), or the error of
 * reading the source.
 */
static int rodp_tx_frags(struct rodp_qp *qp, struct rodp_tx *tx,
			 struct sk_buff *skb, struct rodp_odp_hold *hold)
{
	if (tx->sge)
		return rodp_sge_frags(qp, tx->sge, tx->num_sge, tx->sge_off,
				      tx->payload_len, skb, hold);
	return rodp_mr_frags(tx->mr, tx->mr_va, tx->payload_len, tx->mr_ahead,
			     skb, hold);
}

/*
 * The payload of @tx as page fragments of its source, after the headers
 * in @skb, and the trailer (pad, ICRC) as zeros.  Return 0, -EOPNOTSUPP
 * when it must be copied instead (@skb is then spoilt), or the error of
 * reading the source.
 */
static int rodp_xmit_frags(struct rodp_qp *qp, struct rodp_tx *tx,
			   struct sk_buff *skb)
{
	u32 tail = tx->pkt.bth.pad + RCORE_ICRC_LEN;
	int ret;

	ret = rodp_tx_frags(qp, tx, skb, NULL);
	if (ret)
		return ret;
	/* rodp_mr_frags() left this slot. */
	get_page(ZERO_PAGE(0));
	skb_add_rx_frag(skb, skb_shinfo(skb)->nr_frags, ZERO_PAGE(0), 0,
			tail, tail);
	return 0;
}

/* The headers of @tx's packet, final (pad, P_Key, XRC opcode). */
static void rodp_tx_prepare(struct rodp_qp *qp, struct rodp_tx *tx)
{
	tx->pkt.bth.pad = rcore_pad_len(tx->payload_len);
	tx->pkt.bth.pkey = RCORE_DEFAULT_PKEY;
	/* An XRC QP's packets: RC's under XRC opcodes (rodp_xrc.c). */
	if (rodp_qp_transport(qp) == RCORE_TR_XRC)
		tx->pkt.bth.opcode = rcore_xrc_opcode(tx->pkt.bth.opcode);
}

/**
 * rodp_tx_copy - copy a packet's payload
 * @qp: the sending queue pair
 * @tx: the packet (rodp_xmit())
 * @p: where to, with room for the payload and its pad
 *
 * Copies @tx's payload to @p and zeroes its pad.  Process context: may
 * fault ODP memory in (or not, -EWOULDBLOCK: rodp_odp.c).
 *
 * Return: 0 or the error of reading the source.
 */
int rodp_tx_copy(struct rodp_qp *qp, const struct rodp_tx *tx, u8 *p)
{
	int ret = 0;

	if (tx->inline_data)
		memcpy(p, tx->inline_data, tx->payload_len);
	else if (tx->sge)
		ret = rodp_sge_copy(qp, tx->sge, tx->num_sge, tx->sge_off, p,
				    tx->payload_len, false);
	else if (tx->mr)
		ret = rodp_mr_copy(tx->mr, tx->mr_va, tx->payload_len,
				   tx->mr_ahead, p, false);
	if (!ret)
		memset(p + tx->payload_len, 0, tx->pkt.bth.pad);
	return ret;
}

/*
 * Send @skb, RoCEv2 packets from @qp's side @from at skb->data (one, or a
 * train of @npkts: rodp_train_begin()), after its UDP and IP headers.
 */
static void rodp_send(struct rodp_qp *qp, struct rodp_path *path,
		      enum rodp_side from, struct sk_buff *skb, u32 npkts,
		      u16 sport)
{
	struct rodp_catch caught = { .n = 0 };
	struct rodp_eng *pe;
	struct udphdr *uh;
	u32 i;

	uh = skb_push(skb, sizeof(*uh));
	skb_reset_transport_header(skb);
	uh->source = htons(sport);
	uh->dest = htons(RODP_UDP_PORT);
	uh->len = htons(skb->len);
	uh->check = 0;
	if (path->ipv6)
		rodp_push_ip6(path, skb);
	else
		rodp_push_ip4(qp, path, skb);
	rodp_count_n(qp->rdev, RODP_CNT_TX_PKTS, npkts);

	if (IS_ENABLED(CONFIG_PREEMPT_RT)) {
		/* Sleeping locks below: no window with preemption off. */
		local_bh_disable();
		pe = rodp_out(qp, path, skb);
		local_bh_enable();
	} else {
		preempt_disable();
		caught.prev = this_cpu_read(rodp_catch_cur);
		this_cpu_write(rodp_catch_cur, &caught);
		local_bh_disable();
		pe = rodp_out(qp, path, skb);
		local_bh_enable();	/* may run the receive softirq */
		this_cpu_write(rodp_catch_cur, caught.prev);
		preempt_enable();
	}
	if (pe)
		rodp_hand_later(qp, from, pe, npkts);
	for (i = 0; i < caught.n; i++)
		rodp_hand_later(qp, from, caught.e[i], 1);
}

/* Room before a packet's BTH for its UDP, IP and link-layer headers. */
static u32 rodp_headroom(const struct rodp_dev *rdev,
			 const struct rodp_path *path)
{
	return LL_RESERVED_SPACE(rdev->ndev) + sizeof(struct udphdr) +
	       (path->ipv6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr));
}

/**
 * rodp_xmit - build a RoCEv2 packet and send it to the QP's peer
 * @qp: the queue pair (its path: addresses, TOS, TTL, UDP source port)
 * @tx: headers and payload source, and the path when not the QP's (UD)
 *
 * Process context: copying the payload may sleep (ODP).  A packet the
 * network does not take (no route, no buffer) is counted and lost, as on
 * a wire; the transport's retries recover.  The UDP checksum is 0, over
 * IPv6 too, as RoCEv2 allows (the ICRC covers the packet).  A small RC
 * request, or an ACK, to a QP of this host may be handed over by a call
 * instead, with no packet at all (rodp_call.c).
 *
 * Return: 0, or the error of reading the payload's memory (the caller
 * turns it into a completion or a NAK); -ENOMEM when no skb could be had.
 */
int rodp_xmit(struct rodp_qp *qp, struct rodp_tx *tx)
{
	enum rodp_side from = rodp_is_response(tx->pkt.bth.opcode) ?
			      RODP_RESP : RODP_REQ;
	struct rodp_path *path = tx->path ?: &qp->path;
	struct rodp_dev *rdev = qp->rdev;
	u32 hlen, tlen, room;
	struct sk_buff *skb;
	u8 hdr[64], *p;
	bool frags;
	int ret;

	/* It may allocate, and it may call a responder here. */
	rodp_eng_let_go(qp);
	rodp_tx_prepare(qp, tx);
	ret = rcore_pkt_build(hdr, sizeof(hdr), &tx->pkt);
	if (WARN_ON_ONCE(ret < 0))
		return -EINVAL;
	hlen = ret;
	tlen = hlen + tx->payload_len + tx->pkt.bth.pad + RCORE_ICRC_LEN;
	/* A small request or an ACK to a QP of this host: no packet. */
	if (rodp_call_ok(qp, tx)) {
		ret = rodp_call(qp, tx, hdr, hlen, tlen);
		if (ret != -EAGAIN)
			return ret;
	}
	room = rodp_headroom(rdev, path);

	/* A peer on this host: the payload by reference, if it can be. */
	frags = rodp_tx_frags_ok(qp, tx) && rodp_path_local(rdev, path);
again:
	skb = rodp_alloc_skb(room + (frags ? hlen : tlen), GFP_KERNEL);
	if (!skb) {
		rodp_count(rdev, RODP_CNT_TX_DROP);
		return -ENOMEM;
	}
	skb_reserve(skb, room);
	p = skb_put(skb, frags ? hlen : tlen);
	memcpy(p, hdr, hlen);
	if (frags) {
		ret = rodp_xmit_frags(qp, tx, skb);
		if (ret == -EOPNOTSUPP) {
			kfree_skb(skb);
			frags = false;
			goto again;
		}
	} else {
		ret = rodp_tx_copy(qp, tx, p + hlen);
		/* The ICRC: rodp_out(), once it knows the packet leaves. */
		memset(skb_tail_pointer(skb) - RCORE_ICRC_LEN, 0,
		       RCORE_ICRC_LEN);
	}
	if (ret) {
		kfree_skb(skb);
		return ret;
	}
	rodp_send(qp, path, from, skb, 1, rodp_udp_sport(qp, tx));
	return 0;
}

/**
 * rodp_train_begin - start a train of packets to a peer on this host
 * @t: the train, filled in
 * @max: packets at most (RODP_TRAIN_MAX)
 *
 * For a peer that rodp_path_local() says is on this host (an RC or XRC
 * QP's own path), consecutive packets of one message (rodp_train_add())
 * go in one skb, and the receiver takes them one by one as it takes
 * packets (rodp_recv.c), so that the transport sees exactly the packets
 * of the wire: only the skb, the route and the hand-over are paid once
 * (rodp_train_end()).  Payloads from pinned or ODP memory go by
 * reference, as page fragments (struct rodp_skb_cb: a split train), so
 * that the bytes are copied once, by the receiver; others are copied into
 * the skb, each packet in its wire form.  Should the way have changed
 * meanwhile, rodp_out() cuts the train into packets.  Counters count
 * packets.
 */
void rodp_train_begin(struct rodp_train *t, u32 max)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
}

/* The train's skb, made for its first packet @tx. */
static int rodp_train_alloc(struct rodp_qp *qp, struct rodp_train *t,
			    const struct rodp_tx *tx)
{
	u32 room = rodp_headroom(qp->rdev, &qp->path);
	u32 bytes = t->max * RODP_TRAIN_HDR_MAX;

	rodp_odp_let_go(&t->hold);
	rodp_eng_let_go(qp);
	/*
	 * Copied: later packets carry no more than the first (its pad
	 * included); the train ends when the skb is full.
	 */
	if (!t->split)
		bytes = min_t(u32, RODP_TRAIN_BYTES, t->max *
			      (RODP_TRAIN_HDR_MAX +
			       round_up(tx->payload_len, 4) + RCORE_ICRC_LEN));
	t->skb = rodp_alloc_skb(room + bytes, GFP_KERNEL);
	if (!t->skb) {
		rodp_count(qp->rdev, RODP_CNT_TX_DROP);
		return -ENOMEM;
	}
	skb_reserve(t->skb, room);
	return 0;
}

/* A copied packet: in its wire form, after the train's others. */
static int rodp_train_add_copy(struct rodp_qp *qp, struct rodp_train *t,
			       struct rodp_tx *tx,
			       const struct rcore_opcode_info *info)
{
	u32 len = info->hdr_len + tx->payload_len + tx->pkt.bth.pad +
		  RCORE_ICRC_LEN;
	u8 *p;
	int ret;

	if (len > skb_tailroom(t->skb))
		return -ENOSPC;
	p = skb_put(t->skb, len);
	ret = rcore_pkt_build(p, len, &tx->pkt);
	if (!WARN_ON_ONCE(ret < 0))
		ret = rodp_tx_copy(qp, tx, p + info->hdr_len);
	if (ret) {
		skb_trim(t->skb, t->skb->len - len);
		return ret < 0 ? ret : -EINVAL;
	}
	memset(p + len - RCORE_ICRC_LEN, 0, RCORE_ICRC_LEN);
	return 0;
}

/*
 * A packet of a split train: its payload as page fragments after the
 * others', its headers after the others' (past the tail: the skb is
 * nonlinear already, rodp_train_end() takes them in).  On failure the
 * skb is left as it was.  Return 0, -ENOSPC, -EOPNOTSUPP (no fragments
 * for this one) or the error of reading the payload.
 */
static int rodp_train_add_split(struct rodp_qp *qp, struct rodp_train *t,
				struct rodp_tx *tx,
				const struct rcore_opcode_info *info)
{
	struct skb_shared_info *sh = skb_shinfo(t->skb);
	struct sk_buff *skb = t->skb;
	u32 nr = sh->nr_frags, len = skb->len, data_len = skb->data_len;
	u32 truesize = skb->truesize, last = 0;
	int ret;

	/* (skb_tailroom() is 0 for an skb with fragments.) */
	if (t->hlen + info->hdr_len >
	    skb_end_pointer(skb) - skb_tail_pointer(skb) ||
	    skb->len + t->hlen + info->hdr_len + tx->payload_len >
	    RODP_TRAIN_SPLIT_BYTES)
		return -ENOSPC;
	if (nr)
		last = skb_frag_size(&sh->frags[nr - 1]);
	ret = rodp_tx_frags(qp, tx, skb, &t->hold);
	if (!ret) {
		ret = rcore_pkt_build(skb_tail_pointer(skb) + t->hlen,
				      info->hdr_len, &tx->pkt);
		if (!WARN_ON_ONCE(ret != info->hdr_len)) {
			t->hlen += info->hdr_len;
			return 0;
		}
		ret = -EINVAL;
	}
	/* Back as it was: this packet's fragments out. */
	while (sh->nr_frags > nr)
		put_page(skb_frag_page(&sh->frags[--sh->nr_frags]));
	if (nr)
		skb_frag_size_set(&sh->frags[nr - 1], last);
	skb->len = len;
	skb->data_len = data_len;
	skb->truesize = truesize;
	return ret;
}

/**
 * rodp_train_add - the next packet of a train
 * @qp: the queue pair
 * @t: the train (rodp_train_begin())
 * @tx: the packet: the same side as the train's others, and, unless it
 *	is to be the last, a payload as long as the first's, no pad
 *
 * Return: 0; -ENOSPC when it does not fit (send the train, then this
 * packet); -ENOMEM for a first packet that got no skb; or the error of
 * reading its payload, as rodp_xmit() (the train stays as it was).
 */
int rodp_train_add(struct rodp_qp *qp, struct rodp_train *t,
		   struct rodp_tx *tx)
{
	const struct rcore_opcode_info *info;
	int ret;

	rodp_tx_prepare(qp, tx);
	info = rcore_opcode_info(tx->pkt.bth.opcode);
	/* After a packet of another length (the message's last), none. */
	if (WARN_ON_ONCE(!info || t->last))
		return -EINVAL;
	if (t->n == t->max)
		return -ENOSPC;
	if (!t->skb) {
		t->split = rodp_tx_frags_ok(qp, tx);
		ret = rodp_train_alloc(qp, t, tx);
		if (ret)
			return ret;
	}
	if (t->split) {
		ret = rodp_train_add_split(qp, t, tx, info);
		/* Not by reference after all: copied, if the first. */
		if (ret == -EOPNOTSUPP && !t->n) {
			kfree_skb(t->skb);
			t->split = false;
			ret = rodp_train_alloc(qp, t, tx);
			if (ret)
				return ret;
		} else if (ret == -EOPNOTSUPP) {
			return -ENOSPC;
		} else if (ret) {
			return ret;
		}
	}
	if (!t->split) {
		ret = rodp_train_add_copy(qp, t, tx, info);
		if (ret)
			return ret;
	}
	if (!t->n) {
		t->sub_len = tx->payload_len;
		t->from = rodp_is_response(tx->pkt.bth.opcode) ? RODP_RESP :
								 RODP_REQ;
		t->sport = rodp_udp_sport(qp, tx);
	}
	/*
	 * Any other length (with a pad) can only end the train: the
	 * receiver finds a packet's end from @sub_len but for the last.
	 */
	t->last = tx->pkt.bth.pad || tx->payload_len != t->sub_len;
	t->n++;
	return 0;
}

/**
 * rodp_train_end - send a train (nothing if it is empty)
 * @qp: the queue pair
 * @t: the train; its skb is gone after
 *
 * Return: how many packets went.
 */
u32 rodp_train_end(struct rodp_qp *qp, struct rodp_train *t)
{
	struct rodp_skb_cb *cb;
	u32 n = t->n;

	/* Before anything is sent: the receiver may be in this task. */
	rodp_odp_let_go(&t->hold);
	if (!n) {
		kfree_skb(t->skb);
		t->skb = NULL;
		return 0;
	}
	cb = RODP_SKB_CB(t->skb);
	cb->train = n;
	cb->sub_len = t->sub_len;
	if (t->split) {
		/*
		 * The headers rodp_train_add_split() wrote past the tail:
		 * __skb_put() for an skb that has fragments already.
		 */
		t->skb->tail += t->hlen;
		t->skb->len += t->hlen;
		cb->split = true;
		cb->pay = t->hlen;
	}
	rodp_send(qp, &qp->path, t->from, t->skb, n, t->sport);
	t->skb = NULL;
	return n;
}

/**
 * rodp_train_next - where the next packet of a received train is
 * @skb: the train, skb->data at its first packet's BTH
 * @pos: filled in from the train's position (struct rodp_skb_cb)
 *
 * Return: true, or false when the rest of the train is malformed.
 */
bool rodp_train_next(const struct sk_buff *skb, struct rodp_train_pos *pos)
{
	const struct rodp_skb_cb *cb = RODP_SKB_CB(skb);
	bool last = cb->next + 1 == cb->train;
	const struct rcore_opcode_info *info;
	u32 left;

	left = (cb->split ? skb_headlen(skb) : skb->len) - cb->off;
	info = left >= RCORE_BTH_LEN ? rcore_opcode_info(skb->data[cb->off]) :
				       NULL;
	if (!info || info->hdr_len > left)
		return false;
	pos->hdr_len = info->hdr_len;
	if (cb->split) {
		if (cb->pay > skb->len)
			return false;
		pos->pay_len = last ? skb->len - cb->pay : cb->sub_len;
		if (pos->pay_len > skb->len - cb->pay)
			return false;
		pos->pay = cb->pay;
		pos->len = info->hdr_len + pos->pay_len +
			   rcore_pad_len(pos->pay_len) + RCORE_ICRC_LEN;
		pos->avail = info->hdr_len;
		return true;
	}
	pos->len = last ? left : info->hdr_len + cb->sub_len + RCORE_ICRC_LEN;
	if (pos->len > left || pos->len < info->hdr_len + RCORE_ICRC_LEN)
		return false;
	pos->avail = pos->len;
	pos->pay = cb->off + info->hdr_len;
	pos->pay_len = pos->len - info->hdr_len - RCORE_ICRC_LEN;
	return true;
}

/**
 * rodp_train_step - a received train's position past its next packet
 * @skb: the train
 * @pos: that packet (rodp_train_next())
 */
void rodp_train_step(struct sk_buff *skb, const struct rodp_train_pos *pos)
{
	struct rodp_skb_cb *cb = RODP_SKB_CB(skb);

	if (cb->split) {
		cb->off += pos->hdr_len;
		cb->pay += pos->pay_len;
	} else {
		cb->off += pos->len;
	}
	cb->next++;
}

/**
 * rodp_net_mc - have a device's netdev join or leave a multicast group
 * @rdev: the device
 * @group: the group's GID: an IPv4-mapped or an IPv6 multicast address
 * @join: join, else leave
 *
 * The membership is the RoCEv2 socket's of the device's namespace, on the
 * device's netdev.  Caller holds rtnl_lock (and no rodp lock); the
 * device's use of the sockets (rodp_net_get()) keeps them open.
 *
 * Return: 0 or a negative errno from the IP stack.
 */
int rodp_net_mc(struct rodp_dev *rdev, const struct in6_addr *group,
		bool join)
{
	struct rodp_net *rn = rodp_net(rdev->net);
	bool v4 = ipv6_addr_v4mapped(group);
	int ifindex = rdev->ndev->ifindex;
	struct socket *sock;
	struct sock *sk;
	int err;

	ASSERT_RTNL();
	sock = rcu_dereference_protected(v4 ? rn->sk4 : rn->sk6, true);
	if (!sock)
		return -EAFNOSUPPORT;
	sk = sock->sk;
	lock_sock(sk);
	if (v4) {
		struct ip_mreqn mreq = {
			.imr_multiaddr.s_addr = group->s6_addr32[3],
			.imr_ifindex = ifindex,
		};

		err = join ? ip_mc_join_group(sk, &mreq) :
			     ip_mc_leave_group(sk, &mreq);
	} else if (IS_ENABLED(CONFIG_IPV6)) {
		err = rodp_ipv6_sock_mc(sk, ifindex, group, join);
	} else {
		err = -EAFNOSUPPORT;
	}
	release_sock(sk);
	return err;
}

static struct socket *rodp_sock_open(struct net *net, bool ipv6)
{
	struct udp_tunnel_sock_cfg tnl_cfg = {
		.encap_type = 1,
		.encap_rcv = rodp_udp_encap_recv,
	};
	struct udp_port_cfg udp_cfg = {
		.local_udp_port = htons(RODP_UDP_PORT),
	};
	struct socket *sock;
	int err;

	if (ipv6) {
		udp_cfg.family = AF_INET6;
		udp_cfg.ipv6_v6only = 1;
		/* RoCEv2 over IPv6 may carry a zero UDP checksum. */
		udp_cfg.use_udp6_rx_checksums = 0;
	} else {
		udp_cfg.family = AF_INET;
	}

	err = udp_sock_create(net, &udp_cfg, &sock);
	if (err)
		return ERR_PTR(err);

	rodp_setup_udp_tunnel_sock(net, sock, &tnl_cfg);
	return sock;
}

static void rodp_sock_close(struct socket __rcu **slot, struct rodp_net *rn)
{
	struct socket *sock;

	lockdep_assert_held(&rn->lock);

	sock = rcu_dereference_protected(*slot, lockdep_is_held(&rn->lock));
	if (!sock)
		return;
	RCU_INIT_POINTER(*slot, NULL);
	synchronize_rcu();
	rodp_udp_tunnel_sock_release(sock);
}

/**
 * rodp_net_get - take a device's use of its namespace's RoCEv2 sockets
 * @net: the namespace of the device's netdev
 *
 * Opens UDP port 4791 (IPv4, and IPv6 when the namespace has it) for the
 * first device of @net.
 *
 * Return: 0, or -EADDRINUSE if another owner (rdma_rxe, say) holds the port
 * in @net, or another negative errno.
 */
int rodp_net_get(struct net *net)
{
	struct rodp_net *rn = rodp_net(net);
	struct socket *sock;
	int err = 0;

	mutex_lock(&rn->lock);
	if (rn->users++)
		goto out_unlock;

	sock = rodp_sock_open(net, false);
	if (IS_ERR(sock)) {
		err = PTR_ERR(sock);
		goto err_users;
	}
	rcu_assign_pointer(rn->sk4, sock);

	if (IS_ENABLED(CONFIG_IPV6) && ipv6_mod_enabled()) {
		sock = rodp_sock_open(net, true);
		if (IS_ERR(sock)) {
			err = PTR_ERR(sock);
			/* A namespace without IPv6 is fine: IPv4 only. */
			if (err != -EAFNOSUPPORT)
				goto err_close4;
			err = 0;
		} else {
			rcu_assign_pointer(rn->sk6, sock);
		}
	}
	goto out_unlock;

err_close4:
	rodp_sock_close(&rn->sk4, rn);
err_users:
	rn->users--;
out_unlock:
	mutex_unlock(&rn->lock);
	return err;
}

/**
 * rodp_net_put - drop a device's use of its namespace's sockets
 * @net: as given to rodp_net_get()
 *
 * The last user closes the sockets.  May sleep.
 */
void rodp_net_put(struct net *net)
{
	struct rodp_net *rn = rodp_net(net);

	mutex_lock(&rn->lock);
	if (!WARN_ON(!rn->users) && !--rn->users) {
		rodp_sock_close(&rn->sk6, rn);
		rodp_sock_close(&rn->sk4, rn);
	}
	mutex_unlock(&rn->lock);
}

static __net_init int rodp_net_init_ns(struct net *net)
{
	struct rodp_net *rn = rodp_net(net);

	mutex_init(&rn->lock);
	RCU_INIT_POINTER(rn->sk4, NULL);
	RCU_INIT_POINTER(rn->sk6, NULL);
	rn->users = 0;
	return 0;
}

/*
 * Every netdev of a dying namespace is unregistered (and every rodp device
 * on one is gone) before subsystem exit methods run, so no socket is left.
 */
static __net_exit void rodp_net_exit_ns(struct net *net)
{
	struct rodp_net *rn = rodp_net(net);

	mutex_lock(&rn->lock);
	WARN_ON(rn->users);
	rodp_sock_close(&rn->sk6, rn);
	rodp_sock_close(&rn->sk4, rn);
	mutex_unlock(&rn->lock);
}

static struct pernet_operations rodp_net_ops = {
	.init = rodp_net_init_ns,
	.exit = rodp_net_exit_ns,
	.id = &rodp_net_id,
	.size = sizeof(struct rodp_net),
};

/**
 * rodp_net_init - register the per-namespace state
 *
 * Return: 0 or a negative errno.
 */
int rodp_net_init(void)
{
	return register_pernet_subsys(&rodp_net_ops);
}

/**
 * rodp_net_exit - unregister the per-namespace state (module exit)
 */
void rodp_net_exit(void)
{
	unregister_pernet_subsys(&rodp_net_ops);
}
