/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rodp: what differs between the kernels rodp builds for (Debian 12's
 * 6.1, Debian 13's 6.12, the newest Debian serves), in one place.
 *
 * Kbuild probes the kernel's headers for each difference (a symbol, a
 * member, a prototype) and defines RODP_HAVE_* when the newer form is
 * there; nothing here tests a version number.  Each helper below is
 * written in the newer kernel's terms and falls back to the older one.
 */
#ifndef RODP_COMPAT_H
#define RODP_COMPAT_H

#include <linux/netdevice.h>
#include <rdma/ib_verbs.h>
#include <rdma/uverbs_ioctl.h>

#ifdef RODP_HAVE_NET_HOTDATA
#include <net/hotdata.h>
#endif
#ifdef RODP_HAVE_IPV6_STUBS
#include <net/ipv6_stubs.h>
#else
#include <net/addrconf.h>
#include <net/ipv6.h>
#endif
#include <rdma/ib_umem.h>
#include <net/flow.h>
#include <net/udp_tunnel.h>
#ifndef RODP_HAVE_FLOWI4_TOS
#include <net/inet_dscp.h>
#endif

/* The length of a CPU's backlog queue above which the stack drops. */
static inline int rodp_netdev_max_backlog(void)
{
#ifdef RODP_HAVE_NET_HOTDATA
	return READ_ONCE(net_hotdata.max_backlog);
#else
	return READ_ONCE(netdev_max_backlog);
#endif
}

/*
 * ib_device_ops.create_cq takes the uverbs attribute bundle (6.11 on),
 * whose driver_udata is the udata older kernels passed; kernel CQs get
 * neither.
 */
#ifdef RODP_HAVE_CREATE_CQ_ATTRS
#define RODP_CREATE_CQ_ARG		struct uverbs_attr_bundle *attrs
#define RODP_CREATE_CQ_UDATA()		(attrs ? &attrs->driver_udata : NULL)
#else
#define RODP_CREATE_CQ_ARG		struct ib_udata *udata_arg
#define RODP_CREATE_CQ_UDATA()		(udata_arg)
#endif

/*
 * IPv6 through ipv6_stub while IPv6 could be a module; newer kernels
 * build it in and call it directly.
 */
static inline struct dst_entry *
rodp_ip6_dst_lookup_flow(struct net *net, const struct sock *sk,
			 struct flowi6 *fl6)
{
#ifdef RODP_HAVE_IPV6_STUBS
	return ipv6_stub->ipv6_dst_lookup_flow(net, sk, fl6, NULL);
#else
	return ip6_dst_lookup_flow(net, sk, fl6, NULL);
#endif
}

static inline int rodp_ipv6_sock_mc(struct sock *sk, int ifindex,
				    const struct in6_addr *group, bool join)
{
#ifdef RODP_HAVE_IPV6_STUBS
	return join ? ipv6_stub->ipv6_sock_mc_join(sk, ifindex, group) :
		      ipv6_stub->ipv6_sock_mc_drop(sk, ifindex, group);
#else
	return join ? ipv6_sock_mc_join(sk, ifindex, group) :
		      ipv6_sock_mc_drop(sk, ifindex, group);
#endif
}

/* timer_container_of() was from_timer() before 6.16. */
#ifdef RODP_HAVE_TIMER_CONTAINER_OF
#define rodp_timer_container_of(var, t, field) \
	timer_container_of(var, t, field)
#else
#define rodp_timer_container_of(var, t, field) from_timer(var, t, field)
#endif

/* Pinning a user buffer by its address. */
static inline struct ib_umem *rodp_umem_get(struct ib_device *dev,
					    unsigned long addr, size_t size,
					    int access)
{
#ifdef RODP_HAVE_UMEM_GET_VA
	return ib_umem_get_va(dev, addr, size, access);
#else
	return ib_umem_get(dev, addr, size, access);
#endif
}

/* reg_user_mr takes a DMA handle (7.0 on), which rodp refuses. */
#ifdef RODP_HAVE_REG_USER_MR_DMAH
#define RODP_REG_USER_MR_DMAH		struct ib_dmah *dmah,
#define RODP_REG_USER_MR_DMAH_SET()	(dmah != NULL)
#else
#define RODP_REG_USER_MR_DMAH
#define RODP_REG_USER_MR_DMAH_SET()	false
#endif

/* resize_cq became resize_user_cq, with an unsigned size. */
#ifdef RODP_HAVE_RESIZE_USER_CQ
#define RODP_RESIZE_CQ_OP		resize_user_cq
typedef unsigned int rodp_cqe_count_t;
#else
#define RODP_RESIZE_CQ_OP		resize_cq
typedef int rodp_cqe_count_t;
#endif

/* A flowi4 initializer's TOS: a DSCP field in newer kernels. */
#ifdef RODP_HAVE_FLOWI4_TOS
#define RODP_FLOWI4_TOS(tos)	.flowi4_tos = RT_TOS(tos)
#else
#define RODP_FLOWI4_TOS(tos)	.flowi4_dscp = inet_dsfield_to_dscp(tos)
#endif

/* The UDP tunnel helpers take the struct sock in newer kernels. */
static inline void rodp_setup_udp_tunnel_sock(struct net *net,
					      struct socket *sock,
					      struct udp_tunnel_sock_cfg *cfg)
{
#ifdef RODP_HAVE_UDP_TUNNEL_SK
	setup_udp_tunnel_sock(net, sock->sk, cfg);
#else
	setup_udp_tunnel_sock(net, sock, cfg);
#endif
}

static inline void rodp_udp_tunnel_sock_release(struct socket *sock)
{
#ifdef RODP_HAVE_UDP_TUNNEL_SK
	udp_tunnel_sock_release(sock->sk);
#else
	udp_tunnel_sock_release(sock);
#endif
}

/*
 * A tcx BPF program (attached without a qdisc) on @dev: newer kernels
 * only; older ones attach BPF through clsact, an ingress queue's qdisc.
 */
static inline bool rodp_dev_tcx_hooked(const struct net_device *dev)
{
#ifdef RODP_HAVE_TCX
	return rcu_access_pointer(dev->tcx_ingress) ||
	       rcu_access_pointer(dev->tcx_egress);
#else
	return false;
#endif
}

#endif /* RODP_COMPAT_H */
