// SPDX-License-Identifier: GPL-2.0

//! Eventfds a VMM passed in: the triggers a device signals, and a virqfd
//! (`drivers/vfio/virqfd.c`) that runs a callback whenever the VMM (or KVM's
//! resampler) signals an eventfd.
//!
//! VFIO delivers a device's interrupts to user space by signalling eventfds
//! (`VFIO_DEVICE_SET_IRQS` with `VFIO_IRQ_SET_DATA_EVENTFD`); KVM's irqfd
//! then injects them into the guest without a trip through the VMM. Under
//! KVM, QEMU also hands over an INTx unmask eventfd that KVM signals when
//! the guest acknowledges the interrupt (`vfio_intx_enable_kvm`).

use crate::bindings;
use core::ops::Deref;
use core::ptr::NonNull;
use kernel::error::{from_err_ptr, to_result};
use kernel::ffi::c_void;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A reference to an eventfd context.
///
/// # Invariants
///
/// `0` is a context on which we hold the reference `eventfd_ctx_fdget`
/// returned; [`Drop`] gives it back.
pub(crate) struct EventFd(NonNull<bindings::eventfd_ctx>);

// SAFETY: an eventfd context is reference-counted and may be signalled and
// put from any thread.
unsafe impl Send for EventFd {}
// SAFETY: `signal` is the only method through `&self`, and
// `eventfd_signal_mask` serialises on the context's own spinlock.
unsafe impl Sync for EventFd {}

impl EventFd {
    /// Takes a reference to the eventfd behind `fd` in the calling process.
    ///
    /// Fails with `EBADF` for a descriptor that is not open and `EINVAL` for
    /// one that is not an eventfd (the errnos vfio-pci gives).
    pub(crate) fn from_fd(fd: i32) -> Result<Self> {
        // SAFETY: looks `fd` up in the current task's table; any value is
        // accepted and answered with an error pointer if unusable.
        let ctx = from_err_ptr(unsafe { bindings::eventfd_ctx_fdget(fd) })?;
        // INVARIANT: `eventfd_ctx_fdget` returned a referenced context.
        NonNull::new(ctx).map(Self).ok_or(EINVAL)
    }

    /// Adds one to the counter and wakes the waiters (the VMM or KVM's irqfd).
    pub(crate) fn signal(&self) {
        // SAFETY: by the type invariant the context is alive; signalling is
        // allowed in any context that may take a spinlock (a mutex is held
        // by our callers, which is fine).
        unsafe { bindings::eventfd_signal_mask(self.0.as_ptr(), 0) };
    }
}

impl Drop for EventFd {
    fn drop(&mut self) {
        // SAFETY: by the type invariant we hold one reference; this is where
        // it is given back, once.
        unsafe { bindings::eventfd_ctx_put(self.0.as_ptr()) };
    }
}

/// What a [`Virqfd`] runs when its eventfd is signalled.
pub(crate) trait VirqfdHandler: Send + Sync {
    /// Runs in a workqueue (process context: it may sleep and take
    /// mutexes), once per batch of signals.
    fn signalled(&self);
}

/// A `T` with one virqfd slot: while enabled, every signal of the eventfd
/// runs [`VirqfdHandler::signalled`] on the `T`.
///
/// The slot comes first and the `T` is embedded, so the virqfd's callback
/// finds the `T` from the slot's owner without a reference count; dropping
/// the `Virqfd` disables the virqfd (waiting for a running callback) before
/// the `T` goes.
///
/// Lock order: [`Virqfd::disable`] waits for the callback, so it must not
/// be called with any lock held that [`VirqfdHandler::signalled`] takes.
///
/// # Invariants
///
/// `slot` is written by `drivers/vfio/virqfd.c` under its own spinlock
/// (`virqfd_lock`): null, or the live virqfd whose `opaque` is this
/// `Virqfd`. A `Virqfd` is only ever created pinned (it is `!Unpin` and only
/// offered as a [`PinInit`]), so its address is stable while a virqfd
/// points to it.
#[pin_data(PinnedDrop)]
pub(crate) struct Virqfd<T: VirqfdHandler> {
    slot: Opaque<*mut bindings::virqfd>,
    #[pin]
    inner: T,
}

// SAFETY: the slot is only touched by C under `virqfd_lock` and through
// `vfio_virqfd_*`, callable from any thread; `T` is `Send + Sync`.
unsafe impl<T: VirqfdHandler> Send for Virqfd<T> {}
// SAFETY: as above; `&self` methods only pass the slot's address to C.
unsafe impl<T: VirqfdHandler> Sync for Virqfd<T> {}

/// The virqfd's `thread` callback: runs the handler of the `Virqfd<T>`.
///
/// # Safety
///
/// `opaque` must be the `Virqfd<T>` that `vfio_virqfd_enable` was given,
/// still live (guaranteed: its drop disables the virqfd and waits for this).
unsafe extern "C" fn thread<T: VirqfdHandler>(opaque: *mut c_void, _data: *mut c_void) {
    // SAFETY: per the contract `opaque` is a live, pinned `Virqfd<T>`.
    let this = unsafe { &*opaque.cast::<Virqfd<T>>() };
    this.inner.signalled();
}

impl<T: VirqfdHandler> Virqfd<T> {
    /// A `Virqfd` around `inner`, with no eventfd.
    pub(crate) fn new(inner: impl PinInit<T>) -> impl PinInit<Self> {
        pin_init!(Self {
            slot: Opaque::new(core::ptr::null_mut()),
            inner <- inner,
        })
    }

    /// Starts running the handler whenever the eventfd behind `fd` is
    /// signalled (and once now if it already was).
    ///
    /// Fails with `EBADF` or `EINVAL` for a bad descriptor, `EBUSY` if a
    /// virqfd is already installed; nothing changes on failure.
    pub(crate) fn enable(&self, fd: i32) -> Result {
        let opaque = core::ptr::from_ref(self).cast_mut().cast::<c_void>();
        // SAFETY: `self` is pinned (type invariant) and outlives the virqfd:
        // its drop disables it. No `handler` runs in the wakeup: every
        // signal schedules `thread`, in a workqueue.
        to_result(unsafe {
            bindings::vfio_virqfd_enable(
                opaque,
                None,
                Some(thread::<T>),
                core::ptr::null_mut(),
                self.slot.get(),
                fd,
            )
        })
    }

    /// Whether a virqfd is installed (it removes itself when its eventfd is
    /// closed). A snapshot: the caller serialises enable and disable.
    pub(crate) fn is_enabled(&self) -> bool {
        // SAFETY: the slot is a valid, aligned pointer-sized location; C
        // writes it under its spinlock, a racing read sees either value.
        !unsafe { core::ptr::read_volatile(self.slot.get()) }.is_null()
    }

    /// Removes the virqfd, if any, and waits until its handler has
    /// finished (so no lock the handler takes may be held).
    pub(crate) fn disable(&self) {
        // SAFETY: the slot is ours; `vfio_virqfd_disable` takes
        // `virqfd_lock` to clear it and flushes the cleanup work.
        unsafe { bindings::vfio_virqfd_disable(self.slot.get()) };
    }
}

impl<T: VirqfdHandler> Deref for Virqfd<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

#[pinned_drop]
impl<T: VirqfdHandler> PinnedDrop for Virqfd<T> {
    fn drop(self: Pin<&mut Self>) {
        // The virqfd must be gone before `inner` is: its callback uses it.
        self.disable();
    }
}
