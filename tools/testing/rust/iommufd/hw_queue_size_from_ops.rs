// SPDX-License-Identifier: GPL-2.0

//! A HW queue object has the size its driver gives for the queue type: safe code cannot allocate
//! one too small for the driver's structure, which the driver would write past.
//!
//! crate: hw_queue
//! expect: E0061

use crate::iommufd::{
    hw_queue::NewHwQueue,
    viommu::HwQueueOps,
    Ucmd, //
};
use kernel::{
    bindings,
    prelude::*, //
};

/// Allocates a queue of type `queue_type`.
pub(crate) fn alloc<'a, 'v>(
    ucmd: &mut Ucmd<'a, bindings::iommu_hw_queue_alloc>,
    ops: &HwQueueOps<'v>,
    queue_type: u32,
) -> Result<NewHwQueue<'a, 'v>> {
    let _ = (&ops, queue_type);
    #[cfg(fail)]
    let queue = ucmd.alloc_hw_queue(core::mem::size_of::<bindings::iommufd_hw_queue>());
    #[cfg(not(fail))]
    let queue = ucmd.alloc_hw_queue(ops, queue_type);
    queue
}
