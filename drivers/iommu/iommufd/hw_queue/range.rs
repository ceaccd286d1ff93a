// SPDX-License-Identifier: GPL-2.0

//! Checks on a guest queue range.
//!
//! [`check_args`] applies the user-visible rules of `IOMMU_HW_QUEUE_ALLOC` on the range, and
//! [`ContigRun`] checks, chunk by chunk, that the pinned pages of a queue form one physically
//! contiguous run, since the IOMMU reads the queue by physical address.

use kernel::prelude::*;

/// Checks the guest range of `IOMMU_HW_QUEUE_ALLOC`.
///
/// Fails with `EINVAL` for a zero length and `EOVERFLOW` when the last byte of the queue is not
/// representable.
pub(crate) fn check_args(iova: u64, length: u64) -> Result {
    if length == 0 {
        return Err(EINVAL);
    }
    iova.checked_add(length - 1).ok_or(EOVERFLOW)?;
    Ok(())
}

/// Tracks whether a sequence of page frame numbers is one ascending contiguous run.
#[derive(Debug, Default)]
pub(crate) struct ContigRun {
    first: Option<u64>,
    expected: u64,
}

impl ContigRun {
    /// Feeds the next page frame numbers, in order.
    ///
    /// Returns `false` as soon as one does not follow its predecessor.
    pub(crate) fn extend(&mut self, pfns: impl IntoIterator<Item = u64>) -> bool {
        for pfn in pfns {
            if self.first.is_none() {
                self.first = Some(pfn);
            } else if pfn != self.expected {
                return false;
            }
            self.expected = pfn.wrapping_add(1);
        }
        true
    }

    /// The first page frame number fed, if any.
    pub(crate) fn first(&self) -> Option<u64> {
        self.first
    }
}

#[kunit_tests(iommufd_hw_queue_range)]
mod tests {
    use super::*;

    #[test]
    fn args() {
        assert_eq!(check_args(0, 0), Err(EINVAL));
        assert_eq!(check_args(0x1000, 1), Ok(()));
        assert_eq!(check_args(u64::MAX, 1), Ok(()));
        assert_eq!(check_args(u64::MAX, 2), Err(EOVERFLOW));
        assert_eq!(check_args(1, u64::MAX), Ok(()));
        assert_eq!(check_args(2, u64::MAX), Err(EOVERFLOW));
        assert_eq!(check_args(0, u64::MAX), Ok(()));
        assert_eq!(check_args(u64::MAX - 0xfff, 0x1000), Ok(()));
        assert_eq!(check_args(u64::MAX - 0xfff, 0x1001), Err(EOVERFLOW));
    }

    #[test]
    fn contiguity() {
        let mut run = ContigRun::default();
        assert_eq!(run.first(), None);
        assert!(run.extend([7, 8, 9]));
        assert!(run.extend([10]));
        assert!(run.extend([]));
        assert_eq!(run.first(), Some(7));
        assert!(!run.extend([12]));

        // Descending is not contiguous.
        let mut run = ContigRun::default();
        assert!(!run.extend([5, 4]));

        // Repeated is not contiguous.
        let mut run = ContigRun::default();
        assert!(!run.extend([5, 5]));

        // A gap at a chunk boundary is caught.
        let mut run = ContigRun::default();
        assert!(run.extend([1, 2]));
        assert!(!run.extend([4, 5]));

        // A single page is always contiguous, even the last frame.
        let mut run = ContigRun::default();
        assert!(run.extend([u64::MAX]));
        assert_eq!(run.first(), Some(u64::MAX));
    }
}
