// SPDX-License-Identifier: GPL-2.0

//! iommufd HW queue object (`IOMMUFD_OBJ_HW_QUEUE`) and mmap interface, in Rust.
//!
//! A HW queue is a queue in guest memory that the IOMMU reads or writes directly, such as a
//! Tegra241 CMDQV virtual command queue. `IOMMU_HW_QUEUE_ALLOC` pins the queue's guest memory
//! through an internal access on the vIOMMU's nesting parent IOAS, so that it can be neither
//! unmapped nor moved while the hardware uses it, checks that it is physically contiguous, and
//! hands its physical address to the vIOMMU driver. The queue holds a reference on its vIOMMU,
//! so the vIOMMU cannot be destroyed before its queues.
//!
//! The VMM maps the hardware's MMIO page through the mmap interface (the [`mmap`] module), so
//! the guest drives the queue without VM exits.
//!
//! This crate root is linked into `iommufd.o` when `CONFIG_IOMMUFD_HW_QUEUE_RUST=y`, in place of
//! the C functions of the same names in `viommu.c`, `main.c` and `driver.c`; the ioctl table,
//! the object operations and the file operations call it unchanged, and drivers keep calling
//! the same exported symbols. The uAPI and every errno are those of the C implementation;
//! the page array used to check contiguity is bounded (see
//! [`PinnedAccess::CHUNK_PAGES`](iommufd::access::PinnedAccess::CHUNK_PAGES)),
//! yet lengths whose page array C could not allocate fail as in C ([`range::check_page_array`]).

use crate::iommufd::{
    destroy_hw_queue,
    Responded,
    Ucmd,
    Viommu, //
};
use kernel::{
    bindings,
    prelude::*, //
};

#[path = "hw_queue/iommufd.rs"]
mod iommufd;
#[path = "hw_queue/mmap.rs"]
mod mmap;
#[path = "hw_queue/range.rs"]
mod range;

use range::{
    check_args,
    check_page_array, //
};

type AllocCmd = bindings::iommu_hw_queue_alloc;

/// `IOMMU_HW_QUEUE_ALLOC`: allocates a HW queue on a vIOMMU.
///
/// The argument checks and the vIOMMU lookup come first, in a function of their own, so that a
/// call they refuse does not set up the allocation's larger stack frame. The shape is measured
/// (`make bench CONFIGS="rust-perf c-perf"`, Rust/C): as one function, with `from_result()` in
/// the handler, `fail_no_viommu` was 1.0148 and `fail_zero_length` 1.0082; split, and without
/// `from_result()`, 0.9968 and 0.9895.
#[inline]
fn hw_queue_alloc(mut ucmd: Ucmd<'_, AllocCmd>) -> Result<Responded> {
    let cmd = ucmd.cmd();
    if cmd.flags != 0 || cmd.type_ == bindings::iommu_hw_queue_type::IOMMU_HW_QUEUE_TYPE_DEFAULT.0 {
        return Err(EOPNOTSUPP);
    }
    check_args(cmd.nesting_parent_iova, cmd.length)?;
    let viommu_id = cmd.viommu_id;
    let viommu = ucmd.get_viommu(viommu_id)?;
    hw_queue_alloc_on(ucmd, &viommu)
}

/// `IOMMU_HW_QUEUE_ALLOC` on `viommu`, once the arguments passed [`check_args`].
#[inline(never)]
fn hw_queue_alloc_on(mut ucmd: Ucmd<'_, AllocCmd>, viommu: &Viommu) -> Result<Responded> {
    let cmd = ucmd.cmd();
    let (queue_type, index) = (cmd.type_, cmd.index);
    let (iova, length) = (cmd.nesting_parent_iova, cmd.length);

    let ops = viommu.hw_queue_ops().ok_or(EOPNOTSUPP)?;
    // Once the queue is allocated, a failure makes the core destroy it, releasing what it
    // holds.
    let hw_queue = ucmd.alloc_hw_queue(&ops, queue_type)?;
    check_page_array(iova, length)?;
    let queue = hw_queue.pin(iova, length)?.init(index)?;
    ucmd.respond_hw_queue(queue)
}

/// The `IOMMU_HW_QUEUE_ALLOC` handler of iommufd's ioctl table.
///
/// # Safety
///
/// Only the iommufd ioctl dispatcher may call this, for `IOMMU_HW_QUEUE_ALLOC`.
#[export]
pub unsafe extern "C" fn iommufd_hw_queue_alloc_ioctl(ucmd: *mut bindings::iommufd_ucmd) -> c_int {
    // SAFETY: The dispatcher passes the command of `IOMMU_HW_QUEUE_ALLOC`, which this handler
    // uses only through the wrapper, dropped before returning.
    let ucmd = unsafe { Ucmd::<AllocCmd>::from_raw(ucmd) };
    // Not `from_result()`, whose detour through `i16` costs a test and a sign extension on every
    // return (see `hw_queue_alloc` for the figures).
    match hw_queue_alloc(ucmd) {
        Ok(_) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The destroy operation of `IOMMUFD_OBJ_HW_QUEUE` objects, reached by `IOMMU_DESTROY`, by
/// closing the iommufd and by the abort of a failed `IOMMU_HW_QUEUE_ALLOC`.
///
/// # Safety
///
/// Only the iommufd core may call this, once, for a HW queue it is destroying.
#[export]
pub unsafe extern "C" fn iommufd_hw_queue_destroy(obj: *mut bindings::iommufd_object) {
    // SAFETY: iommufd only allocates HW queue objects in `hw_queue_alloc`, and destroys each
    // once, with no other user left.
    unsafe { destroy_hw_queue(obj) };
}
