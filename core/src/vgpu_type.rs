//! vGPU types: what a vGPU of each mdev type gets, and how many more fit.
//!
//! The `V5_*` types are GVT-g's gen9 table and, as in GVT-g, never share
//! high GM. The `S_*` types take their high GM in slots that other vGPUs may
//! share (gScale), so many more of them fit than the GGTT holds.

use crate::gm::layout::{Layout, MB};
use crate::gm::slots::VgpuId;
use crate::gm::{Error, Gm};
use crate::storage::Alloc;
use core::ffi::CStr;
use core::fmt;

/// One mdev type.
#[derive(Debug)]
pub struct VgpuType {
    /// Type name: the directory is `rgvt-<name>`, and the `name` attribute.
    pub name: &'static CStr,
    /// Low (mappable, aperture) graphics memory in MB.
    pub low_gm_mb: u32,
    /// High graphics memory in MB (a whole number of slots).
    pub high_gm_mb: u32,
    /// Fence registers.
    pub fence: u32,
    /// Resolution of the virtual display.
    pub resolution: &'static str,
    /// Scheduling weight (GVT-g: 16 / instances of the type).
    pub weight: u32,
    /// Whether the high-GM slots may be shared with other vGPUs.
    pub shares_high_gm: bool,
}

/// Every type a parent offers: GVT-g's gen9 types, then the sharing ones.
pub static TYPES: [VgpuType; 6] = [
    gvt(c"V5_8", 64, 384, "1024x768", 2),
    gvt(c"V5_4", 128, 512, "1920x1200", 4),
    gvt(c"V5_2", 256, 1024, "1920x1200", 8),
    gvt(c"V5_1", 512, 2048, "1920x1200", 16),
    VgpuType {
        name: c"S_32",
        low_gm_mb: 4,
        high_gm_mb: 384,
        fence: 4,
        resolution: "1024x768",
        weight: 1,
        shares_high_gm: true,
    },
    VgpuType {
        name: c"S_16",
        low_gm_mb: 8,
        high_gm_mb: 512,
        fence: 4,
        resolution: "1920x1200",
        weight: 1,
        shares_high_gm: true,
    },
];

const fn gvt(
    name: &'static CStr,
    low_gm_mb: u32,
    high_gm_mb: u32,
    resolution: &'static str,
    weight: u32,
) -> VgpuType {
    VgpuType {
        name,
        low_gm_mb,
        high_gm_mb,
        fence: 4,
        resolution,
        weight,
        shares_high_gm: false,
    }
}

impl VgpuType {
    /// Low GM in bytes.
    pub fn low_size(&self) -> u64 {
        u64::from(self.low_gm_mb) * MB
    }

    /// High GM in slots of `layout` (at least one).
    pub fn slots(&self, layout: &Layout) -> u32 {
        let slot = layout.config().slot_size.max(1);
        let n = (u64::from(self.high_gm_mb) * MB).div_ceil(slot);
        u32::try_from(n).unwrap_or(u32::MAX).max(1)
    }

    /// Writes the `description` attribute as GVT-g prints it.
    pub fn describe(&self, w: &mut impl fmt::Write) -> fmt::Result {
        write!(
            w,
            "low_gm_size: {}MB\nhigh_gm_size: {}MB\nfence: {}\nresolution: {}\nweight: {}\n",
            self.low_gm_mb, self.high_gm_mb, self.fence, self.resolution, self.weight
        )?;
        if self.shares_high_gm {
            writeln!(w, "high_gm_shared: yes")?;
        }
        Ok(())
    }

    /// How many more vGPUs of this type fit in `gm` now.
    pub fn available<A: Alloc>(&self, gm: &Gm<A>) -> u32 {
        let by_low = gm.slots().available(self.low_size());
        let map = gm.slots();
        // Runs of the type's size on slots it may take: disjoint free runs for a
        // non-sharing type; for a sharing one, any run without an exclusive holder.
        let need = self.slots(gm.layout());
        let may_take = |s: u32| {
            if self.shares_high_gm {
                !map.blocked_for(None, s)
            } else {
                map.occupants(s) == 0
            }
        };
        let (mut run, mut fit) = (0u32, 0u32);
        for s in 0..gm.layout().slots() {
            if may_take(s) {
                run += 1;
                if run == need {
                    fit += 1;
                    run = 0;
                }
            } else {
                run = 0;
            }
        }
        if self.shares_high_gm {
            return if fit > 0 { by_low } else { 0 };
        }
        by_low.min(fit)
    }

    /// Creates a vGPU of this type in `gm`; a non-sharing type takes free slots only
    /// and keeps them to itself, else [`Error::NoSpace`].
    pub fn create<A: Alloc>(&self, gm: &mut Gm<A>) -> Result<VgpuId, Error> {
        let slots = self.slots(gm.layout());
        gm.create_with(self.low_size(), slots, slots, !self.shares_high_gm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gm::layout::Config;
    use crate::storage::Std;

    fn gm() -> Gm<Std> {
        Gm::new(Layout::new(Config::default()).unwrap(), true).unwrap()
    }

    fn ty(name: &str) -> &'static VgpuType {
        TYPES.iter().find(|t| t.name.to_str() == Ok(name)).unwrap()
    }

    #[test]
    fn gvt_types_never_share_and_available_agrees() {
        let mut gm = gm();
        let t = ty("V5_8");
        // 192 MB of low GM for vGPUs (64 MB host-reserved): three of 64 MB.
        assert_eq!(t.available(&gm), 3);
        for left in (0..3).rev() {
            t.create(&mut gm).unwrap();
            assert_eq!(t.available(&gm), left);
        }
        assert_eq!(t.create(&mut gm), Err(Error::NoSpace));
        let v = ty("V5_1");
        assert_eq!(v.available(&gm), 0);
    }

    #[test]
    fn sharing_types_reach_32() {
        let mut gm = gm();
        let t = ty("S_32");
        assert!(t.available(&gm) >= 32);
        for _ in 0..32 {
            t.create(&mut gm).unwrap();
        }
        assert!(gm.slots().shared_slots() > 0);
        // Low GM (192 MB / 4 MB = 48) still has room; ids bound the rest.
        assert_eq!(t.available(&gm), 16);
    }

    #[test]
    fn non_sharing_create_fails_when_only_shared_slots_remain() {
        let mut gm = gm();
        for _ in 0..10 {
            ty("S_16").create(&mut gm).unwrap();
        }
        let t = ty("V5_4");
        assert_eq!(t.available(&gm), 0);
        let before = gm.slots().iter().count();
        assert_eq!(t.create(&mut gm), Err(Error::NoSpace));
        assert_eq!(
            gm.slots().iter().count(),
            before,
            "failed create leaves nothing"
        );
    }

    #[test]
    fn sharing_types_never_land_on_gvt_slots() {
        let mut gm = gm();
        let v = ty("V5_8").create(&mut gm).unwrap();
        let held = gm.vgpu(v).unwrap().slots;
        for _ in 0..31 {
            ty("S_32").create(&mut gm).unwrap();
        }
        for s in held.iter() {
            assert_eq!(gm.slots().sharers(s), 1, "slot {s} of the V5_8 was shared");
        }
        // 60 slots, 6 taken: the S_32s shared the other 54.
        assert!(gm.slots().shared_slots() > 0);
    }

    #[test]
    fn description_is_gvt_g_format() {
        let mut s = std::string::String::new();
        ty("V5_4").describe(&mut s).unwrap();
        assert_eq!(
            s,
            "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\nweight: 4\n"
        );
    }
}
