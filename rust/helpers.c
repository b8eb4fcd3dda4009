// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel macros and static inlines for rgvt's Rust code (see helpers.h).
 */
#include "helpers.h"

void rgvt_vfio_put_device(struct vfio_device *vdev)
{
	vfio_put_device(vdev);
}

/*
 * Module parameters: module_param() is a macro family that 6.12's `module!`
 * has no equivalent for. Rust reads them through the accessors below.
 */
static char *backend = "auto";
module_param(backend, charp, 0444);
MODULE_PARM_DESC(backend, "GPU backend: auto, sim or i915 (default: auto)");

const char *rgvt_param_backend(void)
{
	return backend;
}

static unsigned int sim_gm_mb = 4096;
module_param(sim_gm_mb, uint, 0444);
MODULE_PARM_DESC(sim_gm_mb, "sim backend: graphics memory in MB, 512..4096 (default: 4096)");

static unsigned int sim_aperture_mb = 256;
module_param(sim_aperture_mb, uint, 0444);
MODULE_PARM_DESC(sim_aperture_mb, "sim backend: aperture (low GM) in MB, a power of two (default: 256)");

unsigned int rgvt_param_sim_gm_mb(void)
{
	return sim_gm_mb;
}

unsigned int rgvt_param_sim_aperture_mb(void)
{
	return sim_aperture_mb;
}

/*
 * Writable at run time (read when a vGPU is created): the sim's vGPUs made
 * while it is set get the shadow a real GPU needs (pages "DMA-mapped" 1:1,
 * guest pages held pinned), so the kselftests run that path without one.
 */
static bool sim_dma;
module_param(sim_dma, bool, 0644);
MODULE_PARM_DESC(sim_dma, "sim backend: vGPUs created while set get a real GPU's DMA-mapped shadow, mapped 1:1 (default: N)");

bool rgvt_param_sim_dma(void)
{
	return READ_ONCE(sim_dma);
}

unsigned long rgvt_page_to_pfn(struct page *page)
{
	return page_to_pfn(page);
}

void rgvt_pfn_read(unsigned long pfn, size_t offset, void *buf, size_t len)
{
	void *va = kmap_local_pfn(pfn);

	memcpy(buf, va + offset, len);
	kunmap_local(va);
}

void rgvt_pfn_write(unsigned long pfn, size_t offset, const void *buf, size_t len)
{
	void *va = kmap_local_pfn(pfn);

	memcpy(va + offset, buf, len);
	kunmap_local(va);
}

/*
 * The size the C compiler gives each structure that Rust embeds or
 * allocates by the bindings' layout; see rust/layout.rs.
 */
size_t rgvt_c_sizeof(enum rgvt_c_struct what)
{
	switch (what) {
	case RGVT_VFIO_DEVICE:
		return sizeof(struct vfio_device);
	case RGVT_VFIO_DEVICE_OPS:
		return sizeof(struct vfio_device_ops);
	case RGVT_MDEV_DEVICE:
		return sizeof(struct mdev_device);
	case RGVT_MDEV_TYPE:
		return sizeof(struct mdev_type);
	case RGVT_MDEV_PARENT:
		return sizeof(struct mdev_parent);
	case RGVT_MDEV_DRIVER:
		return sizeof(struct mdev_driver);
	case RGVT_FILE_OPERATIONS:
		return sizeof(struct file_operations);
	case RGVT_KOBJ_ATTRIBUTE:
		return sizeof(struct kobj_attribute);
	case RGVT_DEVICE_ATTRIBUTE:
		return sizeof(struct device_attribute);
	case RGVT_ATTRIBUTE_GROUP:
		return sizeof(struct attribute_group);
	case RGVT_DEVICE:
		return sizeof(struct device);
	}
	return 0;
}

void rgvt_cond_resched(void)
{
	cond_resched();
}

struct workqueue_struct *rgvt_alloc_engine_wq(int max_active)
{
	return alloc_workqueue("rgvt_engines", WQ_UNBOUND, max_active);
}

void rgvt_usleep_range(unsigned long min_us, unsigned long max_us)
{
	usleep_range(min_us, max_us);
}
