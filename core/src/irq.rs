//! The interrupts a vGPU offers through VFIO, as vfio-pci offers a real device's.
//!
//! `VFIO_DEVICE_GET_IRQ_INFO` is [`info`]; `VFIO_DEVICE_SET_IRQS` is split in
//! two so that a request either fully applies or changes nothing:
//! [`Irqs::prepare`] validates the header and data exactly as
//! `vfio_set_irqs_validate_and_prepare` (drivers/vfio/vfio_main.c) and
//! `vfio_pci_set_irqs_ioctl` (drivers/vfio/pci/vfio_pci_intrs.c) do and
//! returns an [`Op`]; the kernel glue resolves the one file descriptor the op
//! names ([`Op::fd`]), which may still fail, and only then calls
//! [`Irqs::commit`], which updates the state and returns the [`Effect`]s to
//! apply to eventfds. The level of the device's interrupt (from the register
//! model) goes through [`Irqs::set_level`], which decides what to signal:
//! MSI on a rising edge, INTx while asserted and unmasked, masking itself
//! until the VMM unmasks it (vfio-pci's automasked INTx).

/// `VFIO_IRQ_INFO_*` flags.
pub mod info_flags {
    /// The interrupt can signal an eventfd.
    pub const EVENTFD: u32 = 1 << 0;
    /// The interrupt can be masked.
    pub const MASKABLE: u32 = 1 << 1;
    /// The interrupt masks itself when it fires.
    pub const AUTOMASKED: u32 = 1 << 2;
    /// The number of vectors cannot change while enabled.
    pub const NORESIZE: u32 = 1 << 3;
}

/// `VFIO_IRQ_SET_*` flags.
pub mod set_flags {
    /// No data follows the header.
    pub const DATA_NONE: u32 = 1 << 0;
    /// One byte (a bool) per vector follows.
    pub const DATA_BOOL: u32 = 1 << 1;
    /// One 32-bit file descriptor per vector follows.
    pub const DATA_EVENTFD: u32 = 1 << 2;
    /// Mask the interrupt.
    pub const ACTION_MASK: u32 = 1 << 3;
    /// Unmask the interrupt.
    pub const ACTION_UNMASK: u32 = 1 << 4;
    /// Set up or fire the trigger.
    pub const ACTION_TRIGGER: u32 = 1 << 5;
    /// All data-type bits.
    pub const DATA_TYPE_MASK: u32 = DATA_NONE | DATA_BOOL | DATA_EVENTFD;
    /// All action bits.
    pub const ACTION_TYPE_MASK: u32 = ACTION_MASK | ACTION_UNMASK | ACTION_TRIGGER;
}

use set_flags::*;

/// A vfio-pci interrupt index (`VFIO_PCI_*_IRQ_INDEX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// Legacy INTx (pin A).
    Intx = 0,
    /// MSI.
    Msi = 1,
    /// MSI-X (the vGPU has none).
    Msix = 2,
    /// AER error reporting.
    Err = 3,
    /// Device release request.
    Req = 4,
}

/// `VFIO_PCI_NUM_IRQS`: the number of indexes.
pub const NUM_IRQS: u32 = 5;

impl Index {
    /// The index with number `raw`.
    pub fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            0 => Self::Intx,
            1 => Self::Msi,
            2 => Self::Msix,
            3 => Self::Err,
            4 => Self::Req,
            _ => return None,
        })
    }

    /// The vectors this index has (`vfio_pci_get_irq_count` for a device
    /// with interrupt pin A, a one-vector MSI capability, no MSI-X, and
    /// error reporting as a PCIe device has).
    pub fn count(self) -> u32 {
        match self {
            Self::Intx | Self::Msi | Self::Err | Self::Req => 1,
            Self::Msix => 0,
        }
    }
}

/// Why a request was refused; the glue returns the matching errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// `EINVAL`: a malformed request or one the current state refuses.
    Inval,
    /// `ENOTTY`: an action the index does not support (vfio-pci's answer,
    /// e.g. MASK on MSI or zero or several action bits).
    NotTty,
    /// `ERANGE`: enabling MSI with no vector (`pci_alloc_irq_vectors` with
    /// a maximum of 0).
    Range,
    /// `EBUSY`: an unmask eventfd is already installed
    /// (`vfio_virqfd_enable`; vfio-pci reports a bad fd first, rgvt
    /// checks this before the glue resolves the fd).
    Busy,
}

/// What `VFIO_DEVICE_GET_IRQ_INFO` answers for one index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// `VFIO_IRQ_INFO_*`.
    pub flags: u32,
    /// Number of vectors.
    pub count: u32,
}

/// `VFIO_DEVICE_GET_IRQ_INFO` for index `raw` (`vfio_pci_ioctl_get_irq_info`).
pub fn info(raw: u32) -> Result<Info, Error> {
    use info_flags::*;
    let index = Index::from_raw(raw).ok_or(Error::Inval)?;
    let flags = match index {
        Index::Intx => EVENTFD | MASKABLE | AUTOMASKED,
        Index::Msi | Index::Msix => EVENTFD | NORESIZE,
        Index::Err | Index::Req => EVENTFD,
    };
    Ok(Info {
        flags,
        count: index.count(),
    })
}

/// The fixed part of `struct vfio_irq_set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetHeader {
    /// Size of the header and the data the caller passed.
    pub argsz: u32,
    /// `VFIO_IRQ_SET_*`.
    pub flags: u32,
    /// Interrupt index.
    pub index: u32,
    /// First vector.
    pub start: u32,
    /// Number of vectors.
    pub count: u32,
}

impl SetHeader {
    /// `offsetofend(struct vfio_irq_set, count)`: the bytes the kernel
    /// copies before it knows the data size.
    pub const MINSZ: u32 = 20;

    /// `vfio_set_irqs_validate_and_prepare`: checks the header against
    /// `num_irqs` vectors and returns the size of the data to copy
    /// (`count` bytes for bools, `4 * count` for eventfds).
    pub fn validate(&self, num_irqs: u32) -> Result<usize, Error> {
        if self.argsz < Self::MINSZ
            || self.index >= NUM_IRQS
            || self.count >= u32::MAX - self.start
            || self.flags & !(DATA_TYPE_MASK | ACTION_TYPE_MASK) != 0
        {
            return Err(Error::Inval);
        }
        // No overflow: `count < u32::MAX - start` above.
        if self.start >= num_irqs || self.start + self.count > num_irqs {
            return Err(Error::Inval);
        }
        let size: u64 = match self.flags & DATA_TYPE_MASK {
            DATA_NONE => 0,
            DATA_BOOL => 1,
            DATA_EVENTFD => 4,
            _ => return Err(Error::Inval),
        };
        let data = u64::from(self.count) * size;
        if u64::from(self.argsz - Self::MINSZ) < data {
            return Err(Error::Inval);
        }
        // At most `num_irqs * 4` bytes, so it fits.
        Ok(data as usize)
    }

    /// The size of the data the kernel must copy after the header for
    /// this device ([`SetHeader::validate`] with the index's vector count).
    pub fn data_size(&self) -> Result<usize, Error> {
        self.validate(Index::from_raw(self.index).map_or(0, Index::count))
    }

    fn action(&self) -> u32 {
        self.flags & ACTION_TYPE_MASK
    }
}

/// The data that followed a header, decoded by its type.
#[derive(Clone, Copy)]
enum Data<'a> {
    None,
    Bool(&'a [u8]),
    Eventfd(&'a [u8]),
}

impl Data<'_> {
    fn bool_at(bytes: &[u8], i: usize) -> bool {
        bytes.get(i).is_some_and(|b| *b != 0)
    }

    fn fd_at(bytes: &[u8], i: usize) -> i32 {
        let mut b = [0xffu8; 4];
        if let Some(s) = bytes.get(4 * i..4 * i + 4) {
            b.copy_from_slice(s);
        }
        i32::from_le_bytes(b)
    }
}

/// A validated `SET_IRQS` request, ready to commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Valid, nothing to do (a false bool, a vector without an eventfd).
    Nop,
    /// Mask INTx.
    IntxMask,
    /// Unmask INTx (signals again if the line is still asserted).
    IntxUnmask,
    /// Install an eventfd whose signal unmasks INTx (KVM's resampler).
    IntxUnmaskFd(i32),
    /// Remove the unmask eventfd.
    IntxUnmaskFdClear,
    /// Enable INTx with this trigger (or none).
    IntxEnable(Option<i32>),
    /// Replace the trigger of the enabled INTx.
    IntxSetTrigger(Option<i32>),
    /// Disable INTx.
    IntxDisable,
    /// Enable MSI with this vector-0 trigger (or none).
    MsiEnable(Option<i32>),
    /// Replace the vector-0 trigger of the enabled MSI.
    MsiSetVector(Option<i32>),
    /// Disable MSI.
    MsiDisable,
    /// Set (or clear) the eventfd of ERR or REQ.
    SetTrigger(Index, Option<i32>),
    /// Signal the index's eventfd now (loopback testing).
    Loopback(Index),
}

impl Op {
    /// The file descriptor the glue must resolve to an eventfd before
    /// [`Irqs::commit`]; if that fails the request fails unchanged.
    pub fn fd(&self) -> Option<i32> {
        match *self {
            Self::IntxUnmaskFd(fd) => Some(fd),
            Self::IntxEnable(fd)
            | Self::IntxSetTrigger(fd)
            | Self::MsiEnable(fd)
            | Self::MsiSetVector(fd)
            | Self::SetTrigger(_, fd) => fd,
            _ => None,
        }
    }
}

/// What the glue does to its eventfds after a commit or a level change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Make the eventfd resolved from `fd` the trigger of `index`,
    /// releasing the previous one.
    SetTrigger {
        /// Which interrupt.
        index: Index,
        /// The descriptor from [`Op::fd`].
        fd: i32,
    },
    /// Release the trigger of `index`.
    ClearTrigger {
        /// Which interrupt.
        index: Index,
    },
    /// Install the resolved `fd` as INTx's unmask eventfd (a virqfd that
    /// calls [`Irqs::unmask`]), replacing any previous one.
    SetUnmaskFd {
        /// The descriptor from [`Op::fd`].
        fd: i32,
    },
    /// Remove INTx's unmask eventfd.
    ClearUnmaskFd,
    /// Signal the trigger of `index`.
    Signal {
        /// Which interrupt.
        index: Index,
    },
}

/// Up to [`Effects::CAPACITY`] effects, in the order to apply them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effects {
    items: [Option<Effect>; Self::CAPACITY],
}

impl Effects {
    /// The most effects one call produces (a close clears four triggers and
    /// the unmask eventfd).
    pub const CAPACITY: usize = 6;

    fn push(&mut self, e: Effect) {
        if let Some(slot) = self.items.iter_mut().find(|s| s.is_none()) {
            *slot = Some(e);
        }
    }

    /// The effects in order.
    pub fn iter(&self) -> impl Iterator<Item = Effect> + '_ {
        self.items.iter().flatten().copied()
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.items[0].is_none()
    }
}

/// Which interrupt mode is enabled (vfio-pci's `irq_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// None (`VFIO_PCI_NUM_IRQS`).
    None,
    /// INTx.
    Intx,
    /// MSI.
    Msi,
}

/// Counters for debugfs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// `SET_IRQS` requests refused.
    pub rejected: u64,
    /// INTx signals (each one automasks).
    pub intx_signals: u64,
    /// MSI signals.
    pub msi_signals: u64,
}

impl Stats {
    /// Calls `f` with each counter's name and value, for debugfs.
    pub fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
        f("set_irqs_rejected", self.rejected);
        f("intx_signals", self.intx_signals);
        f("msi_signals", self.msi_signals);
    }
}

/// The interrupt state of one vGPU.
///
/// # Invariants
///
/// `intx_*` fields are false unless `mode` is [`Mode::Intx`], `msi_trigger`
/// is false unless it is [`Mode::Msi`] (vfio-pci frees the contexts when it
/// disables a mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Irqs {
    mode: Mode,
    intx_trigger: bool,
    intx_masked: bool,
    intx_unmask_fd: bool,
    msi_trigger: bool,
    err_trigger: bool,
    req_trigger: bool,
    /// The guest set `PCI_COMMAND_INTX_DISABLE` (vfio-pci's `virq_disabled`).
    virq_disabled: bool,
    /// The device's interrupt level as last reported.
    level: bool,
    /// Counters.
    pub stats: Stats,
}

impl Default for Irqs {
    fn default() -> Self {
        Self::new()
    }
}

impl Irqs {
    /// No interrupt enabled, no eventfd, line low.
    pub const fn new() -> Self {
        Self {
            mode: Mode::None,
            intx_trigger: false,
            intx_masked: false,
            intx_unmask_fd: false,
            msi_trigger: false,
            err_trigger: false,
            req_trigger: false,
            virq_disabled: false,
            level: false,
            stats: Stats {
                rejected: 0,
                intx_signals: 0,
                msi_signals: 0,
            },
        }
    }

    /// The enabled mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether INTx is enabled and masked.
    pub fn intx_masked(&self) -> bool {
        self.intx_masked
    }

    /// Whether REQ has an eventfd (so a release request can be sent).
    pub fn has_req(&self) -> bool {
        self.req_trigger
    }

    /// Validates `hdr` with the `data` the glue copied (at least the size
    /// [`SetHeader::validate`] returned) against the current state.
    ///
    /// Nothing changes but the rejection counter.
    pub fn prepare(&mut self, hdr: &SetHeader, data: &[u8]) -> Result<Op, Error> {
        let r = self.check(hdr, data);
        if r.is_err() {
            self.stats.rejected += 1;
        }
        r
    }

    fn check(&self, hdr: &SetHeader, data: &[u8]) -> Result<Op, Error> {
        let size = hdr.data_size()?;
        let index = Index::from_raw(hdr.index).ok_or(Error::Inval)?;
        if data.len() < size {
            return Err(Error::Inval);
        }
        let data = match hdr.flags & DATA_TYPE_MASK {
            DATA_BOOL => Data::Bool(data),
            DATA_EVENTFD => Data::Eventfd(data),
            _ => Data::None,
        };
        match (index, hdr.action()) {
            (Index::Intx, ACTION_MASK) => self.intx_mask(hdr, data),
            (Index::Intx, ACTION_UNMASK) => self.intx_unmask(hdr, data),
            (Index::Intx, ACTION_TRIGGER) => self.intx_trigger(hdr, data),
            (Index::Msi | Index::Msix, ACTION_TRIGGER) => self.msi_trigger(index, hdr, data),
            (Index::Err | Index::Req, ACTION_TRIGGER) => self.single_trigger(index, hdr, data),
            _ => Err(Error::NotTty),
        }
    }

    /// `vfio_pci_set_intx_mask`.
    fn intx_mask(&self, hdr: &SetHeader, data: Data<'_>) -> Result<Op, Error> {
        if self.mode != Mode::Intx || hdr.start != 0 || hdr.count != 1 {
            return Err(Error::Inval);
        }
        match data {
            Data::None => Ok(Op::IntxMask),
            Data::Bool(b) if Data::bool_at(b, 0) => Ok(Op::IntxMask),
            Data::Bool(_) => Ok(Op::Nop),
            // vfio-pci has no mask eventfd ("XXX implement me").
            Data::Eventfd(_) => Err(Error::NotTty),
        }
    }

    /// `vfio_pci_set_intx_unmask`.
    fn intx_unmask(&self, hdr: &SetHeader, data: Data<'_>) -> Result<Op, Error> {
        if self.mode != Mode::Intx || hdr.start != 0 || hdr.count != 1 {
            return Err(Error::Inval);
        }
        Ok(match data {
            Data::None => Op::IntxUnmask,
            Data::Bool(b) if Data::bool_at(b, 0) => Op::IntxUnmask,
            Data::Bool(_) => Op::Nop,
            Data::Eventfd(f) => match Data::fd_at(f, 0) {
                fd if fd >= 0 && self.intx_unmask_fd => return Err(Error::Busy),
                fd if fd >= 0 => Op::IntxUnmaskFd(fd),
                _ => Op::IntxUnmaskFdClear,
            },
        })
    }

    /// `vfio_pci_set_intx_trigger`.
    fn intx_trigger(&self, hdr: &SetHeader, data: Data<'_>) -> Result<Op, Error> {
        let intx = self.mode == Mode::Intx;
        if intx && hdr.count == 0 && matches!(data, Data::None) {
            return Ok(Op::IntxDisable);
        }
        if !(intx || self.mode == Mode::None) || hdr.start != 0 || hdr.count != 1 {
            return Err(Error::Inval);
        }
        if let Data::Eventfd(f) = data {
            let fd = Some(Data::fd_at(f, 0)).filter(|fd| *fd >= 0);
            return Ok(if intx {
                Op::IntxSetTrigger(fd)
            } else {
                Op::IntxEnable(fd)
            });
        }
        if !intx {
            return Err(Error::Inval);
        }
        Ok(match data {
            Data::Bool(b) if !Data::bool_at(b, 0) => Op::Nop,
            _ => Op::Loopback(Index::Intx),
        })
    }

    /// `vfio_pci_set_msi_trigger` for a device with one MSI vector and no
    /// MSI-X vectors (MSI-X never gets here: its zero vectors fail
    /// validation).
    fn msi_trigger(&self, index: Index, hdr: &SetHeader, data: Data<'_>) -> Result<Op, Error> {
        let this = index == Index::Msi && self.mode == Mode::Msi;
        if this && hdr.count == 0 && matches!(data, Data::None) {
            return Ok(Op::MsiDisable);
        }
        if !(this || self.mode == Mode::None) {
            return Err(Error::Inval);
        }
        if let Data::Eventfd(f) = data {
            // `vfio_msi_set_block` over vectors start..start + count; with
            // one vector that is vector 0 or nothing.
            let fd = (hdr.count == 1)
                .then(|| Data::fd_at(f, 0))
                .filter(|fd| *fd >= 0);
            if this {
                return Ok(if hdr.count == 0 {
                    Op::Nop
                } else {
                    Op::MsiSetVector(fd)
                });
            }
            // `vfio_msi_enable(vdev, start + count)`: no vector is ERANGE.
            if hdr.start + hdr.count == 0 {
                return Err(Error::Range);
            }
            return Ok(Op::MsiEnable(fd));
        }
        if !this {
            return Err(Error::Inval);
        }
        // Loopback over start..start + count, skipping vectors without an
        // eventfd (only vector 0 exists).
        let fire = match data {
            Data::Bool(b) => hdr.count == 1 && Data::bool_at(b, 0),
            _ => hdr.count == 1,
        };
        Ok(if fire {
            Op::Loopback(Index::Msi)
        } else {
            Op::Nop
        })
    }

    /// `vfio_pci_set_err_trigger` / `vfio_pci_set_req_trigger` and
    /// `vfio_pci_set_ctx_trigger_single`.
    fn single_trigger(&self, index: Index, hdr: &SetHeader, data: Data<'_>) -> Result<Op, Error> {
        if hdr.start != 0 || hdr.count > 1 {
            return Err(Error::Inval);
        }
        let set = if index == Index::Err {
            self.err_trigger
        } else {
            self.req_trigger
        };
        match data {
            Data::None if !set => Err(Error::Inval),
            Data::None if hdr.count == 1 => Ok(Op::Loopback(index)),
            Data::None => Ok(Op::SetTrigger(index, None)),
            Data::Bool(_) if hdr.count == 0 => Err(Error::Inval),
            Data::Bool(b) if Data::bool_at(b, 0) => Ok(Op::Loopback(index)),
            Data::Bool(_) => Ok(Op::Nop),
            Data::Eventfd(_) if hdr.count == 0 => Err(Error::Inval),
            Data::Eventfd(f) => match Data::fd_at(f, 0) {
                -1 => Ok(Op::SetTrigger(index, None)),
                fd if fd >= 0 => Ok(Op::SetTrigger(index, Some(fd))),
                _ => Err(Error::Inval),
            },
        }
    }

    /// Applies an op from [`Irqs::prepare`] (with its fd resolved).
    pub fn commit(&mut self, op: Op) -> Effects {
        let mut fx = Effects::default();
        match op {
            Op::Nop => {}
            Op::IntxMask => {
                if self.mode == Mode::Intx {
                    self.intx_masked = true;
                }
            }
            Op::IntxUnmask => return self.unmask(),
            Op::IntxUnmaskFd(fd) => {
                self.intx_unmask_fd = true;
                fx.push(Effect::SetUnmaskFd { fd });
            }
            Op::IntxUnmaskFdClear => {
                if self.intx_unmask_fd {
                    self.intx_unmask_fd = false;
                    fx.push(Effect::ClearUnmaskFd);
                }
            }
            Op::IntxEnable(fd) => {
                self.mode = Mode::Intx;
                self.intx_masked = self.virq_disabled;
                self.set_intx_trigger(fd, &mut fx);
                // A line already asserted fires as soon as the handler is
                // installed (vfio-pci's request_irq on a pending line).
                self.fire_intx(&mut fx);
            }
            Op::IntxSetTrigger(fd) => self.set_intx_trigger(fd, &mut fx),
            Op::IntxDisable => self.disable_intx(&mut fx),
            Op::MsiEnable(fd) => {
                self.mode = Mode::Msi;
                self.set_msi_trigger(fd, &mut fx);
            }
            Op::MsiSetVector(fd) => self.set_msi_trigger(fd, &mut fx),
            Op::MsiDisable => self.disable_msi(&mut fx),
            Op::SetTrigger(index, fd) => {
                let slot = if index == Index::Err {
                    &mut self.err_trigger
                } else {
                    &mut self.req_trigger
                };
                match fd {
                    Some(fd) => {
                        *slot = true;
                        fx.push(Effect::SetTrigger { index, fd });
                    }
                    None if *slot => {
                        *slot = false;
                        fx.push(Effect::ClearTrigger { index });
                    }
                    None => {}
                }
            }
            Op::Loopback(index) => {
                let set = match index {
                    Index::Intx => {
                        self.mode == Mode::Intx && self.intx_trigger && !self.virq_disabled
                    }
                    Index::Msi => self.msi_trigger,
                    Index::Err => self.err_trigger,
                    Index::Req => self.req_trigger,
                    Index::Msix => false,
                };
                if set {
                    fx.push(Effect::Signal { index });
                }
            }
        }
        fx
    }

    fn set_intx_trigger(&mut self, fd: Option<i32>, fx: &mut Effects) {
        match fd {
            Some(fd) => {
                self.intx_trigger = true;
                fx.push(Effect::SetTrigger {
                    index: Index::Intx,
                    fd,
                });
            }
            None if self.intx_trigger => {
                self.intx_trigger = false;
                fx.push(Effect::ClearTrigger { index: Index::Intx });
            }
            None => {}
        }
    }

    fn set_msi_trigger(&mut self, fd: Option<i32>, fx: &mut Effects) {
        match fd {
            Some(fd) => {
                self.msi_trigger = true;
                fx.push(Effect::SetTrigger {
                    index: Index::Msi,
                    fd,
                });
            }
            None if self.msi_trigger => {
                self.msi_trigger = false;
                fx.push(Effect::ClearTrigger { index: Index::Msi });
            }
            None => {}
        }
    }

    fn disable_intx(&mut self, fx: &mut Effects) {
        if self.intx_unmask_fd {
            fx.push(Effect::ClearUnmaskFd);
        }
        if self.intx_trigger {
            fx.push(Effect::ClearTrigger { index: Index::Intx });
        }
        self.intx_unmask_fd = false;
        self.intx_trigger = false;
        self.intx_masked = false;
        self.mode = Mode::None;
    }

    fn disable_msi(&mut self, fx: &mut Effects) {
        if self.msi_trigger {
            fx.push(Effect::ClearTrigger { index: Index::Msi });
        }
        self.msi_trigger = false;
        self.mode = Mode::None;
    }

    /// Asserted, enabled and unmasked INTx fires once and masks itself.
    fn fire_intx(&mut self, fx: &mut Effects) {
        if self.mode == Mode::Intx && self.level && !self.intx_masked {
            self.intx_masked = true;
            if self.intx_trigger && !self.virq_disabled {
                self.stats.intx_signals += 1;
                fx.push(Effect::Signal { index: Index::Intx });
            }
        }
    }

    /// Unmasks INTx (`SET_IRQS` UNMASK, or the unmask eventfd firing).
    ///
    /// As vfio-pci's `vfio_pci_intx_unmask_handler`: if the line is still
    /// asserted it stays masked and signals again.
    pub fn unmask(&mut self) -> Effects {
        let mut fx = Effects::default();
        if self.mode == Mode::Intx && self.intx_masked && !self.virq_disabled {
            self.intx_masked = false;
            self.fire_intx(&mut fx);
        }
        fx
    }

    /// Follows the guest's `PCI_COMMAND_INTX_DISABLE` bit, as vfio-pci's
    /// `vfio_basic_config_write`: setting it masks INTx, clearing it
    /// unmasks (and fires if the line is asserted).
    pub fn set_intx_disabled(&mut self, disabled: bool) -> Effects {
        if disabled == self.virq_disabled {
            return Effects::default();
        }
        self.virq_disabled = disabled;
        if disabled {
            if self.mode == Mode::Intx {
                self.intx_masked = true;
            }
            Effects::default()
        } else {
            self.unmask()
        }
    }

    /// Reports the device's interrupt level (the register model's
    /// `irq_pending`) and returns what to signal: MSI on a rising edge,
    /// INTx whenever asserted and not masked (then it masks itself).
    pub fn set_level(&mut self, level: bool) -> Effects {
        let mut fx = Effects::default();
        let rising = level && !self.level;
        self.level = level;
        match self.mode {
            Mode::Msi if rising && self.msi_trigger => {
                self.stats.msi_signals += 1;
                fx.push(Effect::Signal { index: Index::Msi });
            }
            Mode::Intx => self.fire_intx(&mut fx),
            _ => {}
        }
        fx
    }

    /// The unmask eventfd went away on its own (its file was closed and
    /// the virqfd shut down), so a new one may be installed.
    pub fn unmask_fd_closed(&mut self) {
        self.intx_unmask_fd = false;
    }

    /// Sends a release request to the VMM, if it gave a REQ eventfd.
    pub fn request(&self) -> Effects {
        let mut fx = Effects::default();
        if self.req_trigger {
            fx.push(Effect::Signal { index: Index::Req });
        }
        fx
    }

    /// Tears everything down, as vfio-pci does when the device is closed:
    /// the enabled mode is disabled and ERR and REQ lose their eventfds.
    pub fn close(&mut self) -> Effects {
        let mut fx = Effects::default();
        match self.mode {
            Mode::Intx => self.disable_intx(&mut fx),
            Mode::Msi => self.disable_msi(&mut fx),
            Mode::None => {}
        }
        for index in [Index::Err, Index::Req] {
            let slot = if index == Index::Err {
                &mut self.err_trigger
            } else {
                &mut self.req_trigger
            };
            if core::mem::take(slot) {
                fx.push(Effect::ClearTrigger { index });
            }
        }
        self.level = false;
        fx
    }
}

#[cfg(test)]
pub(crate) mod tests;
