/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The i915 backend's C hooks (rust/i915.c) and the Rust callbacks they call.
 * struct drm_i915_private stays opaque to Rust.
 */
#ifndef RGVT_I915_H
#define RGVT_I915_H

#include <linux/types.h>

struct device;
struct drm_i915_private;

int rgvt_i915_attach(void);
void rgvt_i915_detach(void);
u64 rgvt_i915_ggtt_entries(struct drm_i915_private *i915);
u64 rgvt_i915_aperture_size(struct drm_i915_private *i915);
void rgvt_i915_ggtt_write(struct drm_i915_private *i915, u64 index, u64 pte);
void rgvt_i915_ggtt_invalidate(struct drm_i915_private *i915);
u64 rgvt_i915_scratch_mfn(struct drm_i915_private *i915);
struct device *rgvt_i915_dev(struct drm_i915_private *i915);

/* Implemented in Rust (rust/backend/i915.rs). */
int rgvt_i915_init_device(struct drm_i915_private *i915);
void rgvt_i915_clean_device(struct drm_i915_private *i915);

#endif /* RGVT_I915_H */
