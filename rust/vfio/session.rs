// SPDX-License-Identifier: GPL-2.0

//! An open VFIO device kept beyond one callback, and KVM write tracking on
//! the VM the VMM associated with it (`vfio_device->kvm`).
//!
//! A [`Session`] is made at `open_device` and dropped at `close_device` by
//! its owner (the vGPU's write tracker): work that does not come from a
//! VFIO callback (KVM's page-track notifier, the debugfs probe) reaches
//! guest memory through it. It holds a reference to the device, so even a
//! session kept past the close is no use after free: VFIO then refuses its
//! pins (`vfio_assert_device_open`).
//!
//! [`KvmTrack`] is the notifier (`rust/kvm.c`): guest writes to protected
//! frames go to a [`KvmHandler`] with the session's device. Lock order (see
//! `Documentation/rgvt/design.rst`): the handler runs under KVM's srcu read
//! locks (a vCPU) or `slots_lock` (memslot removal) and may take the vGPU's
//! shadow lock; [`KvmTrack::protect`] and [`KvmTrack::unprotect`] take
//! `kvm->srcu` (read) and `kvm->mmu_lock` and may run under the shadow lock;
//! dropping a [`KvmTrack`] waits for the callbacks in flight, so it is
//! dropped with no lock of ours held.

use super::Device;
use crate::bindings;
use core::ptr::NonNull;
use kernel::error::from_err_ptr;
use kernel::prelude::*;
use kernel::sync::Arc;

/// An open VFIO device of ours, kept from `open_device` to `close_device`.
///
/// # Invariants
///
/// `vdev` is a device of ours on which this holds a reference
/// (`get_device` on its `struct device`).
pub(crate) struct Session {
    vdev: NonNull<bindings::vfio_device>,
}

// SAFETY: the reference may be dropped on any thread, and `Device`'s
// methods may be called from any thread.
unsafe impl Send for Session {}
// SAFETY: `&Session` only gives `&Device`, which is `Sync` in use (VFIO's
// pin calls are thread-safe).
unsafe impl Sync for Session {}

impl Session {
    /// Keeps `dev` for work outside its callbacks, until dropped at close.
    pub(crate) fn new(dev: &Device) -> Self {
        let vdev = dev.as_raw();
        // SAFETY: `dev` is live (type invariant of `Device`); the reference
        // keeps its memory until `drop` puts it.
        unsafe { bindings::get_device(core::ptr::addr_of_mut!((*vdev).device)) };
        // INVARIANT: the reference was taken just above.
        Self {
            // `dev` is a reference, so never null.
            vdev: NonNull::from(dev).cast(),
        }
    }

    /// The device, open while its owner keeps the session (see the module
    /// documentation for what happens otherwise).
    pub(crate) fn device(&self) -> &Device {
        // SAFETY: by the type invariant the device is live while `self` is.
        unsafe { Device::from_raw(self.vdev.as_ptr()) }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: drops the reference taken in `new` (type invariant).
        unsafe { bindings::rgvt_vfio_put_device(self.vdev.as_ptr()) };
    }
}

/// What KVM's page-track notifier calls on.
pub(crate) trait KvmHandler: Send + Sync + 'static {
    /// The guest wrote `data` at `gpa` in a protected frame (already in
    /// its memory); `dev` reaches the guest's memory.
    fn track_write(&self, dev: &Device, gpa: u64, data: &[u8]);

    /// KVM removed the memslot of frames [gfn, gfn + pages) and with it
    /// their protection.
    fn track_remove_region(&self, gfn: u64, pages: u64);
}

/// What the C notifier's `data` points at.
struct Inner {
    session: Session,
    handler: Arc<dyn KvmHandler>,
}

/// A page-track notifier registered on the VM of a device.
///
/// # Invariants
///
/// `raw` was returned by `rgvt_kvm_track_register` with `inner` as its
/// data and is unregistered (then freed) only in `drop`, before `inner`.
pub(crate) struct KvmTrack {
    raw: NonNull<bindings::rgvt_kvm_track>,
    inner: Pin<KBox<Inner>>,
}

// SAFETY: KVM's tracking functions may be called from any thread, and the
// notifier is unregistered from whichever thread drops it.
unsafe impl Send for KvmTrack {}
// SAFETY: `protect` and `unprotect` take KVM's own locks.
unsafe impl Sync for KvmTrack {}

/// KVM's `track_write`, with the data given at registration.
///
/// # Safety
///
/// `data` is the `Inner` of a live [`KvmTrack`]; `val` holds `len` bytes.
unsafe extern "C" fn track_write(
    data: *mut core::ffi::c_void,
    gpa: u64,
    val: *const u8,
    len: core::ffi::c_int,
) {
    // SAFETY: the registration outlives every callback (unregistering
    // waits for them), and `inner` outlives the registration.
    let inner = unsafe { &*data.cast::<Inner>() };
    let Ok(len) = usize::try_from(len) else {
        return;
    };
    if val.is_null() {
        return;
    }
    // SAFETY: KVM passes `len` bytes at `val` for the duration of the call.
    let bytes = unsafe { core::slice::from_raw_parts(val, len) };
    inner
        .handler
        .track_write(inner.session.device(), gpa, bytes);
}

/// KVM's `track_remove_region`, with the data given at registration.
///
/// # Safety
///
/// `data` is the `Inner` of a live [`KvmTrack`].
unsafe extern "C" fn track_remove(data: *mut core::ffi::c_void, gfn: u64, pages: u64) {
    // SAFETY: as in `track_write`.
    let inner = unsafe { &*data.cast::<Inner>() };
    inner.handler.track_remove_region(gfn, pages);
}

impl KvmTrack {
    /// Registers a notifier on the VM of `dev`, `None` when the VMM gave
    /// the device no VM. Called from the VMM's task (`open_device`), with
    /// no lock of ours held.
    pub(crate) fn register(dev: &Device, handler: Arc<dyn KvmHandler>) -> Result<Option<Self>> {
        let inner = KBox::pin(
            Inner {
                session: Session::new(dev),
                handler,
            },
            GFP_KERNEL,
        )?;
        let data: *const Inner = &*inner;
        // SAFETY: `dev` is live and open (we are in its open callback);
        // `data` stays valid until after `rgvt_kvm_track_unregister` in
        // `drop`; the callbacks match the C typedefs.
        let raw = from_err_ptr(unsafe {
            bindings::rgvt_kvm_track_register(
                dev.as_raw(),
                Some(track_write),
                Some(track_remove),
                data.cast_mut().cast(),
            )
        })?;
        // INVARIANT: registered with `inner` as its data.
        Ok(NonNull::new(raw).map(|raw| Self { raw, inner }))
    }

    /// Write-protects guest frame `gfn` (KVM counts protections per frame).
    pub(crate) fn protect(&self, gfn: u64) -> Result {
        // SAFETY: registered until `drop` (type invariant).
        let ret = unsafe { bindings::rgvt_kvm_track_add(self.raw.as_ptr(), gfn) };
        kernel::error::to_result(ret)
    }

    /// Drops one protection of `gfn` taken by [`KvmTrack::protect`].
    pub(crate) fn unprotect(&self, gfn: u64) -> Result {
        // SAFETY: registered until `drop` (type invariant).
        let ret = unsafe { bindings::rgvt_kvm_track_remove(self.raw.as_ptr(), gfn) };
        kernel::error::to_result(ret)
    }
}

impl Drop for KvmTrack {
    fn drop(&mut self) {
        // SAFETY: registered (type invariant); this waits for the callbacks
        // in flight and frees the registration; `inner` goes after.
        unsafe { bindings::rgvt_kvm_track_unregister(self.raw.as_ptr()) };
        let _ = &self.inner;
    }
}
