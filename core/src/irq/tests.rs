//! Tests of the VFIO interrupt model, and a property test against a
//! line-by-line transliteration of vfio-pci's C.

use super::*;
use proptest::prelude::*;
use std::vec::Vec;

const NONE_TRIGGER: u32 = DATA_NONE | ACTION_TRIGGER;
const FD_TRIGGER: u32 = DATA_EVENTFD | ACTION_TRIGGER;

fn hdr(flags: u32, index: Index, start: u32, count: u32, data: usize) -> SetHeader {
    SetHeader {
        argsz: SetHeader::MINSZ + data as u32,
        flags,
        index: index as u32,
        start,
        count,
    }
}

fn fd(v: i32) -> [u8; 4] {
    v.to_le_bytes()
}

/// Applies effects to eventfd slots as the glue would.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Glue {
    pub(crate) triggers: [Option<i32>; 5],
    pub(crate) unmask: Option<i32>,
    pub(crate) signals: Vec<Index>,
}

impl Glue {
    pub(crate) fn apply(&mut self, fx: Effects) {
        for e in fx.iter() {
            match e {
                Effect::SetTrigger { index, fd } => self.triggers[index as usize] = Some(fd),
                Effect::ClearTrigger { index } => {
                    assert!(
                        self.triggers[index as usize].take().is_some(),
                        "clear of nothing"
                    )
                }
                Effect::SetUnmaskFd { fd } => self.unmask = Some(fd),
                Effect::ClearUnmaskFd => assert!(self.unmask.take().is_some()),
                Effect::Signal { index } => {
                    assert!(
                        self.triggers[index as usize].is_some(),
                        "signal without eventfd"
                    );
                    self.signals.push(index)
                }
            }
        }
    }
}

/// One SET_IRQS through prepare and commit.
pub(crate) fn set(
    irqs: &mut Irqs,
    glue: &mut Glue,
    h: SetHeader,
    data: &[u8],
) -> Result<(), Error> {
    let op = irqs.prepare(&h, data)?;
    glue.apply(irqs.commit(op));
    Ok(())
}

#[test]
fn irq_info_matches_kvmgt() {
    use info_flags::*;
    assert_eq!(
        info(0),
        Ok(Info {
            flags: EVENTFD | MASKABLE | AUTOMASKED,
            count: 1
        })
    );
    assert_eq!(
        info(1),
        Ok(Info {
            flags: EVENTFD | NORESIZE,
            count: 1
        })
    );
    assert_eq!(
        info(2),
        Ok(Info {
            flags: EVENTFD | NORESIZE,
            count: 0
        })
    );
    assert_eq!(
        info(3),
        Ok(Info {
            flags: EVENTFD,
            count: 1
        })
    );
    assert_eq!(
        info(4),
        Ok(Info {
            flags: EVENTFD,
            count: 1
        })
    );
    assert_eq!(info(5), Err(Error::Inval));
    assert_eq!(info(u32::MAX), Err(Error::Inval));
}

#[test]
fn validation_and_data_size() {
    let ok = hdr(FD_TRIGGER, Index::Intx, 0, 1, 4);
    assert_eq!(ok.validate(1), Ok(4));
    assert_eq!(
        hdr(DATA_BOOL | ACTION_MASK, Index::Intx, 0, 1, 1).validate(1),
        Ok(1)
    );
    assert_eq!(hdr(NONE_TRIGGER, Index::Intx, 0, 0, 0).validate(1), Ok(0));
    let bad = [
        SetHeader { argsz: 19, ..ok },
        SetHeader { argsz: 23, ..ok },
        SetHeader { index: 5, ..ok },
        SetHeader {
            flags: FD_TRIGGER | 1 << 6,
            ..ok
        },
        SetHeader {
            flags: DATA_EVENTFD | DATA_BOOL | ACTION_TRIGGER,
            ..ok
        },
        SetHeader {
            flags: ACTION_TRIGGER,
            ..ok
        },
        SetHeader { start: 1, ..ok },
        SetHeader {
            count: 2,
            argsz: 28,
            ..ok
        },
        SetHeader {
            start: 1,
            count: u32::MAX,
            ..ok
        },
        SetHeader {
            start: u32::MAX,
            count: 1,
            ..ok
        },
        SetHeader {
            start: 0,
            count: u32::MAX,
            ..ok
        },
    ];
    for h in bad {
        assert_eq!(h.validate(1), Err(Error::Inval), "{h:?}");
    }
    assert_eq!(ok.data_size(), Ok(4));
    assert_eq!(SetHeader { index: 5, ..ok }.data_size(), Err(Error::Inval));
    assert_eq!(SetHeader { index: 2, ..ok }.data_size(), Err(Error::Inval));
    // MSI-X has no vectors: nothing validates.
    assert_eq!(
        hdr(NONE_TRIGGER, Index::Msix, 0, 0, 0).validate(0),
        Err(Error::Inval)
    );
}

#[test]
fn qemu_intx_enable_then_msi_switch() {
    let mut irqs = Irqs::new();
    let mut glue = Glue::default();
    // vfio_intx_enable: TRIGGER eventfd, then the KVM resample fd.
    set(
        &mut irqs,
        &mut glue,
        hdr(FD_TRIGGER, Index::Intx, 0, 1, 4),
        &fd(10),
    )
    .unwrap();
    set(
        &mut irqs,
        &mut glue,
        hdr(DATA_EVENTFD | ACTION_UNMASK, Index::Intx, 0, 1, 4),
        &fd(11),
    )
    .unwrap();
    assert_eq!(irqs.mode(), Mode::Intx);
    assert_eq!(glue.triggers[0], Some(10));
    assert_eq!(glue.unmask, Some(11));
    assert_eq!(
        set(
            &mut irqs,
            &mut glue,
            hdr(DATA_EVENTFD | ACTION_UNMASK, Index::Intx, 0, 1, 4),
            &fd(13)
        ),
        Err(Error::Busy),
        "one unmask eventfd at a time"
    );
    irqs.unmask_fd_closed();
    set(
        &mut irqs,
        &mut glue,
        hdr(DATA_EVENTFD | ACTION_UNMASK, Index::Intx, 0, 1, 4),
        &fd(11),
    )
    .unwrap();
    // MSI while INTx is on is refused; QEMU disables INTx first.
    let before = irqs.clone();
    assert_eq!(
        set(
            &mut irqs,
            &mut glue,
            hdr(FD_TRIGGER, Index::Msi, 0, 1, 4),
            &fd(12)
        ),
        Err(Error::Inval)
    );
    assert_eq!(irqs.stats.rejected, 2);
    assert_eq!(
        Irqs {
            stats: before.stats,
            ..irqs.clone()
        },
        before
    );
    set(
        &mut irqs,
        &mut glue,
        hdr(NONE_TRIGGER, Index::Intx, 0, 0, 0),
        &[],
    )
    .unwrap();
    assert_eq!(glue, Glue::default(), "disable releases both eventfds");
    set(
        &mut irqs,
        &mut glue,
        hdr(FD_TRIGGER, Index::Msi, 0, 1, 4),
        &fd(12),
    )
    .unwrap();
    assert_eq!(irqs.mode(), Mode::Msi);
    // Edge-triggered: one signal per rising edge.
    glue.apply(irqs.set_level(true));
    glue.apply(irqs.set_level(true));
    glue.apply(irqs.set_level(false));
    glue.apply(irqs.set_level(true));
    assert_eq!(glue.signals, [Index::Msi, Index::Msi]);
    set(
        &mut irqs,
        &mut glue,
        hdr(NONE_TRIGGER, Index::Msi, 0, 0, 0),
        &[],
    )
    .unwrap();
    assert_eq!(irqs.mode(), Mode::None);
    assert_eq!(glue.triggers, [None; 5]);
    // Enabling with no vector at all is ERANGE, as pci_alloc_irq_vectors.
    assert_eq!(
        set(
            &mut irqs,
            &mut glue,
            hdr(FD_TRIGGER, Index::Msi, 0, 0, 0),
            &[]
        ),
        Err(Error::Range)
    );
}

#[test]
fn intx_automasks_until_unmasked() {
    let mut irqs = Irqs::new();
    let mut glue = Glue::default();
    set(
        &mut irqs,
        &mut glue,
        hdr(FD_TRIGGER, Index::Intx, 0, 1, 4),
        &fd(3),
    )
    .unwrap();
    glue.apply(irqs.set_level(true));
    assert!(irqs.intx_masked());
    glue.apply(irqs.set_level(true));
    assert_eq!(glue.signals, [Index::Intx], "masked: no second signal");
    // Unmask while still asserted: fires again and stays masked.
    glue.apply(irqs.unmask());
    assert!(irqs.intx_masked());
    assert_eq!(glue.signals.len(), 2);
    // The guest cleared the cause: the next unmask just unmasks.
    glue.apply(irqs.set_level(false));
    set(
        &mut irqs,
        &mut glue,
        hdr(DATA_NONE | ACTION_UNMASK, Index::Intx, 0, 1, 0),
        &[],
    )
    .unwrap();
    assert!(!irqs.intx_masked());
    assert_eq!(glue.signals.len(), 2);
    // A VMM mask holds the line back; unmask delivers the pending level.
    set(
        &mut irqs,
        &mut glue,
        hdr(DATA_BOOL | ACTION_MASK, Index::Intx, 0, 1, 1),
        &[1],
    )
    .unwrap();
    glue.apply(irqs.set_level(true));
    assert_eq!(glue.signals.len(), 2);
    set(
        &mut irqs,
        &mut glue,
        hdr(DATA_BOOL | ACTION_UNMASK, Index::Intx, 0, 1, 1),
        &[1],
    )
    .unwrap();
    assert_eq!(glue.signals.len(), 3);
    // Enabling INTx on an asserted line fires at once.
    let mut fresh = Irqs::new();
    let mut g = Glue::default();
    g.apply(fresh.set_level(true));
    set(
        &mut fresh,
        &mut g,
        hdr(FD_TRIGGER, Index::Intx, 0, 1, 4),
        &fd(5),
    )
    .unwrap();
    assert_eq!(g.signals, [Index::Intx]);
}

#[test]
fn err_and_req() {
    let mut irqs = Irqs::new();
    let mut glue = Glue::default();
    for index in [Index::Err, Index::Req] {
        assert_eq!(
            set(&mut irqs, &mut glue, hdr(NONE_TRIGGER, index, 0, 1, 0), &[]),
            Err(Error::Inval)
        );
        assert_eq!(
            set(
                &mut irqs,
                &mut glue,
                hdr(DATA_NONE | ACTION_MASK, index, 0, 1, 0),
                &[]
            ),
            Err(Error::NotTty)
        );
        assert_eq!(
            set(
                &mut irqs,
                &mut glue,
                hdr(FD_TRIGGER, index, 0, 1, 4),
                &fd(-2)
            ),
            Err(Error::Inval)
        );
        assert_eq!(
            set(&mut irqs, &mut glue, hdr(FD_TRIGGER, index, 0, 0, 0), &[]),
            Err(Error::Inval)
        );
        set(
            &mut irqs,
            &mut glue,
            hdr(FD_TRIGGER, index, 0, 1, 4),
            &fd(20),
        )
        .unwrap();
    }
    assert!(irqs.has_req());
    glue.apply(irqs.request());
    assert_eq!(glue.signals, [Index::Req]);
    set(
        &mut irqs,
        &mut glue,
        hdr(FD_TRIGGER, Index::Err, 0, 1, 4),
        &fd(-1),
    )
    .unwrap();
    assert_eq!(glue.triggers[Index::Err as usize], None);
    glue.apply(irqs.close());
    assert_eq!(glue.triggers, [None; 5]);
    assert!(!irqs.has_req());
}

#[test]
fn close_releases_everything() {
    let mut irqs = Irqs::new();
    let mut glue = Glue::default();
    set(
        &mut irqs,
        &mut glue,
        hdr(FD_TRIGGER, Index::Intx, 0, 1, 4),
        &fd(1),
    )
    .unwrap();
    set(
        &mut irqs,
        &mut glue,
        hdr(DATA_EVENTFD | ACTION_UNMASK, Index::Intx, 0, 1, 4),
        &fd(2),
    )
    .unwrap();
    set(
        &mut irqs,
        &mut glue,
        hdr(FD_TRIGGER, Index::Err, 0, 1, 4),
        &fd(3),
    )
    .unwrap();
    set(
        &mut irqs,
        &mut glue,
        hdr(FD_TRIGGER, Index::Req, 0, 1, 4),
        &fd(4),
    )
    .unwrap();
    glue.apply(irqs.close());
    assert_eq!(glue, Glue::default());
    assert_eq!(
        Irqs {
            stats: irqs.stats,
            ..Irqs::new()
        },
        irqs
    );
}

/// vfio-pci's state and functions, transliterated from the C with no
/// restructuring: `irq_type`, the INTx context, MSI vector 0, ERR and REQ.
#[derive(Debug, Clone, Default)]
struct Reference {
    irq_type: u32, // 0 INTx, 1 MSI, 5 none
    intx_trigger: Option<i32>,
    intx_masked: bool,
    intx_unmask: Option<i32>,
    msi_trigger: Option<i32>,
    err: Option<i32>,
    req: Option<i32>,
    level: bool,
    virq_disabled: bool,
    signals: Vec<Index>,
}

const EINVAL: i32 = 22;
const ENOTTY: i32 = 25;
const ERANGE: i32 = 34;
const EBUSY: i32 = 16;

impl Reference {
    fn new() -> Self {
        Self {
            irq_type: 5,
            ..Default::default()
        }
    }

    fn send_intx(&mut self) {
        if self.irq_type == 0 && !self.virq_disabled && self.intx_trigger.is_some() {
            self.signals.push(Index::Intx);
        }
    }

    fn intx_handler(&mut self) {
        if self.irq_type == 0 && self.level && !self.intx_masked {
            self.intx_masked = true;
            self.send_intx();
        }
    }

    fn unmask(&mut self) {
        if self.irq_type == 0 && self.intx_masked && !self.virq_disabled {
            if self.level {
                self.send_intx();
            } else {
                self.intx_masked = false;
            }
        }
    }

    /// vfio_basic_config_write on PCI_COMMAND.
    fn config_intx_disable(&mut self, disable: bool) {
        if disable && !self.virq_disabled {
            self.virq_disabled = true;
            if self.irq_type == 0 {
                self.intx_masked = true;
            }
        } else if !disable && self.virq_disabled {
            self.virq_disabled = false;
            self.unmask();
        }
    }

    fn set_level(&mut self, level: bool) {
        let rising = level && !self.level;
        self.level = level;
        if self.irq_type == 1 && rising && self.msi_trigger.is_some() {
            self.signals.push(Index::Msi);
        }
        self.intx_handler();
    }

    fn ioctl(&mut self, h: SetHeader, data: &[u8]) -> Result<(), i32> {
        let max = match h.index {
            0 | 1 | 3 | 4 => 1,
            _ => 0,
        };
        // vfio_set_irqs_validate_and_prepare
        if h.argsz < 20 || h.index >= 5 || h.count >= u32::MAX - h.start || h.flags & !0x3f != 0 {
            return Err(EINVAL);
        }
        if h.start >= max || h.start + h.count > max {
            return Err(EINVAL);
        }
        let size = match h.flags & 7 {
            1 => 0,
            2 => 1,
            4 => 4,
            _ => return Err(EINVAL),
        };
        if size != 0 && ((h.argsz - 20) as u64) < h.count as u64 * size {
            return Err(EINVAL);
        }
        let b0 = data.first().copied().unwrap_or(0);
        let fd0 = data
            .get(..4)
            .map(|s| i32::from_le_bytes(s.try_into().unwrap()))
            .unwrap_or(-1);
        let none = h.flags & DATA_NONE != 0;
        let bool_ = h.flags & DATA_BOOL != 0;
        let efd = h.flags & DATA_EVENTFD != 0;
        let action = h.flags & 0x38;
        match (h.index, action) {
            (0, ACTION_UNMASK) => {
                if self.irq_type != 0 || h.start != 0 || h.count != 1 {
                    return Err(EINVAL);
                }
                if none {
                    self.unmask();
                } else if bool_ {
                    if b0 != 0 {
                        self.unmask();
                    }
                } else if efd {
                    // vfio_virqfd_enable refuses a second one.
                    if fd0 >= 0 && self.intx_unmask.is_some() {
                        return Err(EBUSY);
                    }
                    self.intx_unmask = if fd0 >= 0 { Some(fd0) } else { None };
                }
                Ok(())
            }
            (0, ACTION_MASK) => {
                if self.irq_type != 0 || h.start != 0 || h.count != 1 {
                    return Err(EINVAL);
                }
                if none {
                    self.intx_masked = true;
                } else if bool_ {
                    if b0 != 0 {
                        self.intx_masked = true;
                    }
                } else if efd {
                    return Err(ENOTTY);
                }
                Ok(())
            }
            (0, ACTION_TRIGGER) => {
                if self.irq_type == 0 && h.count == 0 && none {
                    self.irq_type = 5;
                    self.intx_trigger = None;
                    self.intx_unmask = None;
                    self.intx_masked = false;
                    return Ok(());
                }
                if !(self.irq_type == 0 || self.irq_type == 5) || h.start != 0 || h.count != 1 {
                    return Err(EINVAL);
                }
                if efd {
                    let t = if fd0 >= 0 { Some(fd0) } else { None };
                    if self.irq_type == 0 {
                        self.intx_trigger = t;
                    } else {
                        self.irq_type = 0;
                        self.intx_trigger = t;
                        self.intx_masked = self.virq_disabled;
                        self.intx_handler();
                    }
                    return Ok(());
                }
                if self.irq_type != 0 {
                    return Err(EINVAL);
                }
                if none || b0 != 0 {
                    self.send_intx();
                }
                Ok(())
            }
            (1 | 2, ACTION_TRIGGER) => {
                if self.irq_type == h.index && h.count == 0 && none {
                    self.irq_type = 5;
                    self.msi_trigger = None;
                    return Ok(());
                }
                if !(self.irq_type == h.index || self.irq_type == 5) {
                    return Err(EINVAL);
                }
                if efd {
                    if self.irq_type != h.index {
                        if h.start + h.count < 1 {
                            return Err(ERANGE);
                        }
                        self.irq_type = h.index;
                    }
                    if h.count == 1 {
                        self.msi_trigger = if fd0 >= 0 { Some(fd0) } else { None };
                    }
                    return Ok(());
                }
                if self.irq_type != h.index {
                    return Err(EINVAL);
                }
                if h.count == 1 && self.msi_trigger.is_some() && (none || b0 != 0) {
                    self.signals.push(Index::Msi);
                }
                Ok(())
            }
            (3 | 4, ACTION_TRIGGER) => {
                if h.start != 0 || h.count > 1 {
                    return Err(EINVAL);
                }
                let (slot, index) = if h.index == 3 {
                    (&mut self.err, Index::Err)
                } else {
                    (&mut self.req, Index::Req)
                };
                if none {
                    if slot.is_none() {
                        return Err(EINVAL);
                    }
                    if h.count != 0 {
                        self.signals.push(index);
                        return Ok(());
                    }
                    *slot = None;
                    Ok(())
                } else if bool_ {
                    if h.count == 0 {
                        return Err(EINVAL);
                    }
                    if b0 != 0 && slot.is_some() {
                        self.signals.push(index);
                    }
                    Ok(())
                } else {
                    if h.count == 0 {
                        return Err(EINVAL);
                    }
                    if fd0 == -1 {
                        *slot = None;
                        Ok(())
                    } else if fd0 >= 0 {
                        *slot = Some(fd0);
                        Ok(())
                    } else {
                        Err(EINVAL)
                    }
                }
            }
            _ => Err(ENOTTY),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Step {
    Set(SetHeader, Vec<u8>),
    Level(bool),
    Unmask,
    IntxDisable(bool),
}

/// A well-formed request for a random index, data type and action, with
/// vector 0 or none; [`corrupt`] then sometimes breaks one field.
fn request() -> impl Strategy<Value = (SetHeader, Vec<u8>)> {
    let fdv = prop_oneof![
        4 => Just(7i32),
        2 => Just(9),
        2 => Just(-1),
        1 => Just(0),
        1 => Just(-2),
        1 => any::<i32>(),
    ];
    // INTx and MSI most, eventfds and TRIGGER more than the rest, so that
    // sequences enable a mode and then exercise it.
    let index = prop_oneof![
        3 => Just(0u32),
        3 => Just(1),
        1 => Just(2),
        2 => Just(3),
        2 => Just(4),
        1 => Just(5),
    ];
    let data_type = prop_oneof![1 => Just(0u32), 1 => Just(1), 2 => Just(2)];
    let action = prop_oneof![1 => Just(0u32), 2 => Just(1), 3 => Just(2)];
    (
        index,
        data_type,
        action,
        prop_oneof![4 => Just(1u32), 1 => Just(0)],
        fdv,
        any::<bool>(),
    )
        .prop_map(|(index, d, a, count, fd, b)| {
            let flags = (1 << d) | (8 << a);
            let data = match d {
                0 => Vec::new(),
                1 => std::vec![u8::from(b)],
                _ => fd.to_le_bytes().to_vec(),
            };
            let argsz = SetHeader::MINSZ + count * data.len() as u32;
            (
                SetHeader {
                    argsz,
                    flags,
                    index,
                    start: 0,
                    count,
                },
                data,
            )
        })
}

fn corrupt() -> impl Strategy<Value = Option<(u8, u32)>> {
    prop_oneof![
        6 => Just(None),
        1 => (0u8..5, prop_oneof![Just(0u32), Just(1), Just(2), Just(19), Just(u32::MAX), Just(u32::MAX - 1), any::<u32>()])
            .prop_map(Some),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (request(), corrupt()).prop_map(|((mut h, data), c)| {
            match c {
                Some((0, v)) => h.argsz = v,
                Some((1, v)) => h.flags ^= 1 << (v % 32),
                Some((2, v)) => h.index = v,
                Some((3, v)) => h.start = v,
                Some((_, v)) => h.count = v,
                None => {}
            }
            Step::Set(h, data)
        }),
        1 => any::<bool>().prop_map(Step::Level),
        1 => Just(Step::Unmask),
        1 => any::<bool>().prop_map(Step::IntxDisable),
    ]
}

/// Runs `steps` against vfio-pci's transliteration: the same answers, eventfds and signals,
/// and a refused request changes nothing. `refused` sees each error (the decoder soak tallies
/// them).
pub(crate) fn run(steps: &[Step], refused: &mut dyn FnMut(Error)) -> Result<(), TestCaseError> {
    let mut irqs = Irqs::new();
    let mut glue = Glue::default();
    let mut reference = Reference::new();
    for s in steps {
        match *s {
            Step::Set(h, ref data) => {
                let before = irqs.clone();
                let glue_before = glue.clone();
                let got = set(&mut irqs, &mut glue, h, data);
                if let Err(e) = got {
                    refused(e);
                }
                let want = reference.ioctl(h, data);
                let errno = got.map_err(|e| match e {
                    Error::Inval => EINVAL,
                    Error::NotTty => ENOTTY,
                    Error::Range => ERANGE,
                    Error::Busy => EBUSY,
                });
                prop_assert_eq!(errno, want, "{:?}", h);
                if errno.is_err() {
                    prop_assert_eq!(
                        Irqs {
                            stats: before.stats,
                            ..irqs.clone()
                        },
                        before
                    );
                    prop_assert_eq!(&glue, &glue_before);
                }
            }
            Step::Level(l) => {
                glue.apply(irqs.set_level(l));
                reference.set_level(l);
            }
            Step::Unmask => {
                glue.apply(irqs.unmask());
                reference.unmask();
            }
            Step::IntxDisable(d) => {
                glue.apply(irqs.set_intx_disabled(d));
                reference.config_intx_disable(d);
            }
        }
        let mode = match reference.irq_type {
            0 => Mode::Intx,
            1 => Mode::Msi,
            _ => Mode::None,
        };
        prop_assert_eq!(irqs.mode(), mode);
        prop_assert_eq!(
            irqs.intx_masked(),
            reference.intx_masked && mode == Mode::Intx
        );
        prop_assert_eq!(
            glue.triggers,
            [
                reference.intx_trigger,
                reference.msi_trigger,
                None,
                reference.err,
                reference.req
            ]
        );
        prop_assert_eq!(glue.unmask, reference.intx_unmask);
        prop_assert_eq!(&glue.signals, &reference.signals);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any sequence of requests, level changes and unmasks gives the same
    /// answers, eventfds and signals as vfio-pci's C; refused requests
    /// change nothing.
    #[test]
    fn matches_vfio_pci(steps in proptest::collection::vec(step(), 1..60)) {
        run(&steps, &mut |_| {})?;
    }
}
