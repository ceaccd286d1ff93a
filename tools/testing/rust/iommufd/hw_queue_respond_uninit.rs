// SPDX-License-Identifier: GPL-2.0

//! A handler of `IOMMU_HW_QUEUE_ALLOC` succeeds only by responding with a queue its driver
//! initialized: one it makes up would have the core publish a queue the driver refused, or
//! never saw.
//!
//! crate: hw_queue
//! expect: E0451

use crate::iommufd::{
    hw_queue::InitHwQueue,
    Responded,
    Ucmd, //
};
use kernel::{
    bindings,
    prelude::*, //
};

/// Responds with an initialized queue, or with one made up.
pub(crate) fn respond(
    ucmd: &mut Ucmd<'_, bindings::iommu_hw_queue_alloc>,
    queue: InitHwQueue,
) -> Result<Responded> {
    #[cfg(fail)]
    let queue = {
        let _ = queue;
        InitHwQueue { id: 1 }
    };
    ucmd.respond_hw_queue(queue)
}
