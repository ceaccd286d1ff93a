// SPDX-License-Identifier: GPL-2.0

//! Checks on a guest queue range.
//!
//! [`check_args`] applies the user-visible rules of `IOMMU_HW_QUEUE_ALLOC` on the range, and
//! [`check_page_array`] the limit of C's page array.

use crate::iommufd::PageSpan;
use kernel::{
    page::PAGE_SHIFT,
    prelude::*, //
};

/// Checks the guest range of `IOMMU_HW_QUEUE_ALLOC`.
///
/// Fails with `EINVAL` for a zero length and `EOVERFLOW` when the last byte of the queue is not
/// representable.
pub(crate) fn check_args(iova: u64, length: u64) -> Result {
    // One test on the way of a valid range; which refusal it is, only once refused.
    let last = length.checked_sub(1).and_then(|n| iova.checked_add(n));
    match last {
        Some(_) => Ok(()),
        None if length == 0 => Err(EINVAL),
        None => Err(EOVERFLOW),
    }
}

/// The largest allocation `kvmalloc()` attempts, in bytes.
const KVMALLOC_MAX: u64 = i32::MAX as u64;

/// Fails with `ENOMEM` when C could not allocate the page array of the queue's range.
///
/// C allocates one array of page pointers for the whole range, and `kvmalloc()` refuses any
/// allocation of more than `INT_MAX` bytes, so C answers `ENOMEM` for queues of about 1 TiB and
/// more. The Rust implementation pins in bounded chunks and has no such array, but answers these
/// lengths as C does, so that the uAPI does not depend on the implementation. (A smaller array
/// that C fails to allocate for lack of memory is not predictable, and not reproduced.)
///
/// Ranges whose page-rounded length is not representable fail with `ERANGE`, as in C.
pub(crate) fn check_page_array(iova: u64, length: u64) -> Result {
    let span = PageSpan::new(iova, length, PAGE_SHIFT as u32)?;
    // `npages < 2^52`, so the product does not overflow.
    if span.npages() * core::mem::size_of::<usize>() as u64 > KVMALLOC_MAX {
        return Err(ENOMEM);
    }
    Ok(())
}

#[kunit_tests(iommufd_hw_queue_range)]
mod tests {
    use super::*;
    use kernel::page::PAGE_SIZE;

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
    fn page_array() {
        const PAGE: u64 = PAGE_SIZE as u64;
        // 2^28 page pointers are 2 GiB, one byte more than `kvmalloc()` takes: 1 TiB of 4 KiB
        // pages, 16 TiB of 64 KiB ones.
        const LIMIT: u64 = (1 << 28) * PAGE;
        assert_eq!(check_page_array(0, LIMIT), Err(ENOMEM));
        assert_eq!(check_page_array(0, LIMIT - PAGE), Ok(()));
        assert_eq!(check_page_array(0, LIMIT - PAGE + 1), Err(ENOMEM));
        // The offset in the first page counts: one more page.
        assert_eq!(check_page_array(1, LIMIT - PAGE), Err(ENOMEM));
        assert_eq!(check_page_array(PAGE, LIMIT - PAGE), Ok(()));
        assert_eq!(check_page_array(0, LIMIT + (1 << 30)), Err(ENOMEM));
        assert_eq!(check_page_array(0, 2 * LIMIT), Err(ENOMEM));
        assert_eq!(check_page_array(0, 1 << 50), Err(ENOMEM));
        assert_eq!(check_page_array(0, LIMIT / 2), Ok(()));
        assert_eq!(check_page_array(PAGE, 4096), Ok(()));
        // Rounding the length up overflows: C's `ERANGE` comes first.
        assert_eq!(check_page_array(0, u64::MAX), Err(ERANGE));
        assert_eq!(check_page_array(1, u64::MAX - 1), Err(ERANGE));
    }
}
