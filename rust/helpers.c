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
