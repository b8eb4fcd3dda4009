/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM write tracking for rgvt (see rust/vfio/session.rs): a page-track
 * notifier on the VM the VMM associated with a vGPU's VFIO device, and the
 * protection of single guest frames. Each function is a few lines of C over
 * KVM's own API; what a trapped write means is decided in Rust.
 */
#ifndef RGVT_KVM_H
#define RGVT_KVM_H

#include <linux/types.h>

struct vfio_device;
struct rgvt_kvm_track;

/* A guest write of `len` bytes at `gpa` to a tracked page (already in memory). */
typedef void (*rgvt_kvm_write_fn)(void *data, u64 gpa, const u8 *val, int len);
/* The memslot [gfn, gfn + pages) was removed: KVM dropped its tracking. */
typedef void (*rgvt_kvm_remove_fn)(void *data, u64 gfn, u64 pages);

/*
 * Registers a page-track notifier on vdev->kvm, from the VMM's own task
 * (KVM requires kvm->mm == current->mm). Returns NULL when the device has
 * no VM, an ERR_PTR on failure. The notifier holds a reference to the VM.
 */
struct rgvt_kvm_track *rgvt_kvm_track_register(struct vfio_device *vdev,
					       rgvt_kvm_write_fn write,
					       rgvt_kvm_remove_fn remove,
					       void *data);
/* Unregisters (waits for every callback in flight) and frees. */
void rgvt_kvm_track_unregister(struct rgvt_kvm_track *t);
/* kvm_write_track_add_gfn / remove_gfn: take KVM's srcu and mmu_lock. */
int rgvt_kvm_track_add(struct rgvt_kvm_track *t, u64 gfn);
int rgvt_kvm_track_remove(struct rgvt_kvm_track *t, u64 gfn);

#endif /* RGVT_KVM_H */
