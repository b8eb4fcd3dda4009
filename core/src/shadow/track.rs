//! The set of write-protected guest frames and the VFIO tracking region that publishes it.
//!
//! [`Frames`] is what the kernel's [`super::Track`] keeps: the guest frames
//! some strict shadow page needs protected, sorted, bounded by
//! [`MAX_TRACKED`], with a generation that grows at every change. A VMM
//! without KVM reads them through the tracking region (`include/uapi/rgvt.h`,
//! `struct rgvt_track_info`), write-protects them itself, acknowledges the
//! generation it applied and forwards the guest's writes to them
//! ([`decode_write`]). Until the VMM acknowledged the current generation,
//! some protected frame may have been written without a trap, so the kernel
//! rebuilds the whole shadow from guest memory before the next workload
//! ([`Frames::synced`]).

use super::Error;
use crate::storage::{Alloc, Vector};

/// Version of the region's layout in `rgvt_track_info.version`.
pub const VERSION: u32 = 1;

/// Most guest frames protected at once per vGPU (the region's list size).
pub const MAX_TRACKED: usize = 65_536;

/// Offsets in the tracking region (`RGVT_TRACK_*` in the UAPI header).
pub mod reg {
    /// `u32`, read-only: [`super::VERSION`].
    pub const VERSION: u64 = 0x00;
    /// `u32`, read-only: [`super::FLAG_ON`] once the VMM enabled forwarding.
    pub const FLAGS: u64 = 0x04;
    /// `u64`, read-only: generation of the frame list.
    pub const GENERATION: u64 = 0x08;
    /// `u32`, read-only: frames in the list.
    pub const COUNT: u64 = 0x10;
    /// `u32`, read-only: room in the list ([`super::MAX_TRACKED`]).
    pub const MAX: u64 = 0x14;
    /// `u64`, read-only: the generation the VMM last acknowledged.
    pub const ACKED: u64 = 0x18;
    /// `u32`, write-only: [`super::CTL_ENABLE`] or [`super::CTL_DISABLE`].
    pub const CTL: u64 = 0x20;
    /// `u64`, write-only: the generation whose list the VMM now protects.
    pub const ACK: u64 = 0x28;
    /// Write-only: one forwarded guest write, `struct rgvt_track_write`.
    pub const WRITE: u64 = 0x40;
    /// Read-only: `u64` frames, sorted, `COUNT` of them (zeroes after).
    pub const FRAMES: u64 = 0x1000;
}

/// `flags`: the VMM forwards the guest's writes to the listed frames.
pub const FLAG_ON: u32 = 1;
/// `ctl`: start forwarding.
pub const CTL_ENABLE: u32 = 1;
/// `ctl`: stop forwarding (the shadow is then rebuilt before each workload).
pub const CTL_DISABLE: u32 = 0;
/// Size of `struct rgvt_track_write`: `u64 gpa`, `u32 size`, `u32 flags`, `u8 data[8]`.
pub const WRITE_SIZE: usize = 24;
/// Size of the region.
pub const REGION_SIZE: u64 = reg::FRAMES + 8 * MAX_TRACKED as u64;

/// A write to the tracking region, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Enable (`true`) or disable forwarding.
    Enable(bool),
    /// The VMM protects the list of this generation.
    Ack(u64),
    /// A guest write of `len` bytes (`data[..len]`) at guest address `gpa`.
    Write {
        /// Guest physical address written.
        gpa: u64,
        /// Bytes written, 1 to 8.
        len: usize,
        /// The bytes, little-endian as the guest wrote them.
        data: [u8; 8],
    },
}

/// Why an access to the tracking region was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionError {
    /// Offset, size or alignment fit no field, or a read-only field was written.
    BadAccess,
    /// A forwarded write with a size of 0 or above 8, flags set, or crossing a page.
    BadRecord,
    /// A control value that is not [`CTL_ENABLE`] or [`CTL_DISABLE`].
    BadCtl,
}

fn le_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(..4)?.try_into().ok()?))
}

fn le_u64(b: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(..8)?.try_into().ok()?))
}

/// Decodes a write of `data` at `offset` of the tracking region.
pub fn decode_write(offset: u64, data: &[u8]) -> Result<Op, RegionError> {
    match (offset, data.len()) {
        (reg::CTL, 4) => match le_u32(data) {
            Some(CTL_ENABLE) => Ok(Op::Enable(true)),
            Some(CTL_DISABLE) => Ok(Op::Enable(false)),
            _ => Err(RegionError::BadCtl),
        },
        (reg::ACK, 8) => le_u64(data).map(Op::Ack).ok_or(RegionError::BadAccess),
        (reg::WRITE, WRITE_SIZE) => {
            let gpa = le_u64(data).ok_or(RegionError::BadRecord)?;
            let len = data
                .get(8..)
                .and_then(le_u32)
                .ok_or(RegionError::BadRecord)? as usize;
            let flags = data.get(12..).and_then(le_u32);
            let in_page = (gpa & 0xfff) as usize;
            if len == 0 || len > 8 || flags != Some(0) || in_page + len > 4096 {
                return Err(RegionError::BadRecord);
            }
            let mut bytes = [0u8; 8];
            let src = data.get(16..16 + len).ok_or(RegionError::BadRecord)?;
            bytes
                .get_mut(..len)
                .ok_or(RegionError::BadRecord)?
                .copy_from_slice(src);
            Ok(Op::Write {
                gpa,
                len,
                data: bytes,
            })
        }
        _ => Err(RegionError::BadAccess),
    }
}

/// The guest frames to keep write-protected, as the tracking region lists them.
///
/// # Invariants
///
/// `list` is sorted, without duplicates, at most [`MAX_TRACKED`] long;
/// `acked <= generation`.
pub struct Frames<A: Alloc> {
    list: A::Vec<u64>,
    generation: u64,
    acked: u64,
    on: bool,
}

impl<A: Alloc> Default for Frames<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: Alloc> Frames<A> {
    /// No frame, generation 0, forwarding off.
    pub fn new() -> Self {
        Self {
            list: A::Vec::new(),
            generation: 0,
            acked: 0,
            on: false,
        }
    }

    /// Frames listed now.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether no frame is listed.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The listed frames, sorted.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.list.iter().copied()
    }

    /// Generation of the list: grows at every change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The generation the VMM acknowledged last.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Whether the VMM forwards the guest's writes (the region is in use).
    pub fn on(&self) -> bool {
        self.on
    }

    /// Whether `gfn` is listed.
    pub fn contains(&self, gfn: u64) -> bool {
        self.list.binary_search(&gfn).is_ok()
    }

    /// Lists `gfn`; [`Error::Track`] when [`MAX_TRACKED`] frames are listed.
    pub fn insert(&mut self, gfn: u64) -> Result<(), Error> {
        let Err(pos) = self.list.binary_search(&gfn) else {
            return Ok(());
        };
        if self.list.len() >= MAX_TRACKED {
            return Err(Error::Track);
        }
        self.list.try_insert(pos, gfn)?;
        self.generation += 1;
        Ok(())
    }

    /// Unlists `gfn` (nothing if it is not listed).
    pub fn remove(&mut self, gfn: u64) {
        if let Ok(pos) = self.list.binary_search(&gfn) {
            self.list.remove(pos);
            self.generation += 1;
        }
    }

    /// Turns forwarding on or off; a change needs a new acknowledgement.
    pub fn set_on(&mut self, on: bool) {
        if self.on != on {
            self.on = on;
            self.generation += 1;
        }
    }

    /// The VMM protects the list of generation `generation`: refused if it
    /// is older than the last acknowledgement or newer than the list.
    pub fn ack(&mut self, generation: u64) -> Result<(), RegionError> {
        if !self.on || generation < self.acked || generation > self.generation {
            return Err(RegionError::BadAccess);
        }
        self.acked = generation;
        Ok(())
    }

    /// Whether forwarding is on and the VMM protects the current list.
    pub fn synced(&self) -> bool {
        self.on && self.acked == self.generation
    }

    /// Forgets every frame and turns forwarding off (device close or reset).
    pub fn clear(&mut self) {
        self.list.clear();
        self.on = false;
        self.generation += 1;
    }

    /// Reads `out.len()` bytes at `offset` of the region.
    ///
    /// Fields are read whole (4 or 8 bytes, at their offset); the list in
    /// whole frames (8-byte aligned, any multiple of 8 bytes).
    pub fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), RegionError> {
        let u32_field = |v: u32, out: &mut [u8]| {
            out.copy_from_slice(&v.to_le_bytes());
        };
        match (offset, out.len()) {
            (reg::VERSION, 4) => u32_field(VERSION, out),
            (reg::FLAGS, 4) => u32_field(if self.on { FLAG_ON } else { 0 }, out),
            (reg::GENERATION, 8) => out.copy_from_slice(&self.generation.to_le_bytes()),
            (reg::COUNT, 4) => u32_field(self.list.len() as u32, out),
            (reg::MAX, 4) => u32_field(MAX_TRACKED as u32, out),
            (reg::ACKED, 8) => out.copy_from_slice(&self.acked.to_le_bytes()),
            (o, n) if o >= reg::FRAMES && o % 8 == 0 && n % 8 == 0 && n > 0 => {
                let end = o.checked_add(n as u64).ok_or(RegionError::BadAccess)?;
                if end > REGION_SIZE {
                    return Err(RegionError::BadAccess);
                }
                let first = ((o - reg::FRAMES) / 8) as usize;
                for (k, chunk) in out.chunks_exact_mut(8).enumerate() {
                    let v = self.list.get(first + k).copied().unwrap_or(0);
                    chunk.copy_from_slice(&v.to_le_bytes());
                }
            }
            _ => return Err(RegionError::BadAccess),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Std;
    use std::vec::Vec;

    fn record(gpa: u64, len: u32, flags: u32, data: u64) -> [u8; WRITE_SIZE] {
        let mut r = [0u8; WRITE_SIZE];
        r[..8].copy_from_slice(&gpa.to_le_bytes());
        r[8..12].copy_from_slice(&len.to_le_bytes());
        r[12..16].copy_from_slice(&flags.to_le_bytes());
        r[16..].copy_from_slice(&data.to_le_bytes());
        r
    }

    #[test]
    fn decodes_and_refuses_writes() {
        assert_eq!(
            decode_write(reg::CTL, &1u32.to_le_bytes()),
            Ok(Op::Enable(true))
        );
        assert_eq!(
            decode_write(reg::CTL, &0u32.to_le_bytes()),
            Ok(Op::Enable(false))
        );
        assert_eq!(
            decode_write(reg::CTL, &2u32.to_le_bytes()),
            Err(RegionError::BadCtl)
        );
        assert_eq!(decode_write(reg::ACK, &7u64.to_le_bytes()), Ok(Op::Ack(7)));
        assert_eq!(
            decode_write(reg::ACK, &7u32.to_le_bytes()),
            Err(RegionError::BadAccess)
        );
        assert_eq!(
            decode_write(reg::WRITE, &record(0x5008, 8, 0, 0x1122)),
            Ok(Op::Write {
                gpa: 0x5008,
                len: 8,
                data: 0x1122u64.to_le_bytes()
            })
        );
        let Ok(Op::Write { len: 3, data, .. }) =
            decode_write(reg::WRITE, &record(0x5001, 3, 0, 0xaabbccdd))
        else {
            panic!("a 3-byte write decodes (the shadow refuses it later)");
        };
        assert_eq!(data, [0xdd, 0xcc, 0xbb, 0, 0, 0, 0, 0]);
        for bad in [
            record(0x5000, 0, 0, 0),
            record(0x5000, 9, 0, 0),
            record(0x5000, 8, 1, 0),
            record(0x5ffc, 8, 0, 0),
        ] {
            assert_eq!(decode_write(reg::WRITE, &bad), Err(RegionError::BadRecord));
        }
        assert_eq!(
            decode_write(reg::WRITE, &record(0x5000, 8, 0, 0)[..16]),
            Err(RegionError::BadAccess)
        );
        for off in [reg::VERSION, reg::GENERATION, reg::FRAMES, 0x24, 0x41] {
            assert_eq!(decode_write(off, &[0; 8]), Err(RegionError::BadAccess));
        }
    }

    #[test]
    fn frames_generation_ack_and_reads() {
        let mut f = Frames::<Std>::new();
        assert!(!f.synced());
        assert_eq!(f.ack(0), Err(RegionError::BadAccess), "ack before enable");
        f.set_on(true);
        let g = f.generation();
        assert_eq!(f.ack(g), Ok(()));
        assert!(f.synced());
        f.insert(9).unwrap();
        f.insert(3).unwrap();
        f.insert(9).unwrap();
        assert_eq!(f.generation(), g + 2, "a frame listed twice is one change");
        assert!(!f.synced());
        assert_eq!(
            f.ack(g + 3),
            Err(RegionError::BadAccess),
            "ack from the future"
        );
        assert_eq!(f.ack(g + 2), Ok(()));
        assert_eq!(f.ack(g + 1), Err(RegionError::BadAccess), "ack going back");
        let mut b = [0u8; 24];
        f.read(reg::FRAMES, &mut b).unwrap();
        assert_eq!(&b[..8], &3u64.to_le_bytes());
        assert_eq!(&b[8..16], &9u64.to_le_bytes());
        assert_eq!(&b[16..], &[0; 8]);
        let mut c = [0u8; 4];
        f.read(reg::COUNT, &mut c).unwrap();
        assert_eq!(u32::from_le_bytes(c), 2);
        assert_eq!(f.read(reg::COUNT, &mut [0; 8]), Err(RegionError::BadAccess));
        assert_eq!(
            f.read(reg::FRAMES + 4, &mut [0; 8]),
            Err(RegionError::BadAccess)
        );
        assert_eq!(
            f.read(REGION_SIZE - 8, &mut [0; 16]),
            Err(RegionError::BadAccess)
        );
        f.remove(3);
        f.remove(4);
        assert_eq!(f.iter().collect::<Vec<_>>(), [9]);
        f.clear();
        assert!(f.is_empty() && !f.on() && !f.synced());
    }

    #[test]
    fn frames_are_bounded() {
        let mut f = Frames::<Std>::new();
        for g in 0..MAX_TRACKED as u64 {
            f.insert(g).unwrap();
        }
        assert_eq!(f.insert(u64::MAX), Err(Error::Track));
        assert_eq!(f.len(), MAX_TRACKED);
    }
}
