// SPDX-License-Identifier: GPL-2.0

//! A HW queue is attached with its vIOMMU's HW queue operations, which exist only if the driver
//! has them; a vIOMMU alone is not enough, so `init_phys` never calls a missing operation.
//!
//! expect: E0308

use kernel::{
    iommu::iommufd::{
        AttachedHwQueue,
        HwQueueOps,
        NewHwQueue,
        ObjectRef,
        PinnedAccess,
        Viommu, //
    }, //
};

/// Attaches a queue.
pub fn attach<'a>(
    queue: NewHwQueue<'a>,
    viommu: &ObjectRef<'_, Viommu>,
    ops: &HwQueueOps<'_>,
    pinned: PinnedAccess,
) -> AttachedHwQueue<'a> {
    let _ = (&viommu, &ops);
    #[cfg(fail)]
    let queue = queue.attach(viommu, pinned, 0);
    #[cfg(not(fail))]
    let queue = queue.attach(ops, pinned, 0);
    queue
}
