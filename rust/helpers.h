/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers for rgvt: kernel macros and static inlines that Rust cannot call
 * directly. Each is one line of C; the logic lives in Rust.
 */
#ifndef RGVT_HELPERS_H
#define RGVT_HELPERS_H

#include <linux/device.h>
#include <linux/highmem.h>
#include <linux/mdev.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>
#include <linux/delay.h>

void rgvt_vfio_put_device(struct vfio_device *vdev);
enum rgvt_c_struct {
	RGVT_VFIO_DEVICE,
	RGVT_VFIO_DEVICE_OPS,
	RGVT_MDEV_DEVICE,
	RGVT_MDEV_TYPE,
	RGVT_MDEV_PARENT,
	RGVT_MDEV_DRIVER,
	RGVT_FILE_OPERATIONS,
	RGVT_KOBJ_ATTRIBUTE,
	RGVT_DEVICE_ATTRIBUTE,
	RGVT_ATTRIBUTE_GROUP,
	RGVT_DEVICE,
};

/* sizeof(what) as the C compiler lays it out. */
size_t rgvt_c_sizeof(enum rgvt_c_struct what);
const char *rgvt_param_backend(void);
unsigned int rgvt_param_sim_gm_mb(void);
unsigned int rgvt_param_sim_aperture_mb(void);
bool rgvt_param_sim_dma(void);
unsigned long rgvt_page_to_pfn(struct page *page);
/* Copy within one host page frame; offset + len must not pass its end. */
void rgvt_pfn_read(unsigned long pfn, size_t offset, void *buf, size_t len);
void rgvt_pfn_write(unsigned long pfn, size_t offset, const void *buf, size_t len);
/* cond_resched() is a macro (a static call under PREEMPT_DYNAMIC). */
void rgvt_cond_resched(void);
/* alloc_workqueue() is variadic (a printf-style name): the engines' queue. */
struct workqueue_struct *rgvt_alloc_engine_wq(int max_active);
/* usleep_range() is a static inline. */
void rgvt_usleep_range(unsigned long min_us, unsigned long max_us);

#endif /* RGVT_HELPERS_H */
