//! Tunables of the shadow tables and their parsing, shared with the sysfs layer.

/// Which guest page-table pages run relaxed (unprotected, rebuilt before each workload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Never relax: every write traps (the gVirt baseline).
    Strict,
    /// Every PT page is relaxed and all are rebuilt at each submission.
    Full,
    /// The `static_pages` most-written PT pages are relaxed and stay relaxed.
    Static,
    /// A PT page relaxes when its writes in a window reach the threshold; it stays relaxed.
    Dynamic,
    /// As [`Policy::Dynamic`], but each page returns to strict after its reconstruction.
    Segmented,
}

impl Policy {
    /// Every policy, in the order sysfs lists them.
    pub const ALL: [Policy; 5] = [
        Policy::Strict,
        Policy::Full,
        Policy::Static,
        Policy::Dynamic,
        Policy::Segmented,
    ];

    /// The name sysfs shows and accepts.
    pub const fn name(self) -> &'static str {
        match self {
            Policy::Strict => "strict",
            Policy::Full => "full",
            Policy::Static => "static",
            Policy::Dynamic => "dynamic",
            Policy::Segmented => "segmented",
        }
    }

    /// Parses a name as written to sysfs (surrounding whitespace ignored).
    pub fn parse(bytes: &[u8]) -> Result<Policy, ParamError> {
        let name = crate::parse::trim(bytes);
        Policy::ALL
            .into_iter()
            .find(|p| p.name().as_bytes() == name)
            .ok_or(ParamError::Invalid)
    }
}

/// Why a tunable was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamError {
    /// Not a number or not a known name.
    Invalid,
    /// A number outside the tunable's range.
    Range,
}

/// One tunable, as named in sysfs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// [`Params::policy`].
    Policy,
    /// [`Params::threshold`].
    Threshold,
    /// [`Params::window_ns`].
    WindowNs,
    /// [`Params::static_pages`].
    StaticPages,
    /// [`Params::pool_pages`].
    PoolPages,
    /// [`Params::max_pages`].
    MaxPages,
}

impl Param {
    /// Every tunable.
    pub const ALL: [Param; 6] = [
        Param::Policy,
        Param::Threshold,
        Param::WindowNs,
        Param::StaticPages,
        Param::PoolPages,
        Param::MaxPages,
    ];

    /// The sysfs file name.
    pub const fn name(self) -> &'static core::ffi::CStr {
        match self {
            Param::Policy => c"policy",
            Param::Threshold => c"relax_threshold",
            Param::WindowNs => c"relax_window_ns",
            Param::StaticPages => c"static_pages",
            Param::PoolPages => c"pool_pages",
            Param::MaxPages => c"max_shadow_pages",
        }
    }

    /// Finds a tunable by its sysfs file name.
    pub fn from_name(bytes: &[u8]) -> Option<Param> {
        let name = crate::parse::trim(bytes);
        Param::ALL.into_iter().find(|p| p.name().to_bytes() == name)
    }

    /// Inclusive range of a numeric tunable (`None` for the policy).
    pub const fn range(self) -> Option<(u64, u64)> {
        match self {
            Param::Policy => None,
            Param::Threshold => Some((1, 512)),
            Param::WindowNs => Some((1_000, 60_000_000_000)),
            Param::StaticPages => Some((0, MAX_POOL)),
            Param::PoolPages => Some((1, MAX_POOL)),
            Param::MaxPages => Some((1, MAX_PAGES)),
        }
    }
}

/// Upper bound of [`Params::pool_pages`] and [`Params::static_pages`].
pub const MAX_POOL: u64 = 65_536;

/// Upper bound of [`Params::max_pages`] (4 GB of shadow pages).
pub const MAX_PAGES: u64 = 1 << 20;

/// The tunables of one vGPU's shadow tables.
///
/// # Invariants
///
/// Every field is within [`Param::range`]; [`Params::validate`] checks it and
/// [`Params::set`] keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Relaxation policy; default [`Policy::Segmented`].
    pub policy: Policy,
    /// Trapped writes within the window that relax a page (dynamic, segmented); default 8.
    pub threshold: u32,
    /// Length of the write-counting window, in the caller's nanoseconds; default 1 ms.
    pub window_ns: u64,
    /// Pages relaxed by the static policy (the paper's best was 200); default 200.
    pub static_pages: u32,
    /// Bound on relaxed pages: the oldest is synced and made strict to make room; default 8192.
    pub pool_pages: u32,
    /// Bound on shadow page-table pages per vGPU; default 16384 (64 MB).
    pub max_pages: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            policy: Policy::Segmented,
            threshold: 8,
            window_ns: 1_000_000,
            static_pages: 200,
            pool_pages: 8192,
            max_pages: 16384,
        }
    }
}

impl Params {
    /// Checks every field against its range.
    pub fn validate(&self) -> Result<(), ParamError> {
        for p in Param::ALL {
            if let Some((lo, hi)) = p.range() {
                let v = self.get(p);
                if v < lo || v > hi {
                    return Err(ParamError::Range);
                }
            }
        }
        Ok(())
    }

    /// Returns a numeric tunable (the policy as its index in [`Policy::ALL`]).
    pub fn get(&self, p: Param) -> u64 {
        match p {
            Param::Policy => Policy::ALL
                .iter()
                .position(|x| *x == self.policy)
                .unwrap_or(0) as u64,
            Param::Threshold => u64::from(self.threshold),
            Param::WindowNs => self.window_ns,
            Param::StaticPages => u64::from(self.static_pages),
            Param::PoolPages => u64::from(self.pool_pages),
            Param::MaxPages => u64::from(self.max_pages),
        }
    }

    /// Parses `value` as written to sysfs and stores it in `p`; unchanged on error.
    pub fn set(&mut self, p: Param, value: &[u8]) -> Result<(), ParamError> {
        let Some((lo, hi)) = p.range() else {
            self.policy = Policy::parse(value)?;
            return Ok(());
        };
        let v = parse_u64(value)?;
        if v < lo || v > hi {
            return Err(ParamError::Range);
        }
        // The ranges above fit u32 for every u32 field.
        let small = u32::try_from(v).map_err(|_| ParamError::Range);
        match p {
            Param::Policy => {}
            Param::Threshold => self.threshold = small?,
            Param::WindowNs => self.window_ns = v,
            Param::StaticPages => self.static_pages = small?,
            Param::PoolPages => self.pool_pages = small?,
            Param::MaxPages => self.max_pages = small?,
        }
        Ok(())
    }
}

impl Params {
    /// Prints the value of `p` as its sysfs file shows it (no newline).
    pub fn show(&self, p: Param, f: &mut impl core::fmt::Write) -> core::fmt::Result {
        match p {
            Param::Policy => f.write_str(self.policy.name()),
            Param::Threshold => write!(f, "{}", self.threshold),
            Param::WindowNs => write!(f, "{}", self.window_ns),
            Param::StaticPages => write!(f, "{}", self.static_pages),
            Param::PoolPages => write!(f, "{}", self.pool_pages),
            Param::MaxPages => write!(f, "{}", self.max_pages),
        }
    }
}

/// Parses a decimal `u64` as written to sysfs (see [`crate::parse`]).
fn parse_u64(bytes: &[u8]) -> Result<u64, ParamError> {
    crate::parse::parse_u64(bytes).map_err(|_| ParamError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_round_trip() {
        for p in Policy::ALL {
            assert_eq!(Policy::parse(p.name().as_bytes()), Ok(p));
        }
        assert_eq!(Policy::parse(b"segmented\n"), Ok(Policy::Segmented));
        assert_eq!(Policy::parse(b"Segmented"), Err(ParamError::Invalid));
        assert_eq!(Params::default().policy, Policy::Segmented);
    }

    #[test]
    fn set_checks_ranges() {
        let mut p = Params::default();
        assert!(p.validate().is_ok());
        assert_eq!(p.set(Param::Threshold, b"0"), Err(ParamError::Range));
        assert_eq!(p.set(Param::Threshold, b"12\n"), Ok(()));
        assert_eq!(p.threshold, 12);
        assert_eq!(p.set(Param::PoolPages, b"-1"), Err(ParamError::Invalid));
        assert_eq!(
            p.set(Param::WindowNs, b"99999999999999999999999"),
            Err(ParamError::Invalid)
        );
        assert_eq!(p.set(Param::Policy, b" full "), Ok(()));
        assert_eq!(p.policy, Policy::Full);
        assert_eq!(
            Param::from_name(b"relax_threshold\n"),
            Some(Param::Threshold)
        );
        assert_eq!(parse_u64(b""), Err(ParamError::Invalid));
        p.max_pages = 0;
        assert_eq!(p.validate(), Err(ParamError::Range));
    }
}
