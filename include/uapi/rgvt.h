/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rgvt: the user ABI of a vGPU's VFIO device and its PV info page.
 *
 * Everything here mirrors a definition in the Rust core (named in each
 * comment); core/tests/uapi.rs checks that the values agree.
 */
#ifndef _UAPI_RGVT_H
#define _UAPI_RGVT_H

#include <linux/types.h>

/* VFIO regions: offset of region N in the device fd (as vfio-pci). */
#define RGVT_REGION_SHIFT		40
#define RGVT_REGION_OFFSET(index)	((__u64)(index) << RGVT_REGION_SHIFT)

/* BAR0 layout (core/src/mmio.rs). */
#define RGVT_BAR0_SIZE			(16ULL << 20)
#define RGVT_MMIO_SIZE			(2U << 20)
#define RGVT_GGTT_OFFSET		(8ULL << 20)
#define RGVT_GGTT_ENTRY_SIZE		8

/* PCI identity (core/src/cfg_space.rs): Intel gen9, Skylake GT2. */
#define RGVT_PCI_VENDOR_ID		0x8086
#define RGVT_PCI_DEVICE_ID		0x1912

/* PV info page, struct vgt_if of i915_pvinfo.h (core/src/pvinfo.rs). */
#define VGT_PVINFO_PAGE			0x78000
#define VGT_PVINFO_SIZE			0x1000
#define VGT_MAGIC			0x4776544776544776ULL
#define VGT_IF_MAGIC			0x00	/* u64, read-only */
#define VGT_IF_VERSION_MAJOR		0x08	/* u16, read-only: 1 */
#define VGT_IF_VERSION_MINOR		0x0a	/* u16, read-only: 0 */
#define VGT_IF_VGT_ID			0x0c	/* read-only */
#define VGT_IF_VGT_CAPS			0x10	/* read-only */
#define VGT_IF_MAPPABLE_BASE		0x40	/* avail_rs, read-only */
#define VGT_IF_MAPPABLE_SIZE		0x44
#define VGT_IF_NONMAPPABLE_BASE		0x48
#define VGT_IF_NONMAPPABLE_SIZE		0x4c
#define VGT_IF_FENCE_NUM		0x50
#define VGT_IF_DISPLAY_READY		0x804	/* guest-writable */
#define VGT_IF_G2V_NOTIFY		0x818	/* guest-writable */
#define VGT_IF_PDP			0x838	/* pdp[4].lo/hi, guest-writable */

/*
 * Runtime ballooning, an rgvt extension of vgt_if in its reserved words
 * (core/src/balloon/protocol.rs). Host-to-guest fields are read-only for
 * the guest; guest-to-host fields are writable. Every field is a u32.
 */
#define RGVT_PV_BALLOON_VERSION		0x100	/* host: 1, or 0 without runtime ballooning */
#define RGVT_PV_BALLOON_STATUS		0x104	/* host: enum rgvt_balloon_status */
#define RGVT_PV_BALLOON_SEQ		0x108	/* host: sequence number of the answer */
#define RGVT_PV_BALLOON_KEEP_BASE	0x10c	/* host: high GM kept by a release */
#define RGVT_PV_BALLOON_KEEP_SIZE	0x110
#define RGVT_PV_BALLOON_SLOT_SIZE	0x114	/* host: bytes per slot */
#define RGVT_PV_BALLOON_SLOT_BASE	0x118	/* host: GM address of slot 0 */
#define RGVT_PV_BALLOON_SLOT_MAP	0x120	/* host: u32[8] bitmap of usable slots */
#define RGVT_PV_BALLOON_REQ_SLOTS	0x880	/* guest: slots asked for */
#define RGVT_PV_BALLOON_REQ_EVICTIONS	0x884	/* guest: evictions since the last request */
#define RGVT_PV_BALLOON_REQ_SEQ		0x888	/* guest: sequence number of the request */
#define RGVT_PV_BALLOON_ACK_SEQ		0x88c	/* guest: answer acknowledged or refused */

/* g2v_notify values of the balloon protocol. */
#define RGVT_G2V_BALLOON_REQUEST	0x80
#define RGVT_G2V_BALLOON_ACK		0x81
#define RGVT_G2V_BALLOON_REFUSE		0x82

enum rgvt_balloon_status {
	RGVT_BALLOON_IDLE = 0,
	RGVT_BALLOON_GRANTED = 1,
	RGVT_BALLOON_REJECTED = 2,
	RGVT_BALLOON_RELEASE = 3,
};

#endif /* _UAPI_RGVT_H */
