/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers for rgvt: kernel macros and static inlines that Rust cannot call
 * directly. Each is one line of C; the logic lives in Rust.
 */
#ifndef RGVT_HELPERS_H
#define RGVT_HELPERS_H

#include <linux/device.h>
#include <linux/vfio.h>

void rgvt_vfio_put_device(struct vfio_device *vdev);
const char *rgvt_param_backend(void);

#endif /* RGVT_HELPERS_H */
