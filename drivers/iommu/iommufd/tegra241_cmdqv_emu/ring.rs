// SPDX-License-Identifier: GPL-2.0

//! The pointers of an SMMUv3 queue, as an LVCMDQ's `CONS.RD` and `PROD.WR` hold them.
//!
//! A queue of `1 << log2size` entries is indexed by the low `log2size` bits of a pointer; the
//! next bit is the wrap bit, which flips each time the pointer passes the end. The queue is
//! empty when both pointers are equal, and full when they differ only in the wrap bit. Bits of a
//! pointer above the wrap bit mean nothing and are ignored.

use kernel::prelude::*;

/// The largest `LOG2SIZE`: `RD` and `WR` are 20 bits, index and wrap bit.
pub(crate) const MAX_LOG2SIZE: u32 = 19;

/// The pointer arithmetic of a queue of `1 << log2size` entries.
///
/// # Invariants
///
/// `log2size <= MAX_LOG2SIZE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ring {
    log2size: u32,
}

impl Ring {
    /// The ring of a queue of `1 << log2size` entries, if the hardware can have one.
    pub(crate) fn new(log2size: u32) -> Option<Self> {
        (log2size <= MAX_LOG2SIZE).then_some(Self { log2size })
    }

    /// The number of entries.
    pub(crate) fn entries(self) -> u32 {
        1 << self.log2size
    }

    /// The pointer bits that count: index and wrap bit.
    fn ptr_mask(self) -> u32 {
        (2 << self.log2size) - 1
    }

    /// The entry a pointer points at.
    pub(crate) fn index(self, ptr: u32) -> u32 {
        ptr & (self.entries() - 1)
    }

    /// The pointer after `ptr`.
    pub(crate) fn next(self, ptr: u32) -> u32 {
        ptr.wrapping_add(1) & self.ptr_mask()
    }

    /// The number of entries from `cons` up to `prod`, or `None` if `prod` is more than a whole
    /// queue ahead of `cons`, which no producer can have written.
    pub(crate) fn pending(self, prod: u32, cons: u32) -> Option<u32> {
        let n = prod.wrapping_sub(cons) & self.ptr_mask();
        (n <= self.entries()).then_some(n)
    }
}

#[kunit_tests(tegra241_cmdqv_emu_ring)]
mod tests {
    use super::*;

    #[test]
    fn wrap() -> Result {
        let ring = Ring::new(2).ok_or(EINVAL)?;
        assert_eq!(ring.entries(), 4);
        // Index 3, then index 0 with the wrap bit set, then back to 0 after two laps.
        assert_eq!(ring.next(3), 4);
        assert_eq!(ring.index(4), 0);
        assert_eq!(ring.next(7), 0);
        // Bits above the wrap bit are ignored.
        assert_eq!(ring.index(0xf5), 1);
        assert_eq!(ring.next(0xf7), 0);
        assert!(Ring::new(MAX_LOG2SIZE).is_some());
        assert!(Ring::new(MAX_LOG2SIZE + 1).is_none());
        Ok(())
    }

    #[test]
    fn pending() -> Result {
        let ring = Ring::new(2).ok_or(EINVAL)?;
        assert_eq!(ring.pending(0, 0), Some(0));
        assert_eq!(ring.pending(3, 1), Some(2));
        // Full: same index, other wrap bit.
        assert_eq!(ring.pending(4, 0), Some(4));
        assert_eq!(ring.pending(0, 4), Some(4));
        // Across the wrap: CONS at index 3, PROD at index 1 of the next lap.
        assert_eq!(ring.pending(5, 3), Some(2));
        assert_eq!(ring.pending(1, 7), Some(2));
        // More than a queue ahead.
        assert_eq!(ring.pending(6, 1), None);
        assert_eq!(ring.pending(0x10_0003, 3), Some(0));
        Ok(())
    }
}
