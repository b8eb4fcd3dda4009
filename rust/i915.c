// SPDX-License-Identifier: GPL-2.0
/*
 * rgvt's i915 backend: the hooks into i915 that the Rust backend
 * (rust/backend/i915.rs) calls. rgvt attaches to i915 the way kvmgt does,
 * through intel_gvt_set_ops(), and reaches the GGTT the way GVT-g's gtt.c
 * does (the gsm mapping, under a runtime-PM reference).
 *
 * Built only with CONFIG_DRM_I915_GVT, against i915's own headers.
 */
#include "i915_drv.h"
#include "intel_gvt.h"
#include "gt/intel_gt.h"
#include "gt/intel_gtt.h"

#include "i915.h"

MODULE_IMPORT_NS(I915_GVT);

static const struct intel_vgpu_ops rgvt_i915_ops = {
	.init_device = rgvt_i915_init_device,
	.clean_device = rgvt_i915_clean_device,
};

int rgvt_i915_attach(void)
{
	return intel_gvt_set_ops(&rgvt_i915_ops);
}

void rgvt_i915_detach(void)
{
	intel_gvt_clear_ops(&rgvt_i915_ops);
}

static struct i915_ggtt *ggtt_of(struct drm_i915_private *i915)
{
	return to_gt(i915)->ggtt;
}

u64 rgvt_i915_ggtt_entries(struct drm_i915_private *i915)
{
	return ggtt_total_entries(ggtt_of(i915));
}

u64 rgvt_i915_aperture_size(struct drm_i915_private *i915)
{
	return ggtt_of(i915)->mappable_end;
}

void rgvt_i915_ggtt_write(struct drm_i915_private *i915, u64 index, u64 pte)
{
	intel_wakeref_t wakeref = intel_runtime_pm_get(&i915->runtime_pm);

	writeq(pte, (u64 __iomem *)ggtt_of(i915)->gsm + index);
	intel_runtime_pm_put(&i915->runtime_pm, wakeref);
}

void rgvt_i915_ggtt_invalidate(struct drm_i915_private *i915)
{
	struct i915_ggtt *ggtt = ggtt_of(i915);
	intel_wakeref_t wakeref = intel_runtime_pm_get(&i915->runtime_pm);

	ggtt->invalidate(ggtt);
	intel_runtime_pm_put(&i915->runtime_pm, wakeref);
}

u64 rgvt_i915_scratch_mfn(struct drm_i915_private *i915)
{
	return px_dma(ggtt_of(i915)->vm.scratch[0]) >> PAGE_SHIFT;
}

struct device *rgvt_i915_dev(struct drm_i915_private *i915)
{
	return i915->drm.dev;
}
