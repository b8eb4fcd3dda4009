// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel macros and static inlines for rgvt's Rust code (see helpers.h).
 */
#include "helpers.h"

void rgvt_vfio_put_device(struct vfio_device *vdev)
{
	vfio_put_device(vdev);
}
