// SPDX-License-Identifier: GPL-2.0

//! What a developer tunes in the emulated hardware, through debugfs (`tegra241_cmdqv_emu/`):
//!
//! - `idle_poll_us`: how often the engine visits queues that execute nothing, in microseconds;
//!   0, the default, for once per jiffy. Hardware fetches a command as soon as the guest moves
//!   `PROD`; a short period comes closer to that, at the cost of a CPU that the engine keeps
//!   busy while any queue exists (see [`super::engine`]).
//! - `inject_illegal`: how many of the next commands that the engine fetches it rejects as
//!   illegal (`CERROR_ILL`), as hardware rejects a command it does not support: fault injection
//!   for the error path that a guest and its VMM see.
//!
//! Reading a file gives its value; writing a number sets it.

use core::fmt;
use kernel::{
    debugfs::Reader,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    },
    time::Delta,
    uaccess::UserSliceReader,
};

/// The tunables of a CMDQV: see the module's documentation.
pub(crate) struct Tunables {
    idle_poll_us: Atomic<u32>,
    inject_illegal: Atomic<u32>,
}

impl Tunables {
    /// The defaults: idle polling once per jiffy, no fault injected.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                idle_poll_us: Atomic::new(0),
                inject_illegal: Atomic::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    /// The polling period while the queues are idle; `None` for one jiffy.
    pub(crate) fn idle_poll(&self) -> Option<Delta> {
        match self.idle_poll_us.load(Relaxed) {
            0 => None,
            us => Some(Delta::from_micros(us.into())),
        }
    }

    /// Whether the command being fetched is to be rejected as illegal: true, counting it, while
    /// `inject_illegal` is not zero.
    pub(crate) fn take_illegal(&self) -> bool {
        let mut left = self.inject_illegal.load(Relaxed);
        while left > 0 {
            match self.inject_illegal.cmpxchg(left, left - 1, Relaxed) {
                Ok(_) => return true,
                Err(now) => left = now,
            }
        }
        false
    }
}

/// One tunable as a debugfs file.
pub(crate) struct TunableFile {
    tunables: Arc<Tunables>,
    value: fn(&Tunables) -> &Atomic<u32>,
}

impl TunableFile {
    /// The file of `idle_poll_us`.
    pub(crate) fn idle_poll_us(tunables: Arc<Tunables>) -> Self {
        Self {
            tunables,
            value: |t| &t.idle_poll_us,
        }
    }

    /// The file of `inject_illegal`.
    pub(crate) fn inject_illegal(tunables: Arc<Tunables>) -> Self {
        Self {
            tunables,
            value: |t| &t.inject_illegal,
        }
    }
}

// What reading the file gives (debugfs's `Writer`, for any `Debug`).
impl fmt::Debug for TunableFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", (self.value)(&self.tunables).load(Relaxed))
    }
}

impl Reader for TunableFile {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        (self.value)(&self.tunables).read_from_slice(reader)
    }
}
