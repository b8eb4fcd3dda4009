// SPDX-License-Identifier: GPL-2.0
/*
 * rgvt's i915 backend: the hooks into i915 that the Rust backend
 * (rust/backend/i915.rs) calls. rgvt attaches to i915 the way kvmgt does,
 * through intel_gvt_set_ops(), and reaches the GGTT the way GVT-g's gtt.c
 * does (the gsm mapping, under a runtime-PM reference).
 *
 * Submission follows GVT-g's gvt/scheduler.c: a host intel_context per vGPU
 * and engine on a PPGTT of its own whose root is swapped for the vGPU's
 * shadow PML4 before each workload (set_context_ppgtt_from_shadow; the
 * shadow's pages and the guest pages it names are mapped for i915's device
 * by rgvt_i915_dma_map, as GVT-g's gtt.c and kvmgt.c map them), the
 * audited copy of the workload in a shadow batch (a shmem object pinned in
 * the GGTT, as GVT-g shadows privileged batches), and one i915_request
 * whose ring only starts that batch. Each function below is one i915 step;
 * the sequencing, the timeouts and the bookkeeping are Rust's
 * (rust/backend/i915.rs).
 *
 * Built only with CONFIG_DRM_I915_GVT, against i915's own headers.
 */
#include "i915_drv.h"
#include "i915_request.h"
#include "i915_vma.h"
#include "intel_gvt.h"
#include "gem/i915_gem_object.h"
#include "gt/intel_context.h"
#include "gt/intel_engine.h"
#include "gt/intel_gpu_commands.h"
#include "gt/intel_gt.h"
#include "gt/intel_gtt.h"
#include "gt/intel_lrc_reg.h"

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

/*
 * Maps the 4 KB frame @pfn (a shadow page-table page rgvt owns, or a guest
 * page pinned with vfio_pin_pages) for the GPU, as GVT-g's
 * gvt_dma_map_page() and its shadow page allocation do: dma_map_page() on
 * i915's PCI device, both directions (the GPU reads page tables and reads
 * and writes guest pages).
 */
int rgvt_i915_dma_map(struct drm_i915_private *i915, unsigned long pfn, u64 *dma)
{
	struct device *dev = i915->drm.dev;
	dma_addr_t addr;

	if (!pfn_valid(pfn))
		return -EFAULT;
	addr = dma_map_page(dev, pfn_to_page(pfn), 0, PAGE_SIZE, DMA_BIDIRECTIONAL);
	if (dma_mapping_error(dev, addr))
		return -ENOMEM;
	*dma = addr;
	return 0;
}

/* Undoes rgvt_i915_dma_map() of the mapping at @dma. */
void rgvt_i915_dma_unmap(struct drm_i915_private *i915, u64 dma)
{
	dma_unmap_page(i915->drm.dev, dma, PAGE_SIZE, DMA_BIDIRECTIONAL);
}

/* rgvt's engine index (EngineId::index: rcs, bcs, vcs, vecs) to i915's. */
static const enum intel_engine_id rgvt_i915_engines[] = {
	RCS0, BCS0, VCS0, VECS0,
};

/*
 * A host context of one vGPU on one engine, with at most one request in
 * flight (the engine worker runs one workload per engine at a time).
 */
struct rgvt_i915_ctx {
	struct intel_context *ce;
	/* Our reference on the context's PPGTT (ce->vm holds another). */
	struct i915_ppgtt *ppgtt;
	/* The PML4 i915 allocated, put back before the PPGTT is freed. */
	dma_addr_t own_root;
	struct i915_request *rq;
};

/* GVT-g's set_dma_address(): i915 reads px_dma() of the top directory. */
static void rgvt_i915_set_pd_dma(struct i915_page_directory *pd, dma_addr_t addr)
{
	pd->pt.base->mm.pages->sgl->dma_address = addr;
}

int rgvt_i915_ctx_create(struct drm_i915_private *i915, u32 engine,
			 struct rgvt_i915_ctx **out)
{
	struct intel_gt *gt = to_gt(i915);
	struct intel_engine_cs *e;
	struct rgvt_i915_ctx *c;
	struct i915_ppgtt *ppgtt;
	int err;

	if (engine >= ARRAY_SIZE(rgvt_i915_engines))
		return -EINVAL;
	e = gt->engine[rgvt_i915_engines[engine]];
	if (!e)
		return -ENODEV;
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	ppgtt = i915_ppgtt_create(gt, I915_BO_ALLOC_PM_EARLY);
	if (IS_ERR(ppgtt)) {
		err = PTR_ERR(ppgtt);
		goto err_free;
	}
	/* The shadow is a 4-level tree: its root replaces the PML4. */
	if (!i915_vm_is_4lvl(&ppgtt->vm)) {
		err = -ENODEV;
		goto err_vm;
	}
	c->ce = intel_context_create(e);
	if (IS_ERR(c->ce)) {
		err = PTR_ERR(c->ce);
		goto err_vm;
	}
	i915_vm_put(c->ce->vm);
	c->ce->vm = i915_vm_get(&ppgtt->vm);
	intel_context_set_single_submission(c->ce);
	err = intel_context_pin(c->ce);
	if (err)
		goto err_ce;
	c->ppgtt = ppgtt;
	c->own_root = px_dma(ppgtt->pd);
	*out = c;
	return 0;

err_ce:
	intel_context_put(c->ce);
err_vm:
	i915_vm_put(&ppgtt->vm);
err_free:
	kfree(c);
	return err;
}

void rgvt_i915_ctx_set_root(struct rgvt_i915_ctx *c, u64 pml4)
{
	/* As GVT-g: the PPGTT's top directory and the image's PDP0 (PML4). */
	rgvt_i915_set_pd_dma(c->ppgtt->pd, pml4);
	c->ce->lrc_reg_state[CTX_PDP0_UDW] = upper_32_bits(pml4);
	c->ce->lrc_reg_state[CTX_PDP0_LDW] = lower_32_bits(pml4);
}

/*
 * Copies @dwords of @cmds (audited, straight-line, ending in
 * MI_BATCH_BUFFER_END) into a new shadow batch and submits a request on
 * @c that runs it. Once the request exists it is added even if emitting
 * failed; the error is returned and the request is still reaped by
 * rgvt_i915_ctx_wait() and rgvt_i915_ctx_retire().
 */
int rgvt_i915_ctx_submit(struct rgvt_i915_ctx *c, const u32 *cmds, size_t dwords)
{
	struct drm_i915_private *i915 = c->ce->engine->i915;
	struct drm_i915_gem_object *obj;
	struct i915_gem_ww_ctx ww;
	struct i915_request *rq;
	struct i915_vma *vma;
	size_t bytes;
	void *va;
	int err;

	if (c->rq)
		return -EBUSY;
	if (!dwords || dwords > SZ_64M / sizeof(u32))
		return -E2BIG;
	bytes = round_up(dwords * sizeof(u32), PAGE_SIZE);
	obj = i915_gem_object_create_shmem(i915, bytes);
	if (IS_ERR(obj))
		return PTR_ERR(obj);

	/*
	 * Execbuffer's order: the object's lock, then the request (the
	 * context's timeline lock); the request is added under the object's
	 * lock. The batch is pinned in the GGTT and active on the request, as
	 * prepare_shadow_batch_buffer() does.
	 */
	i915_gem_ww_ctx_init(&ww, false);
retry:
	err = i915_gem_object_lock(obj, &ww);
	if (!err) {
		vma = i915_gem_object_ggtt_pin_ww(obj, &ww, NULL, 0, 0, 0);
		if (IS_ERR(vma))
			err = PTR_ERR(vma);
	}
	if (err == -EDEADLK) {
		err = i915_gem_ww_ctx_backoff(&ww);
		if (!err)
			goto retry;
	}
	if (err)
		goto fini;

	va = i915_gem_object_pin_map(obj, I915_MAP_WB);
	if (IS_ERR(va)) {
		err = PTR_ERR(va);
		goto unpin;
	}
	memcpy(va, cmds, dwords * sizeof(u32));
	i915_gem_object_flush_map(obj);
	i915_gem_object_unpin_map(obj);

	rq = i915_request_create(c->ce);
	if (IS_ERR(rq)) {
		err = PTR_ERR(rq);
		goto unpin;
	}
	err = i915_vma_move_to_active(vma, rq, __EXEC_OBJECT_NO_REQUEST_AWAIT);
	/* As copy_workload_to_ring_buffer(): the initial breadcrumb first. */
	if (!err && rq->engine->emit_init_breadcrumb)
		err = rq->engine->emit_init_breadcrumb(rq);
	/* A GGTT batch (secure): the GGTT holds the shadow copy. */
	if (!err)
		err = rq->engine->emit_bb_start(rq, i915_vma_offset(vma), bytes,
						I915_DISPATCH_SECURE);
	/*
	 * Added even if emitting failed: a created request holds the
	 * timeline until it is added. The request keeps the batch bound and
	 * alive (it is active on the vma) until it retires, as execbuffer's.
	 */
	c->rq = i915_request_get(rq);
	i915_request_add(rq);
unpin:
	i915_vma_unpin(vma);
fini:
	i915_gem_ww_ctx_fini(&ww);
	i915_gem_object_put(obj);
	return err;
}

/*
 * Waits up to @timeout jiffies for the request in flight: 0 when it
 * completed, -ETIME if it still runs, its fence error if it failed (an
 * engine reset after a hang), -ENOENT if there is none.
 */
int rgvt_i915_ctx_wait(struct rgvt_i915_ctx *c, long timeout)
{
	long t;

	if (!c->rq)
		return -ENOENT;
	t = i915_request_wait(c->rq, 0, timeout);
	if (t < 0)
		return t;
	return c->rq->fence.error;
}

/* Drops the request in flight (it may still run; i915 retires it). */
void rgvt_i915_ctx_retire(struct rgvt_i915_ctx *c)
{
	if (c->rq) {
		i915_request_put(c->rq);
		c->rq = NULL;
	}
}

/*
 * Destroys @c. Its last request is waited for without a bound, as GVT-g's
 * intel_gvt_wait_vgpu_idle() does: i915's hang check ends a hung one, and
 * the shadow pages it runs on must outlive it.
 */
void rgvt_i915_ctx_destroy(struct rgvt_i915_ctx *c)
{
	if (c->rq)
		i915_request_wait(c->rq, 0, MAX_SCHEDULE_TIMEOUT);
	rgvt_i915_ctx_retire(c);
	rgvt_i915_set_pd_dma(c->ppgtt->pd, c->own_root);
	intel_context_unpin(c->ce);
	intel_context_put(c->ce);
	i915_vm_put(&c->ppgtt->vm);
	kfree(c);
}
