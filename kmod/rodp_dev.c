// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: the RDMA device itself: attributes, the one RoCEv2 port and its
 * state, and registration with the RDMA core.
 */

#include <linux/if_ether.h>
#include <net/addrconf.h>
#include <rdma/ib_mad.h>

#include <rdma/rodp-abi.h>
#include "rodp.h"

static bool rodp_port_up(struct rodp_dev *rdev)
{
	return netif_running(rdev->ndev) && netif_carrier_ok(rdev->ndev);
}

/* Largest IB MTU whose packets, headers included, fit the netdev MTU. */
static enum ib_mtu rodp_mtu_from_netdev(unsigned int mtu)
{
	if (mtu >= 4096 + RODP_MAX_HDR_OVERHEAD)
		return IB_MTU_4096;
	if (mtu >= 2048 + RODP_MAX_HDR_OVERHEAD)
		return IB_MTU_2048;
	if (mtu >= 1024 + RODP_MAX_HDR_OVERHEAD)
		return IB_MTU_1024;
	if (mtu >= 512 + RODP_MAX_HDR_OVERHEAD)
		return IB_MTU_512;
	return IB_MTU_256;
}

/**
 * rodp_active_mtu - the port's active MTU, from the netdev's MTU now
 * @rdev: the device
 *
 * Any context.  A UD message may be at most this long.
 *
 * Return: the MTU as an enum ib_mtu.
 */
enum ib_mtu rodp_active_mtu(struct rodp_dev *rdev)
{
	return rodp_mtu_from_netdev(READ_ONCE(rdev->ndev->mtu));
}

static int rodp_query_device(struct ib_device *ibdev,
			     struct ib_device_attr *attr,
			     struct ib_udata *udata)
{
	struct rodp_dev *rdev = to_rdev(ibdev);

	/* Newer kernels pass no udata when the core asks for itself. */
	if (udata && (udata->inlen || udata->outlen))
		return -EINVAL;

	/*
	 * Only what works is reported: PDs, CQs, pinned and ODP memory
	 * regions (explicit and implicit), memory windows of type 1 and
	 * 2B (sharing the MRs' key space), RC and UD queue pairs, shared
	 * receive queues, address handles, UD multicast.
	 */
	memset(attr, 0, sizeof(*attr));
	attr->vendor_id = RODP_VENDOR_ID;
	attr->vendor_part_id = RODP_VENDOR_PART_ID;
	attr->fw_ver = (u64)RODP_UVERBS_ABI_VERSION << 32;
	attr->sys_image_guid = rdev->ibdev.node_guid;
	attr->max_mr_size = RODP_MAX_MR_SIZE;
	attr->max_mr = RODP_MAX_MR;
	attr->max_mw = RODP_MAX_MR;
	attr->page_size_cap = PAGE_SIZE;
	attr->max_cq = RODP_MAX_CQ;
	attr->max_cqe = RODP_MAX_CQE;
	attr->max_pd = RODP_MAX_PD;
	attr->max_pkeys = 1;
	attr->max_qp = RODP_MAX_QP;
	attr->max_qp_wr = RODP_MAX_QP_WR;
	attr->max_send_sge = RODP_MAX_SGE;
	attr->max_recv_sge = RODP_MAX_SGE;
	attr->max_sge_rd = RODP_MAX_SGE;
	attr->max_qp_rd_atom = RODP_MAX_RD_ATOMIC;
	attr->max_qp_init_rd_atom = RODP_MAX_RD_ATOMIC;
	attr->max_res_rd_atom = RODP_MAX_QP * RODP_MAX_RD_ATOMIC;
	attr->atomic_cap = IB_ATOMIC_HCA;
	attr->max_ah = RODP_MAX_AH;
	attr->max_mcast_grp = RODP_MAX_MCAST_GRP;
	attr->max_mcast_qp_attach = RODP_MAX_MCAST_QP;
	attr->max_total_mcast_qp_attach = RODP_MAX_MCAST_GRP *
					  RODP_MAX_MCAST_QP;
	attr->device_cap_flags = IB_DEVICE_RC_RNR_NAK_GEN |
				 IB_DEVICE_MEM_WINDOW |
				 IB_DEVICE_MEM_WINDOW_TYPE_2B |
				 IB_DEVICE_SRQ_RESIZE |
				 IB_DEVICE_XRC |
				 IB_DEVICE_MEM_MGT_EXTENSIONS |
				 RODP_DEVICE_ATOMIC_WRITE |
				 RODP_DEVICE_FLUSH_GLOBAL |
				 RODP_DEVICE_FLUSH_PERSISTENT;
	/* Kernel consumers' fast registration (rodp_frmr.c), 65-kverbs. */
	attr->max_fast_reg_page_list_len = RODP_MAX_FR_PAGES;
	attr->max_srq = RODP_MAX_SRQ;
	attr->max_srq_wr = RODP_MAX_SRQ_WR;
	attr->max_srq_sge = RODP_MAX_SGE;
	/* `rdma link del` may remove a rodp device. */
	attr->kernel_cap_flags = IBK_ALLOW_USER_UNREG | IBK_ON_DEMAND_PAGING;
	attr->odp_caps.general_caps = IB_ODP_SUPPORT | IB_ODP_SUPPORT_IMPLICIT;
	attr->odp_caps.per_transport_caps.rc_odp_caps =
		IB_ODP_SUPPORT_SEND | IB_ODP_SUPPORT_RECV |
		IB_ODP_SUPPORT_WRITE | IB_ODP_SUPPORT_READ |
		IB_ODP_SUPPORT_ATOMIC | IB_ODP_SUPPORT_SRQ_RECV |
		RODP_ODP_SUPPORT_FLUSH | RODP_ODP_SUPPORT_ATOMIC_WRITE;
	/* UC: sends and writes (no reads or atomics on UC), 53-uc.sh. */
	attr->odp_caps.per_transport_caps.uc_odp_caps =
		IB_ODP_SUPPORT_SEND | IB_ODP_SUPPORT_RECV |
		IB_ODP_SUPPORT_WRITE;
	attr->odp_caps.per_transport_caps.ud_odp_caps =
		IB_ODP_SUPPORT_SEND | IB_ODP_SUPPORT_RECV;
	/* XRC: RC's requester and responder, receives on SRQs (54-xrc). */
	attr->odp_caps.per_transport_caps.xrc_odp_caps =
		IB_ODP_SUPPORT_SEND | IB_ODP_SUPPORT_WRITE |
		IB_ODP_SUPPORT_READ | IB_ODP_SUPPORT_ATOMIC |
		IB_ODP_SUPPORT_SRQ_RECV;
	attr->local_ca_ack_delay = 15;
	/* Completions carry CLOCK_MONOTONIC in ns (rodp_cq_post()). */
	attr->timestamp_mask = U64_MAX;
	attr->hca_core_clock = 1000000;	/* kHz */
	return 0;
}

static int rodp_query_port(struct ib_device *ibdev, u32 port,
			   struct ib_port_attr *attr)
{
	struct rodp_dev *rdev = to_rdev(ibdev);
	int err;

	/* The RDMA core zeroes *attr. */
	attr->gid_tbl_len = RODP_GID_TABLE_LEN;
	attr->pkey_tbl_len = 1;
	attr->max_msg_sz = 0x80000000;
	attr->max_mtu = IB_MTU_4096;
	attr->active_mtu = rodp_active_mtu(rdev);
	attr->max_vl_num = 1;
	/* QP1 takes the connection manager's MADs. */
	attr->port_cap_flags = IB_PORT_CM_SUP;
	if (rodp_port_up(rdev)) {
		attr->state = IB_PORT_ACTIVE;
		attr->phys_state = IB_PORT_PHYS_STATE_LINK_UP;
	} else {
		attr->state = IB_PORT_DOWN;
		attr->phys_state = IB_PORT_PHYS_STATE_DISABLED;
	}

	/* Takes rtnl_lock: never called with it held. */
	err = ib_get_eth_speed(ibdev, port, &attr->active_speed,
			       &attr->active_width);
	if (err) {
		attr->active_speed = IB_SPEED_SDR;
		attr->active_width = IB_WIDTH_1X;
	}
	return 0;
}

static int rodp_get_port_immutable(struct ib_device *ibdev, u32 port,
				   struct ib_port_immutable *immutable)
{
	struct ib_port_attr attr = {};
	int err;

	err = ib_query_port(ibdev, port, &attr);
	if (err)
		return err;

	/*
	 * RoCEv2 with the MAD and CM capabilities: ib_mad opens the port at
	 * registration and creates its QP1 (IB_QPT_GSI, rodp_create_qp()),
	 * over which ib_cm, and so rdma_cm, exchange their MADs.
	 */
	immutable->core_cap_flags = RDMA_CORE_PORT_IBA_ROCE_UDP_ENCAP;
	immutable->gid_tbl_len = attr.gid_tbl_len;
	immutable->pkey_tbl_len = attr.pkey_tbl_len;
	immutable->max_mad_size = IB_MGMT_MAD_SIZE;
	return 0;
}

static enum rdma_link_layer rodp_get_link_layer(struct ib_device *ibdev,
						u32 port)
{
	return IB_LINK_LAYER_ETHERNET;
}

static int rodp_query_pkey(struct ib_device *ibdev, u32 port, u16 index,
			   u16 *pkey)
{
	if (index > 0)
		return -EINVAL;
	*pkey = IB_DEFAULT_PKEY_FULL;
	return 0;
}

static void rodp_get_dev_fw_str(struct ib_device *ibdev, char *str)
{
	snprintf(str, IB_FW_VERSION_NAME_MAX, "%u.0.0", RODP_UVERBS_ABI_VERSION);
}

static const struct rdma_stat_desc rodp_counter_desc[RODP_CNT_MAX] = {
	[RODP_CNT_RX_PKTS].name = "rx_pkts",
	[RODP_CNT_TX_PKTS].name = "tx_pkts",
	[RODP_CNT_RX_DROP_ICRC].name = "rx_drop_icrc",
	[RODP_CNT_RX_ICRC_RXE].name = "rx_icrc_rxe_flush",
	[RODP_CNT_RX_DROP_HDR].name = "rx_drop_hdr",
	[RODP_CNT_RX_DROP_NOQP].name = "rx_drop_noqp",
	[RODP_CNT_RX_DROP_STATE].name = "rx_drop_state",
	[RODP_CNT_RX_DROP_SEQ].name = "rx_drop_seq",
	[RODP_CNT_RX_DROP_FULL].name = "rx_drop_full",
	[RODP_CNT_TX_DROP].name = "tx_drop",
	[RODP_CNT_TX_NAK_SEQ].name = "tx_nak_seq",
	[RODP_CNT_TX_NAK_INV].name = "tx_nak_inv",
	[RODP_CNT_TX_NAK_ACCESS].name = "tx_nak_access",
	[RODP_CNT_TX_NAK_OP].name = "tx_nak_op",
	[RODP_CNT_TX_RNR_NAK].name = "tx_rnr_nak",
	[RODP_CNT_TX_READ_STOP].name = "tx_read_stop",
	[RODP_CNT_RX_DUP_REQ].name = "rx_dup_req",
	[RODP_CNT_RETRANSMITS].name = "retransmits",
	[RODP_CNT_ACK_TIMEOUTS].name = "ack_timeouts",
	[RODP_CNT_RNR_WAITS].name = "rnr_waits",
	[RODP_CNT_RX_DROP_QKEY].name = "rx_drop_qkey",
	[RODP_CNT_RX_DROP_NORECV].name = "rx_drop_norecv",
	[RODP_CNT_UC_DROP_SEQ].name = "uc_drop_seq",
	[RODP_CNT_UC_DROP_ACCESS].name = "uc_drop_access",
	[RODP_CNT_UC_DROP_NO_RECV].name = "uc_drop_no_recv",
	[RODP_CNT_UC_PACED].name = "uc_paced",
	[RODP_CNT_DEFERRED].name = "work_deferred",
	[RODP_CNT_TX_LOCAL].name = "tx_local",
	[RODP_CNT_TX_ZCOPY].name = "tx_zcopy",
	[RODP_CNT_TX_CALL].name = "tx_call",
	[RODP_CNT_ODP_FAULTS].name = "odp_faults",
	[RODP_CNT_ODP_FAULT_PAGES].name = "odp_fault_pages",
	[RODP_CNT_ODP_FAULT_FAILS].name = "odp_fault_fails",
	[RODP_CNT_ODP_FAULT_NS].name = "odp_fault_ns",
	[RODP_CNT_ODP_INVALIDATIONS].name = "odp_invalidations",
	[RODP_CNT_ODP_INVAL_PAGES].name = "odp_inval_pages",
	[RODP_CNT_ODP_PREFETCHES].name = "odp_prefetches",
	[RODP_CNT_ODP_PREFETCH_PAGES].name = "odp_prefetch_pages",
};

static struct rdma_hw_stats *rodp_alloc_hw_port_stats(struct ib_device *ibdev,
						      u32 port)
{
	return rdma_alloc_hw_stats_struct(rodp_counter_desc, RODP_CNT_MAX,
					  RDMA_HW_STATS_DEFAULT_LIFESPAN);
}

static int rodp_get_hw_stats(struct ib_device *ibdev,
			     struct rdma_hw_stats *stats, u32 port, int index)
{
	struct rodp_dev *rdev = to_rdev(ibdev);
	int i;

	for (i = 0; i < RODP_CNT_MAX; i++)
		stats->value[i] = atomic64_read(&rdev->cnt[i]);
	return RODP_CNT_MAX;
}

static void rodp_dealloc_driver(struct ib_device *ibdev)
{
	rodp_dev_gone(to_rdev(ibdev));
}

/*
 * An out-of-tree driver has no RDMA driver id, so the provider recognises
 * rodp devices by this attribute (see RODP_SYSFS_ABI_ATTR).
 */
static ssize_t rodp_abi_show(struct device *device,
			     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", RODP_UVERBS_ABI_VERSION);
}
static struct device_attribute dev_attr_rodp_abi =
	__ATTR(rodp_abi, 0444, rodp_abi_show, NULL);

static struct attribute *rodp_dev_attrs[] = {
	&dev_attr_rodp_abi.attr,
	NULL,
};

static const struct attribute_group rodp_dev_attr_group = {
	.attrs = rodp_dev_attrs,
};

const struct ib_device_ops rodp_dev_ops = {
	.owner = THIS_MODULE,
	.driver_id = RDMA_DRIVER_UNKNOWN,
	.uverbs_abi_ver = RODP_UVERBS_ABI_VERSION,
	.device_group = &rodp_dev_attr_group,

	.alloc_hw_port_stats = rodp_alloc_hw_port_stats,
	.dealloc_driver = rodp_dealloc_driver,
	.get_hw_stats = rodp_get_hw_stats,
	.get_dev_fw_str = rodp_get_dev_fw_str,
	.get_link_layer = rodp_get_link_layer,
	.get_port_immutable = rodp_get_port_immutable,
	.query_device = rodp_query_device,
	.query_pkey = rodp_query_pkey,
	.query_port = rodp_query_port,
};

/**
 * rodp_port_event - tell the RDMA core if the port state changed
 * @rdev: a registered device the caller holds a reference on
 *
 * Port state follows the netdev: ACTIVE while it is running with carrier.
 */
void rodp_port_event(struct rodp_dev *rdev)
{
	struct ib_event ev = {
		.device = &rdev->ibdev,
		.element.port_num = 1,
	};
	bool up;

	ASSERT_RTNL();

	up = rodp_port_up(rdev);
	if (up == rdev->port_active)
		return;
	rdev->port_active = up;
	ev.event = up ? IB_EVENT_PORT_ACTIVE : IB_EVENT_PORT_ERR;
	ib_dispatch_event(&ev);
}

/**
 * rodp_dev_register - set up and register a device with the RDMA core
 * @rdev: allocated device with ndev and net set, on the device list
 * @name: the RDMA device name asked for
 *
 * Sets the device's ops first: from then on any failure is undone by
 * ib_dealloc_device() through the dealloc_driver callback.
 *
 * Return: 0 or a negative errno.
 */
int rodp_dev_register(struct rodp_dev *rdev, const char *name)
{
	struct ib_device *ibdev = &rdev->ibdev;
	int err;

	ib_set_device_ops(ibdev, &rodp_dev_ops);
	ib_set_device_ops(ibdev, &rodp_verbs_ops);
	ib_set_device_ops(ibdev, &rodp_mr_ops);
	ib_set_device_ops(ibdev, &rodp_odp_ops);
	ib_set_device_ops(ibdev, &rodp_mw_ops);
	ib_set_device_ops(ibdev, &rodp_frmr_ops);
	ib_set_device_ops(ibdev, &rodp_qp_ops);
	ib_set_device_ops(ibdev, &rodp_ah_ops);
	ib_set_device_ops(ibdev, &rodp_mcast_ops);
	ib_set_device_ops(ibdev, &rodp_srq_ops);
	ib_set_device_ops(ibdev, &rodp_xrc_ops);
	rodp_import_setup(ibdev);

	ibdev->node_type = RDMA_NODE_IB_CA;
	ibdev->phys_port_cnt = 1;
	ibdev->num_comp_vectors = num_possible_cpus();
	ibdev->local_dma_lkey = 0;
	/* Legacy write() commands the core does not enable by itself. */
	ibdev->uverbs_cmd_mask |= BIT_ULL(IB_USER_VERBS_CMD_REQ_NOTIFY_CQ) |
				  BIT_ULL(IB_USER_VERBS_CMD_POST_SEND) |
				  BIT_ULL(IB_USER_VERBS_CMD_POST_RECV);
	strscpy(ibdev->node_desc, "rodp", sizeof(ibdev->node_desc));
	addrconf_addr_eui48((unsigned char *)&ibdev->node_guid,
			    rdev->ndev->dev_addr);
	rdev->port_active = false;

	err = ib_device_set_netdev(ibdev, rdev->ndev, 1);
	if (err)
		return err;

	return ib_register_device(ibdev, name, NULL);
}
