// SPDX-License-Identifier: GPL-2.0

//! A vGPU: what the mdev type promised and the device's emulated state.

use crate::cfg_space::{Bar, BarKind, ConfigSpace, Identity};
use core::fmt;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Mutex;

/// Size of BAR0: 2 MB of MMIO registers, then the GGTT entries from 8 MB.
pub(crate) const BAR0_SIZE: u64 = 16 << 20;
/// Size of BAR2, the aperture window (the sim backend's low GM).
pub(crate) const BAR2_SIZE: u64 = 256 << 20;

/// A vGPU type, as GVT-g defines its `GVTg_V5_*` types.
pub(crate) struct Type {
    /// The directory name after `rgvt-` and the `name` attribute.
    pub(crate) name: &'static CStr,
    /// Low (mappable) graphics memory, in MB.
    pub(crate) low_gm_mb: u32,
    /// High graphics memory, in MB.
    pub(crate) high_gm_mb: u32,
    /// Fence registers.
    pub(crate) fence: u32,
    /// Display resolution of the virtual EDID.
    pub(crate) resolution: &'static str,
    /// Scheduling weight (GVT-g: 16 / instances).
    pub(crate) weight: u32,
}

impl Type {
    /// Writes the `description` attribute exactly as GVT-g prints it.
    pub(crate) fn describe(&self, w: &mut impl fmt::Write) -> fmt::Result {
        write!(
            w,
            "low_gm_size: {}MB\nhigh_gm_size: {}MB\nfence: {}\nresolution: {}\nweight: {}\n",
            self.low_gm_mb, self.high_gm_mb, self.fence, self.resolution, self.weight
        )
    }
}

/// The types every parent offers, GVT-g's gen9 (`V5`) table.
pub(crate) static TYPES: [Type; 4] = [
    Type {
        name: kernel::c_str!("V5_8"),
        low_gm_mb: 64,
        high_gm_mb: 384,
        fence: 4,
        resolution: "1024x768",
        weight: 2,
    },
    Type {
        name: kernel::c_str!("V5_4"),
        low_gm_mb: 128,
        high_gm_mb: 512,
        fence: 4,
        resolution: "1920x1200",
        weight: 4,
    },
    Type {
        name: kernel::c_str!("V5_2"),
        low_gm_mb: 256,
        high_gm_mb: 1024,
        fence: 4,
        resolution: "1920x1200",
        weight: 8,
    },
    Type {
        name: kernel::c_str!("V5_1"),
        low_gm_mb: 512,
        high_gm_mb: 2048,
        fence: 4,
        resolution: "1920x1200",
        weight: 16,
    },
];

/// The length of a UUID in its canonical text form.
pub(crate) const UUID_LEN: usize = 36;

/// One virtual GPU.
#[pin_data]
pub(crate) struct Vgpu {
    /// Small id, unique among live vGPUs (GVT-g's `vgpu_id`).
    pub(crate) id: u32,
    /// The mdev UUID, as the mdev core named the device.
    pub(crate) uuid: [u8; UUID_LEN],
    /// What the vGPU was created as.
    pub(crate) ty: &'static Type,
    /// The PCI configuration space the VMM sees.
    #[pin]
    pub(crate) cfg: Mutex<ConfigSpace>,
}

impl Vgpu {
    /// The configuration space of a freshly reset vGPU.
    pub(crate) fn reset_cfg_space() -> Result<ConfigSpace> {
        let bars = [
            Bar {
                index: 0,
                kind: BarKind::Mem64 {
                    prefetchable: false,
                },
                size: BAR0_SIZE,
            },
            Bar {
                index: 2,
                kind: BarKind::Mem64 { prefetchable: true },
                size: BAR2_SIZE,
            },
        ];
        ConfigSpace::new(&Identity::INTEL_SKL_GT2, &bars).map_err(|_| EINVAL)
    }

    /// Creates a vGPU of type `ty` named by `uuid`.
    pub(crate) fn new(
        id: u32,
        uuid: &CStr,
        ty: &'static Type,
    ) -> Result<impl PinInit<Self, Error>> {
        let name = uuid.as_bytes();
        let mut text = [0u8; UUID_LEN];
        if name.len() != UUID_LEN {
            return Err(EINVAL);
        }
        text.copy_from_slice(name);
        let cfg = Self::reset_cfg_space()?;
        Ok(try_pin_init!(Self {
            id,
            uuid: text,
            ty,
            cfg <- kernel::new_mutex!(cfg),
        }? Error))
    }

    /// The UUID as text.
    pub(crate) fn uuid_str(&self) -> &str {
        core::str::from_utf8(&self.uuid).unwrap_or("?")
    }
}
