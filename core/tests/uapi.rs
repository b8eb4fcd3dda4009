//! `include/uapi/rgvt.h` restates constants of the core for C users; this
//! keeps the two in agreement.

use rgvt_core::balloon::protocol as balloon;
use rgvt_core::shadow::track;
use rgvt_core::{cfg_space, mmio, pvinfo};
use std::collections::HashMap;
use std::path::Path;

/// Reads the header's `#define NAME VALUE` lines whose value is a number,
/// possibly `(A << B)`, with C integer suffixes.
fn defines() -> HashMap<String, u64> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/uapi/rgvt.h");
    let text = std::fs::read_to_string(path).unwrap();
    let number = |s: &str| -> Option<u64> {
        let s = s.trim().trim_end_matches(['U', 'L']);
        match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        }
    };
    let mut out = HashMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("#define ") else {
            continue;
        };
        let mut parts = rest.splitn(2, char::is_whitespace);
        let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
            continue;
        };
        let value = value.split("/*").next().unwrap().trim();
        let value = value.trim_start_matches('(').trim_end_matches(')');
        let v = match value.split_once("<<") {
            Some((a, b)) => number(a).zip(number(b)).map(|(a, b)| a << b),
            None => number(value),
        };
        if let Some(v) = v {
            out.insert(name.to_string(), v);
        }
    }
    out
}

#[test]
fn header_matches_core() {
    let d = defines();
    let expect: &[(&str, u64)] = &[
        ("RGVT_BAR0_SIZE", mmio::BAR0_SIZE),
        ("RGVT_MMIO_SIZE", u64::from(mmio::MMIO_SIZE)),
        ("RGVT_GGTT_OFFSET", mmio::GGTT_OFFSET),
        ("RGVT_GGTT_ENTRY_SIZE", mmio::GGTT_ENTRY_SIZE),
        (
            "RGVT_PCI_VENDOR_ID",
            u64::from(cfg_space::Identity::INTEL_SKL_GT2.vendor),
        ),
        (
            "RGVT_PCI_DEVICE_ID",
            u64::from(cfg_space::Identity::INTEL_SKL_GT2.device),
        ),
        ("RGVT_TRACK_VERSION_1", u64::from(track::VERSION)),
        ("RGVT_TRACK_MAX_FRAMES", track::MAX_TRACKED as u64),
        ("RGVT_TRACK_REGION_SIZE", track::REGION_SIZE),
        ("RGVT_TRACK_VERSION", track::reg::VERSION),
        ("RGVT_TRACK_FLAGS", track::reg::FLAGS),
        ("RGVT_TRACK_GENERATION", track::reg::GENERATION),
        ("RGVT_TRACK_COUNT", track::reg::COUNT),
        ("RGVT_TRACK_MAX", track::reg::MAX),
        ("RGVT_TRACK_ACKED", track::reg::ACKED),
        ("RGVT_TRACK_CTL", track::reg::CTL),
        ("RGVT_TRACK_ACK", track::reg::ACK),
        ("RGVT_TRACK_WRITE", track::reg::WRITE),
        ("RGVT_TRACK_FRAMES", track::reg::FRAMES),
        ("RGVT_TRACK_FLAG_ON", u64::from(track::FLAG_ON)),
        ("RGVT_TRACK_CTL_DISABLE", u64::from(track::CTL_DISABLE)),
        ("RGVT_TRACK_CTL_ENABLE", u64::from(track::CTL_ENABLE)),
        ("VGT_PVINFO_PAGE", u64::from(pvinfo::VGT_PVINFO_PAGE)),
        ("VGT_PVINFO_SIZE", u64::from(pvinfo::VGT_PVINFO_SIZE)),
        ("VGT_MAGIC", pvinfo::VGT_MAGIC),
        ("VGT_IF_MAGIC", u64::from(pvinfo::off::MAGIC)),
        (
            "VGT_IF_VERSION_MAJOR",
            u64::from(pvinfo::off::VERSION_MAJOR),
        ),
        (
            "VGT_IF_VERSION_MINOR",
            u64::from(pvinfo::off::VERSION_MINOR),
        ),
        ("VGT_IF_VGT_ID", u64::from(pvinfo::off::VGT_ID)),
        ("VGT_IF_VGT_CAPS", u64::from(pvinfo::off::VGT_CAPS)),
        (
            "VGT_IF_MAPPABLE_BASE",
            u64::from(pvinfo::off::AVAIL_RS_MAPPABLE_BASE),
        ),
        (
            "VGT_IF_MAPPABLE_SIZE",
            u64::from(pvinfo::off::AVAIL_RS_MAPPABLE_SIZE),
        ),
        (
            "VGT_IF_NONMAPPABLE_BASE",
            u64::from(pvinfo::off::AVAIL_RS_NONMAPPABLE_BASE),
        ),
        (
            "VGT_IF_NONMAPPABLE_SIZE",
            u64::from(pvinfo::off::AVAIL_RS_NONMAPPABLE_SIZE),
        ),
        (
            "VGT_IF_FENCE_NUM",
            u64::from(pvinfo::off::AVAIL_RS_FENCE_NUM),
        ),
        (
            "VGT_IF_DISPLAY_READY",
            u64::from(pvinfo::off::DISPLAY_READY),
        ),
        ("VGT_IF_G2V_NOTIFY", u64::from(pvinfo::off::G2V_NOTIFY)),
        ("VGT_IF_PDP", u64::from(pvinfo::off::PDP)),
        (
            "RGVT_PV_BALLOON_VERSION",
            u64::from(balloon::PV_BALLOON_VERSION),
        ),
        (
            "RGVT_PV_BALLOON_STATUS",
            u64::from(balloon::PV_BALLOON_STATUS),
        ),
        ("RGVT_PV_BALLOON_SEQ", u64::from(balloon::PV_BALLOON_SEQ)),
        (
            "RGVT_PV_BALLOON_KEEP_BASE",
            u64::from(balloon::PV_BALLOON_KEEP_BASE),
        ),
        (
            "RGVT_PV_BALLOON_KEEP_SIZE",
            u64::from(balloon::PV_BALLOON_KEEP_SIZE),
        ),
        (
            "RGVT_PV_BALLOON_SLOT_SIZE",
            u64::from(balloon::PV_BALLOON_SLOT_SIZE),
        ),
        (
            "RGVT_PV_BALLOON_SLOT_BASE",
            u64::from(balloon::PV_BALLOON_SLOT_BASE),
        ),
        (
            "RGVT_PV_BALLOON_SLOT_MAP",
            u64::from(balloon::PV_BALLOON_SLOT_MAP),
        ),
        (
            "RGVT_PV_BALLOON_REQ_SLOTS",
            u64::from(balloon::PV_BALLOON_REQ_SLOTS),
        ),
        (
            "RGVT_PV_BALLOON_REQ_EVICTIONS",
            u64::from(balloon::PV_BALLOON_REQ_EVICTIONS),
        ),
        (
            "RGVT_PV_BALLOON_REQ_SEQ",
            u64::from(balloon::PV_BALLOON_REQ_SEQ),
        ),
        (
            "RGVT_PV_BALLOON_ACK_SEQ",
            u64::from(balloon::PV_BALLOON_ACK_SEQ),
        ),
        (
            "RGVT_G2V_BALLOON_REQUEST",
            u64::from(balloon::G2V_BALLOON_REQUEST),
        ),
        ("RGVT_G2V_BALLOON_ACK", u64::from(balloon::G2V_BALLOON_ACK)),
        (
            "RGVT_G2V_BALLOON_REFUSE",
            u64::from(balloon::G2V_BALLOON_REFUSE),
        ),
    ];
    for (name, value) in expect {
        assert_eq!(d.get(*name), Some(value), "{name} in include/uapi/rgvt.h");
    }
}
