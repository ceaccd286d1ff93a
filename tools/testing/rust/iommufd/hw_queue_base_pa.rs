// SPDX-License-Identifier: GPL-2.0

//! The physical address a driver programs into its hardware is that of the guest memory the
//! queue pins, never one that safe code chooses.
//!
//! expect: E0061

use kernel::{
    iommu::iommufd::PinnedHwQueue,
    prelude::*, //
};

/// Initializes a queue at physical address 0.
pub fn init_at_zero(queue: PinnedHwQueue<'_>) -> Result<u32> {
    #[cfg(fail)]
    let id = queue.init(0, 0);
    #[cfg(not(fail))]
    let id = queue.init(0);
    id.map(|q| q.id())
}
