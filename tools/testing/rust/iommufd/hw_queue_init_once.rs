// SPDX-License-Identifier: GPL-2.0

//! The driver initializes a HW queue once: a second `init` at another index would leave the
//! queue in two of the driver's slots, one of them dangling once the queue is destroyed.
//!
//! crate: hw_queue
//! expect: E0382

use crate::iommufd::hw_queue::PinnedHwQueue;
use kernel::prelude::*;

/// Initializes a queue at index 0, and again at index 1.
pub(crate) fn init_twice(queue: PinnedHwQueue<'_>) -> Result<u32> {
    #[cfg(fail)]
    {
        let queue = queue;
        let _ = queue.init(0);
        queue.init(1).map(|q| q.id())
    }
    #[cfg(not(fail))]
    queue.init(0).map(|q| q.id())
}
