// SPDX-License-Identifier: GPL-2.0
/*
 * KVM write tracking for rgvt (see kvm.h), as kvmgt.c does it.
 *
 * Lock order (documented in Documentation/rgvt/design.rst): KVM calls
 * track_write in a vCPU under its srcu read locks, and track_remove_region
 * under kvm->slots_lock; both take the vGPU's shadow lock. Under the
 * shadow lock rgvt calls rgvt_kvm_track_add/remove, which take kvm->srcu
 * (read) and kvm->mmu_lock, never slots_lock and never a synchronize_srcu.
 * rgvt_kvm_track_unregister synchronizes the notifier's srcu, so it is
 * called with no lock of rgvt's held.
 */
#include <linux/err.h>
#include <linux/kvm_host.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <asm/kvm_page_track.h>

#include "kvm.h"

struct rgvt_kvm_track {
	struct kvm_page_track_notifier_node node;
	struct kvm *kvm;
	rgvt_kvm_write_fn write;
	rgvt_kvm_remove_fn remove;
	void *data;
};

static void rgvt_kvm_track_write(gpa_t gpa, const u8 *val, int len,
				 struct kvm_page_track_notifier_node *node)
{
	struct rgvt_kvm_track *t = container_of(node, struct rgvt_kvm_track, node);

	t->write(t->data, gpa, val, len);
}

static void rgvt_kvm_track_remove_region(gfn_t gfn, unsigned long nr_pages,
					 struct kvm_page_track_notifier_node *node)
{
	struct rgvt_kvm_track *t = container_of(node, struct rgvt_kvm_track, node);

	t->remove(t->data, gfn, nr_pages);
}

struct rgvt_kvm_track *rgvt_kvm_track_register(struct vfio_device *vdev,
					       rgvt_kvm_write_fn write,
					       rgvt_kvm_remove_fn remove,
					       void *data)
{
	struct rgvt_kvm_track *t;
	int ret;

	if (!vdev->kvm)
		return NULL;
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return ERR_PTR(-ENOMEM);
	t->kvm = vdev->kvm;
	t->write = write;
	t->remove = remove;
	t->data = data;
	t->node.track_write = rgvt_kvm_track_write;
	t->node.track_remove_region = rgvt_kvm_track_remove_region;
	ret = kvm_page_track_register_notifier(t->kvm, &t->node);
	if (ret) {
		kfree(t);
		return ERR_PTR(ret);
	}
	return t;
}

void rgvt_kvm_track_unregister(struct rgvt_kvm_track *t)
{
	kvm_page_track_unregister_notifier(t->kvm, &t->node);
	kfree(t);
}

int rgvt_kvm_track_add(struct rgvt_kvm_track *t, u64 gfn)
{
	return kvm_write_track_add_gfn(t->kvm, gfn);
}

int rgvt_kvm_track_remove(struct rgvt_kvm_track *t, u64 gfn)
{
	return kvm_write_track_remove_gfn(t->kvm, gfn);
}
