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
struct rgvt_i915_ctx;

int rgvt_i915_attach(void);
void rgvt_i915_detach(void);
u64 rgvt_i915_ggtt_entries(struct drm_i915_private *i915);
u64 rgvt_i915_aperture_size(struct drm_i915_private *i915);
void rgvt_i915_ggtt_write(struct drm_i915_private *i915, u64 index, u64 pte);
void rgvt_i915_ggtt_invalidate(struct drm_i915_private *i915);
u64 rgvt_i915_scratch_mfn(struct drm_i915_private *i915);
struct device *rgvt_i915_dev(struct drm_i915_private *i915);

/* DMA mappings of host frames for the GPU (shadow PPGTT pages, guest pages). */
int rgvt_i915_dma_map(struct drm_i915_private *i915, unsigned long pfn, u64 *dma);
void rgvt_i915_dma_unmap(struct drm_i915_private *i915, u64 dma);

/* Submission: a host context per vGPU and engine (see rust/i915.c). */
int rgvt_i915_ctx_create(struct drm_i915_private *i915, u32 engine,
			 struct rgvt_i915_ctx **out);
void rgvt_i915_ctx_set_root(struct rgvt_i915_ctx *c, u64 pml4);
int rgvt_i915_ctx_submit(struct rgvt_i915_ctx *c, const u32 *cmds, size_t dwords);
int rgvt_i915_ctx_wait(struct rgvt_i915_ctx *c, long timeout);
void rgvt_i915_ctx_retire(struct rgvt_i915_ctx *c);
void rgvt_i915_ctx_destroy(struct rgvt_i915_ctx *c);

/* Implemented in Rust (rust/backend/i915.rs). */
int rgvt_i915_init_device(struct drm_i915_private *i915);
void rgvt_i915_clean_device(struct drm_i915_private *i915);

#endif /* RGVT_I915_H */
