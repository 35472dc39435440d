// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: RoCEv2 UDP tunnel sockets, one pair (IPv4, IPv6) per network
 * namespace that has a rodp device, and the receive entry point.
 *
 * The sockets are opened by the first device of a namespace and closed by
 * its last.  Receive runs in softirq: it only finds the device and hands
 * the packet on; all protocol work happens in process context.
 */

#include <linux/ipv6.h>
#include <net/ipv6.h>
#include <net/netns/generic.h>
#include <net/udp_tunnel.h>

#include "rodp.h"

static unsigned int rodp_net_id __read_mostly;

static struct rodp_net *rodp_net(struct net *net)
{
	return net_generic(net, rodp_net_id);
}

/* UDP encap receive: softirq, RCU read side held by the UDP stack. */
static int rodp_udp_encap_recv(struct sock *sk, struct sk_buff *skb)
{
	struct rodp_dev *rdev;

	rdev = rodp_dev_lookup_rcu(skb->dev);
	if (!rdev) {
		kfree_skb(skb);
		return 0;
	}
	atomic64_inc(&rdev->stats.rx_packets);
	/* No queue pairs yet: nothing can consume the packet. */
	atomic64_inc(&rdev->stats.rx_dropped);
	kfree_skb(skb);
	return 0;
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
		udp_cfg.use_udp6_rx_checksums = 1;
	} else {
		udp_cfg.family = AF_INET;
	}

	err = udp_sock_create(net, &udp_cfg, &sock);
	if (err)
		return ERR_PTR(err);

	setup_udp_tunnel_sock(net, sock, &tnl_cfg);
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
	udp_tunnel_sock_release(sock);
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
