// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: module entry, `rdma link add ... type rodp`, the device list and the
 * netdev notifier that ties each device's lifetime to its netdev.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/rtnetlink.h>
#include <rdma/rdma_netlink.h>

#include "rodp.h"

/*
 * Every rodp device, from newlink until dealloc_driver.  Writers hold
 * rodp_devs_lock; the receive path walks the list under RCU.
 */
static LIST_HEAD(rodp_devs);
static DEFINE_SPINLOCK(rodp_devs_lock);

/**
 * rodp_dev_lookup_rcu - the rodp device bound to a netdev
 * @ndev: the netdev (a packet arrived on, or an event is about)
 *
 * Caller holds rcu_read_lock() (the device stays valid until it unlocks)
 * or rodp_devs_lock.
 *
 * Return: the device, or NULL.
 */
struct rodp_dev *rodp_dev_lookup_rcu(struct net_device *ndev)
{
	struct rodp_dev *rdev;

	list_for_each_entry_rcu(rdev, &rodp_devs, list,
				lockdep_is_held(&rodp_devs_lock))
		if (rdev->ndev == ndev)
			return rdev;
	return NULL;
}

/**
 * rodp_dev_gone - last act of a device, from its dealloc_driver callback
 * @rdev: the device; the RDMA core frees it when this returns
 *
 * Takes it off the list, waits out RCU readers (the receive path) and drops
 * what the device held: its namespace's sockets and its netdev.
 */
void rodp_dev_gone(struct rodp_dev *rdev)
{
	spin_lock(&rodp_devs_lock);
	list_del_rcu(&rdev->list);
	spin_unlock(&rodp_devs_lock);
	synchronize_rcu();

	/* The RDMA core destroyed every MR before calling dealloc_driver. */
	WARN_ON(!xa_empty(&rdev->mr_xa));
	xa_destroy(&rdev->mr_xa);
	WARN_ON(!xa_empty(&rdev->qp_xa));
	xa_destroy(&rdev->qp_xa);
	WARN_ON(!xa_empty(&rdev->ah_xa));
	xa_destroy(&rdev->ah_xa);
	WARN_ON(!xa_empty(&rdev->srq_xa));
	xa_destroy(&rdev->srq_xa);
	WARN_ON(!list_empty(&rdev->mcgs));
	rodp_net_put(rdev->net);
	netdev_put(rdev->ndev, &rdev->ndev_tracker);
}

static int rodp_newlink(const char *ibdev_name, struct net_device *ndev)
{
	struct rodp_dev *rdev, *other;
	bool gone = false, held = false;
	int err;

	if (ndev->type != ARPHRD_ETHER && !(ndev->flags & IFF_LOOPBACK)) {
		pr_err("%s: %s is not an Ethernet or loopback device\n",
		       ibdev_name, netdev_name(ndev));
		return -EINVAL;
	}

	rdev = ib_alloc_device(rodp_dev, ibdev);
	if (!rdev)
		return -ENOMEM;
	rdev->state = RODP_DEV_REGISTERING;
	rdev->ndev = ndev;
	rdev->net = dev_net(ndev);
	xa_init_flags(&rdev->mr_xa, XA_FLAGS_ALLOC1);
	atomic_set(&rdev->mr_gen, 0);
	mutex_init(&rdev->mw_lock);
	xa_init_flags(&rdev->qp_xa, XA_FLAGS_ALLOC);
	xa_init_flags(&rdev->ah_xa, XA_FLAGS_ALLOC1);
	xa_init_flags(&rdev->srq_xa, XA_FLAGS_ALLOC1);
	INIT_LIST_HEAD(&rdev->mcgs);
	spin_lock_init(&rdev->atomic_lock);

	err = rodp_net_get(rdev->net);
	if (err) {
		if (err == -EADDRINUSE)
			pr_err("%s: UDP port %u is already in use in the network namespace of %s (is rdma_rxe loaded there?)\n",
			       ibdev_name, RODP_UDP_PORT, netdev_name(ndev));
		else
			pr_err("%s: cannot open the RoCEv2 UDP socket: %d\n",
			       ibdev_name, err);
		goto err_free_dev;
	}

	/*
	 * Under rtnl the netdev's registration state and the notifier agree:
	 * either it is still registered and NETDEV_UNREGISTER will find us on
	 * the list, or we give up here.
	 */
	rtnl_lock();
	if (ndev->reg_state != NETREG_REGISTERED) {
		err = -ENODEV;
		goto err_unlock;
	}
	spin_lock(&rodp_devs_lock);
	other = rodp_dev_lookup_rcu(ndev);
	if (other) {
		spin_unlock(&rodp_devs_lock);
		pr_err("%s: %s already has rodp device %s\n", ibdev_name,
		       netdev_name(ndev), dev_name(&other->ibdev.dev));
		err = -EEXIST;
		goto err_unlock;
	}
	netdev_hold(ndev, &rdev->ndev_tracker, GFP_ATOMIC);
	list_add_tail_rcu(&rdev->list, &rodp_devs);
	spin_unlock(&rodp_devs_lock);
	rtnl_unlock();

	/*
	 * From here on the device's dealloc_driver callback (rodp_dev_gone)
	 * undoes the list entry, the netdev hold and the namespace sockets,
	 * also when registration fails.  Our own reference keeps the memory
	 * valid even if a racing `rdma link del` frees the device as soon as
	 * it becomes visible.
	 */
	get_device(&rdev->ibdev.dev);
	err = rodp_dev_register(rdev, ibdev_name);
	if (err) {
		pr_err("%s: registration failed: %d\n", ibdev_name, err);
		ib_dealloc_device(&rdev->ibdev);
		put_device(&rdev->ibdev.dev);
		return err;
	}

	spin_lock(&rodp_devs_lock);
	if (rdev->state == RODP_DEV_REGISTERING) {
		if (rdev->ndev_gone) {
			rdev->state = RODP_DEV_DYING;
			gone = true;
		} else {
			rdev->state = RODP_DEV_LIVE;
			held = ib_device_try_get(&rdev->ibdev);
		}
	}
	spin_unlock(&rodp_devs_lock);

	if (gone)
		ib_unregister_device_queued(&rdev->ibdev);
	if (held) {
		rtnl_lock();
		rodp_port_event(rdev);
		rtnl_unlock();
		ib_device_put(&rdev->ibdev);
	}
	put_device(&rdev->ibdev.dev);
	return 0;

err_unlock:
	rtnl_unlock();
	rodp_net_put(rdev->net);
err_free_dev:
	ib_dealloc_device(&rdev->ibdev);
	return err;
}

static struct rdma_link_ops rodp_link_ops = {
	.type = RODP_DRV_NAME,
	.newlink = rodp_newlink,
};

static int rodp_netdev_event(struct notifier_block *nb, unsigned long event,
			     void *ptr)
{
	struct net_device *ndev = netdev_notifier_info_to_dev(ptr);
	struct rodp_dev *rdev;
	bool unregister = false, held = false;

	ASSERT_RTNL();

	spin_lock(&rodp_devs_lock);
	rdev = rodp_dev_lookup_rcu(ndev);
	if (!rdev) {
		spin_unlock(&rodp_devs_lock);
		return NOTIFY_DONE;
	}

	switch (event) {
	case NETDEV_UNREGISTER:
		if (rdev->state == RODP_DEV_LIVE) {
			rdev->state = RODP_DEV_DYING;
			unregister = true;
		} else if (rdev->state == RODP_DEV_REGISTERING) {
			rdev->ndev_gone = true;
		}
		break;
	case NETDEV_UP:
	case NETDEV_DOWN:
	case NETDEV_CHANGE:
		/*
		 * A registration reference keeps the device (and the RDMA
		 * core's event machinery) alive until the event is queued.
		 */
		held = rdev->state == RODP_DEV_LIVE &&
		       ib_device_try_get(&rdev->ibdev);
		break;
	default:
		break;
	}
	spin_unlock(&rodp_devs_lock);

	if (unregister)
		ib_unregister_device_queued(&rdev->ibdev);
	if (held) {
		rodp_port_event(rdev);
		ib_device_put(&rdev->ibdev);
	}
	return NOTIFY_DONE;
}

static struct notifier_block rodp_netdev_nb = {
	.notifier_call = rodp_netdev_event,
};

/*
 * Unregister every device still present.  New devices cannot appear: the
 * link type is gone.  A device whose unregistration is already queued is
 * unregistered here as well; the RDMA core serialises the two and the
 * second one finds nothing left to do.
 */
static void rodp_unregister_all(void)
{
	struct rodp_dev *rdev;

	for (;;) {
		spin_lock(&rodp_devs_lock);
		rdev = list_first_entry_or_null(&rodp_devs, struct rodp_dev,
						list);
		if (rdev)
			get_device(&rdev->ibdev.dev);
		spin_unlock(&rodp_devs_lock);
		if (!rdev)
			break;
		ib_unregister_device(&rdev->ibdev);
		put_device(&rdev->ibdev.dev);
	}
}

/* debugfs rodp/: mm_refs (rodp_odp.c), inject/ (rodp_inject.c) */
struct dentry *rodp_debugfs_root;

static int __init rodp_init(void)
{
	int err;

	rodp_debugfs_root = debugfs_create_dir(RODP_DRV_NAME, NULL);
	err = rodp_eng_wq_init();
	if (err)
		goto err_debugfs;

	err = rodp_odp_module_init();
	if (err)
		goto err_eng_wq_exit;

	err = rodp_net_init();
	if (err)
		goto err_odp_exit;

	err = rodp_direct_init();
	if (err)
		goto err_net_exit;

	err = register_netdevice_notifier(&rodp_netdev_nb);
	if (err)
		goto err_direct_exit;

	rdma_link_register(&rodp_link_ops);
	rodp_inject_init();
	pr_info("loaded (RoCEv2 over UDP %u, ODP-capable soft RDMA)\n",
		RODP_UDP_PORT);
	return 0;

err_direct_exit:
	rodp_direct_exit();
err_net_exit:
	rodp_net_exit();
err_odp_exit:
	rodp_odp_module_exit();
err_eng_wq_exit:
	rodp_eng_wq_exit();
err_debugfs:
	debugfs_remove(rodp_debugfs_root);
	return err;
}

static void __exit rodp_exit(void)
{
	rodp_inject_exit();
	rdma_link_unregister(&rodp_link_ops);
	rodp_unregister_all();
	unregister_netdevice_notifier(&rodp_netdev_nb);
	rodp_direct_exit();
	rodp_net_exit();
	rodp_odp_module_exit();
	rodp_eng_wq_exit();
	debugfs_remove(rodp_debugfs_root);
	pr_info("unloaded\n");
}

module_init(rodp_init);
module_exit(rodp_exit);

MODULE_AUTHOR("rodp developers");
MODULE_DESCRIPTION("rodp: soft-RoCE RDMA device with On-Demand Paging");
MODULE_LICENSE("Dual BSD/GPL");
MODULE_ALIAS_RDMA_LINK(RODP_DRV_NAME);
