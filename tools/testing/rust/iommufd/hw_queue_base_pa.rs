// SPDX-License-Identifier: GPL-2.0

//! The physical address a driver programs into its hardware is that of the guest memory the
//! queue pins, never one that safe code chooses.
//!
//! crate: hw_queue
//! expect: E0061

use crate::iommufd::hw_queue::PinnedHwQueue;
use kernel::prelude::*;

/// Initializes a queue at physical address 0.
pub(crate) fn init_at_zero(queue: PinnedHwQueue<'_>) -> Result<u32> {
    #[cfg(fail)]
    let id = queue.init(0, 0);
    #[cfg(not(fail))]
    let id = queue.init(0);
    id.map(|q| q.id())
}
