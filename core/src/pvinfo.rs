//! The PV info page (`struct vgt_if` of `i915_pvinfo.h`): what a vGPU tells
//! its guest driver about itself, at MMIO offset `VGT_PVINFO_PAGE`.
//!
//! The top half is the host's (magic, version, id, capabilities, the
//! resources the guest may use); the bottom half is the guest's (display
//! ready, notifications, PDPs). Which fields the guest may write is decided
//! here, once, so the MMIO path cannot let a guest rewrite its own
//! allocation.

use crate::balloon::protocol as balloon;

/// MMIO offset of the PV info page.
pub const VGT_PVINFO_PAGE: u32 = 0x78000;
/// Size of the PV info page.
pub const VGT_PVINFO_SIZE: u32 = 0x1000;
/// `'vGTvGTvG'`: tells the guest it runs on a vGPU.
pub const VGT_MAGIC: u64 = 0x4776_5447_7654_4776;
/// Major version of the interface.
pub const VGT_VERSION_MAJOR: u16 = 1;
/// Minor version of the interface.
pub const VGT_VERSION_MINOR: u16 = 0;

/// Capability: full 48-bit PPGTT.
pub const VGT_CAPS_FULL_48BIT_PPGTT: u32 = 1 << 2;
/// Capability: hardware status page emulation.
pub const VGT_CAPS_HWSP_EMULATION: u32 = 1 << 3;
/// Capability: huge GTT entries.
pub const VGT_CAPS_HUGE_GTT: u32 = 1 << 4;

/// Field offsets inside the page, as `offsetof(struct vgt_if, ...)`.
pub mod off {
    /// `magic` (u64).
    pub const MAGIC: u32 = 0x00;
    /// `version_major` (u16).
    pub const VERSION_MAJOR: u32 = 0x08;
    /// `version_minor` (u16).
    pub const VERSION_MINOR: u32 = 0x0a;
    /// `vgt_id`.
    pub const VGT_ID: u32 = 0x0c;
    /// `vgt_caps`.
    pub const VGT_CAPS: u32 = 0x10;
    /// `avail_rs.mappable_gmadr.base`: first byte of the aperture (low GM) range.
    pub const AVAIL_RS_MAPPABLE_BASE: u32 = 0x40;
    /// `avail_rs.mappable_gmadr.size`.
    pub const AVAIL_RS_MAPPABLE_SIZE: u32 = 0x44;
    /// `avail_rs.nonmappable_gmadr.base`: first byte of the high GM range.
    pub const AVAIL_RS_NONMAPPABLE_BASE: u32 = 0x48;
    /// `avail_rs.nonmappable_gmadr.size`.
    pub const AVAIL_RS_NONMAPPABLE_SIZE: u32 = 0x4c;
    /// `avail_rs.fence_num`.
    pub const AVAIL_RS_FENCE_NUM: u32 = 0x50;
    /// Start of the bottom half, the guest's.
    pub const GUEST_HALF: u32 = 0x800;
    /// `display_ready`.
    pub const DISPLAY_READY: u32 = 0x804;
    /// `g2v_notify`: guest-to-vGPU notifications (`enum vgt_g2v_type`).
    pub const G2V_NOTIFY: u32 = 0x818;
    /// `cursor_x_hot`.
    pub const CURSOR_X_HOT: u32 = 0x830;
    /// `cursor_y_hot`.
    pub const CURSOR_Y_HOT: u32 = 0x834;
    /// `pdp[0].lo`; `pdp[i].lo/hi` at `PDP + 8 * i` and `+ 4`.
    pub const PDP: u32 = 0x838;
    /// `execlist_context_descriptor_lo`.
    pub const EXECLIST_CTX_DESC_LO: u32 = 0x858;
    /// `execlist_context_descriptor_hi`.
    pub const EXECLIST_CTX_DESC_HI: u32 = 0x85c;
}

/// The guest's driver says its display may be switched.
pub const VGT_DRV_DISPLAY_READY: u32 = 1;

/// Notifications a guest writes to `g2v_notify` (`enum vgt_g2v_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum G2v {
    /// A 3-level PPGTT was created (PDPs in `pdp[]`).
    PpgttL3Create,
    /// A 3-level PPGTT is going away.
    PpgttL3Destroy,
    /// A 4-level PPGTT was created (PML4 in `pdp[0]`).
    PpgttL4Create,
    /// A 4-level PPGTT is going away.
    PpgttL4Destroy,
    /// An execlist context was created.
    ExeclistContextCreate,
    /// An execlist context is going away.
    ExeclistContextDestroy,
    /// Runtime ballooning: the guest asks for slots (rgvt extension).
    BalloonRequest,
    /// Runtime ballooning: the guest acknowledges a grant or a release.
    BalloonAck,
    /// Runtime ballooning: the guest refuses to release.
    BalloonRefuse,
}

impl G2v {
    /// Decodes a `g2v_notify` value; anything else is not a notification.
    pub fn from_raw(v: u32) -> Option<Self> {
        Some(match v {
            2 => Self::PpgttL3Create,
            3 => Self::PpgttL3Destroy,
            4 => Self::PpgttL4Create,
            5 => Self::PpgttL4Destroy,
            6 => Self::ExeclistContextCreate,
            7 => Self::ExeclistContextDestroy,
            balloon::G2V_BALLOON_REQUEST => Self::BalloonRequest,
            balloon::G2V_BALLOON_ACK => Self::BalloonAck,
            balloon::G2V_BALLOON_REFUSE => Self::BalloonRefuse,
            _ => return None,
        })
    }
}

/// A graphics-memory range the guest may use, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GmRange {
    /// Graphics address of the first byte.
    pub base: u32,
    /// Length in bytes.
    pub size: u32,
}

/// What the host publishes in the top half.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Published {
    /// The vGPU's id.
    pub vgt_id: u32,
    /// Aperture (mappable, low GM) range.
    pub mappable: GmRange,
    /// Non-mappable (high GM) range.
    pub nonmappable: GmRange,
    /// Fence registers the guest may use.
    pub fence_num: u32,
}

/// Who may write a PV info field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Host-owned: a guest write is dropped (and counted by the caller).
    ReadOnly,
    /// Guest-owned: stored as written.
    Guest,
    /// A notification: stored, and the caller acts on it.
    Notify,
}

/// Returns who may write the dword at `offset` within the page.
pub fn access(offset: u32) -> Access {
    use off::*;
    match offset & !3 {
        G2V_NOTIFY => Access::Notify,
        DISPLAY_READY | CURSOR_X_HOT | CURSOR_Y_HOT | EXECLIST_CTX_DESC_LO
        | EXECLIST_CTX_DESC_HI => Access::Guest,
        o if (PDP..PDP + 32).contains(&o) => Access::Guest,
        // The balloon request words (rgvt's extension, in `rsv7`).
        o if (balloon::PV_BALLOON_REQ_SLOTS..=balloon::PV_BALLOON_ACK_SEQ).contains(&o) => {
            Access::Guest
        }
        // Everything else, including the reserved words of both halves, is
        // the host's: GVT-g drops such writes too.
        _ => Access::ReadOnly,
    }
}

/// The dwords of the top half, `(offset, value)`, to store in the page.
pub fn top_half(p: &Published) -> [(u32, u32); 11] {
    use off::*;
    [
        (MAGIC, VGT_MAGIC as u32),
        (MAGIC + 4, (VGT_MAGIC >> 32) as u32),
        (
            VERSION_MAJOR,
            u32::from(VGT_VERSION_MAJOR) | (u32::from(VGT_VERSION_MINOR) << 16),
        ),
        (VGT_ID, p.vgt_id),
        (
            VGT_CAPS,
            VGT_CAPS_FULL_48BIT_PPGTT | VGT_CAPS_HWSP_EMULATION | VGT_CAPS_HUGE_GTT,
        ),
        (AVAIL_RS_MAPPABLE_BASE, p.mappable.base),
        (AVAIL_RS_MAPPABLE_SIZE, p.mappable.size),
        (AVAIL_RS_NONMAPPABLE_BASE, p.nonmappable.base),
        (AVAIL_RS_NONMAPPABLE_SIZE, p.nonmappable.size),
        (AVAIL_RS_FENCE_NUM, p.fence_num),
        (DISPLAY_READY, 0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_half_is_read_only() {
        for o in (0..off::GUEST_HALF).step_by(4) {
            assert_eq!(access(o), Access::ReadOnly, "{o:#x}");
        }
        let guest = (off::GUEST_HALF..VGT_PVINFO_SIZE).step_by(4);
        assert_eq!(guest.filter(|o| access(*o) != Access::ReadOnly).count(), 18);
        assert_eq!(access(off::AVAIL_RS_MAPPABLE_BASE), Access::ReadOnly);
        assert_eq!(access(off::AVAIL_RS_FENCE_NUM + 2), Access::ReadOnly);
        assert_eq!(access(off::G2V_NOTIFY), Access::Notify);
        assert_eq!(access(off::PDP + 28), Access::Guest);
        assert_eq!(access(off::EXECLIST_CTX_DESC_HI + 4), Access::ReadOnly);
        assert_eq!(access(off::DISPLAY_READY), Access::Guest);
    }

    #[test]
    fn top_half_matches_vgt_if() {
        let p = Published {
            vgt_id: 3,
            mappable: GmRange {
                base: 0x0800_0000,
                size: 0x0800_0000,
            },
            nonmappable: GmRange {
                base: 0x1000_0000,
                size: 0x2000_0000,
            },
            fence_num: 4,
        };
        let t = top_half(&p);
        assert!(t.contains(&(0, 0x7654_4776)));
        assert!(t.contains(&(4, 0x4776_5447)));
        assert!(t.contains(&(0x8, 1)));
        assert!(t.contains(&(0xc, 3)));
        assert!(t.contains(&(0x48, 0x1000_0000)));
        assert!(t.contains(&(0x50, 4)));
        assert!(t.iter().all(|(o, _)| o % 4 == 0 && *o < VGT_PVINFO_SIZE));
    }

    #[test]
    fn g2v_values() {
        assert_eq!(G2v::from_raw(4), Some(G2v::PpgttL4Create));
        assert_eq!(G2v::from_raw(1), None);
        assert_eq!(G2v::from_raw(8), None);
        assert_eq!(G2v::from_raw(0x81), Some(G2v::BalloonAck));
        assert_eq!(access(balloon::PV_BALLOON_ACK_SEQ), Access::Guest);
        assert_eq!(access(balloon::PV_BALLOON_SEQ), Access::ReadOnly);
    }
}
