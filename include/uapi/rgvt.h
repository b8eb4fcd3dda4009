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

/*
 * Write tracking region (core/src/shadow/track.rs): for a VMM without KVM.
 *
 * Region RGVT_TRACK_REGION_INDEX (the first after the PCI ones) carries a
 * VFIO_REGION_INFO_CAP_TYPE capability of type RGVT_TRACK_TYPE (an Intel
 * vendor type) and subtype RGVT_TRACK_SUBTYPE. The shadow PPGTT lists the
 * guest frames whose writes it must see; the VMM:
 *   1. writes RGVT_TRACK_CTL_ENABLE (u32) at RGVT_TRACK_CTL;
 *   2. reads generation, count and the sorted frame list (u64 each at
 *      RGVT_TRACK_FRAMES, 8-byte aligned reads); the list is consistent if
 *      the generation read again is unchanged;
 *   3. write-protects those frames in its guest, then writes that
 *      generation (u64) at RGVT_TRACK_ACK;
 *   4. forwards every guest write to a listed frame, after it landed in
 *      guest memory, as one struct rgvt_track_write at RGVT_TRACK_WRITE;
 *   5. repeats 2-3 whenever the generation moved (e.g. after each write
 *      it forwards and before each submission).
 * Until the VMM acknowledged a generation, the frames it added are rebuilt
 * from guest memory before every workload, so a late acknowledgement costs
 * time, never correctness. Refused with EINVAL and counted (debugfs):
 * other offsets or sizes, a record with size 0 or > 8, flags, or crossing
 * a page, a frame not listed, an acknowledgement older than the last or
 * newer than the list; EPERM: a write forwarded while not enabled. The
 * shadow itself refuses writes other than 4 or 8 bytes aligned to their
 * size (EINVAL), after rebuilding the entries they touched from memory.
 */
#define RGVT_TRACK_REGION_INDEX		9	/* VFIO_PCI_NUM_REGIONS */
#define RGVT_TRACK_TYPE			0x80008086	/* VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086 */
#define RGVT_TRACK_SUBTYPE		0x52470001
#define RGVT_TRACK_VERSION_1		1
#define RGVT_TRACK_MAX_FRAMES		65536
#define RGVT_TRACK_REGION_SIZE		0x81000	/* RGVT_TRACK_FRAMES + 8 * max */

#define RGVT_TRACK_VERSION		0x00	/* u32, read-only: RGVT_TRACK_VERSION_1 */
#define RGVT_TRACK_FLAGS		0x04	/* u32, read-only: RGVT_TRACK_FLAG_ON */
#define RGVT_TRACK_GENERATION		0x08	/* u64, read-only */
#define RGVT_TRACK_COUNT		0x10	/* u32, read-only: frames listed */
#define RGVT_TRACK_MAX			0x14	/* u32, read-only: RGVT_TRACK_MAX_FRAMES */
#define RGVT_TRACK_ACKED		0x18	/* u64, read-only */
#define RGVT_TRACK_CTL			0x20	/* u32, write-only */
#define RGVT_TRACK_ACK			0x28	/* u64, write-only */
#define RGVT_TRACK_WRITE		0x40	/* struct rgvt_track_write, write-only */
#define RGVT_TRACK_FRAMES		0x1000	/* u64[count], sorted, read-only */

#define RGVT_TRACK_FLAG_ON		1
#define RGVT_TRACK_CTL_DISABLE		0
#define RGVT_TRACK_CTL_ENABLE		1

/* One forwarded guest write: `size` bytes of `data` at guest address `gpa`. */
struct rgvt_track_write {
	__u64 gpa;
	__u32 size;	/* 1..8, not crossing a page */
	__u32 flags;	/* 0 */
	__u8 data[8];
};

#endif /* _UAPI_RGVT_H */
