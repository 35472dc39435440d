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

#endif /* RODP_COMPAT_H */
