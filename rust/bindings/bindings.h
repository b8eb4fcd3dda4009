/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C APIs rgvt needs beyond 6.12's `kernel::bindings`. bindgen turns the
 * items named in `items` into rust/bindings/generated.rs.
 */
#include <linux/cdev.h>
#include <linux/debugfs.h>
#include <linux/iommu.h>
#include <linux/mdev.h>
#include <linux/seq_file.h>
#include <linux/vfio.h>
#include <uapi/linux/vfio.h>

#include "acct.h"
#include "helpers.h"
#include "i915.h"
#include "kvm.h"
