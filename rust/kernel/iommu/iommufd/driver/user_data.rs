// SPDX-License-Identifier: GPL-2.0

//! Driver-specific structures that user space passes to a driver through iommufd.
//!
//! C header: [`include/linux/iommu.h`](srctree/include/linux/iommu.h).
//!
//! The structures are defined in `include/uapi/linux/iommufd.h`, each tagged by a data type that
//! user space names alongside. A structure may grow at its end: a driver reads and writes the
//! length user space knows, from the length of the first version (`min_len`) up to the size the
//! kernel knows, as `iommu_copy_struct_from_user()` and `iommu_copy_struct_to_user()` do.

use crate::{
    bindings,
    error::to_result,
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
    types::Opaque,
    uapi,
};
use core::mem::{
    size_of,
    MaybeUninit, //
};

/// Driver data passed by user space, `struct iommu_user_data`.
#[repr(transparent)]
pub struct UserData(Opaque<bindings::iommu_user_data>);

impl UserData {
    /// Creates a reference from a pointer iommufd passed to a driver operation.
    ///
    /// # Safety
    ///
    /// `ptr` is valid for reads for `'a`, and its `uptr` and `len` describe user memory.
    pub(super) unsafe fn from_raw<'a>(ptr: *const bindings::iommu_user_data) -> &'a Self {
        // SAFETY: `UserData` is transparent over the C structure; valid per the contract.
        unsafe { &*ptr.cast() }
    }

    fn as_raw(&self) -> *const bindings::iommu_user_data {
        self.0.get()
    }

    /// The data type user space gave, a value of the enum of the operation's structures.
    pub fn data_type(&self) -> u32 {
        // SAFETY: Valid by the type invariant of the reference (`from_raw`).
        unsafe { (*self.as_raw()).type_ }
    }

    /// Reads a `T` of data type `data_type`, which user space knows from `min_len` bytes on.
    ///
    /// Fails with `EINVAL` when the data type differs or the length is below `min_len` or above
    /// the size of `T`, with `E2BIG` when bytes past the size of `T` are not zero, and with
    /// `EFAULT` when user memory cannot be read.
    pub fn read<T: FromBytes>(&self, data_type: u32, min_len: usize) -> Result<T> {
        let mut value = MaybeUninit::<T>::zeroed();
        // SAFETY: `value` is writable for `size_of::<T>()` bytes; `self` is valid.
        to_result(unsafe {
            bindings::__iommu_copy_struct_from_user(
                value.as_mut_ptr().cast(),
                self.as_raw(),
                data_type,
                size_of::<T>(),
                min_len,
            )
        })?;
        // SAFETY: Zeroed then partly overwritten with bytes, which is a valid `T` (`FromBytes`).
        Ok(unsafe { value.assume_init() })
    }

    /// Writes `value` back, of data type `data_type`, in the length user space knows, from
    /// `min_len` bytes on; errors as for [`UserData::read`].
    pub fn write<T: AsBytes>(&self, data_type: u32, mut value: T, min_len: usize) -> Result {
        // SAFETY: `value` is readable for `size_of::<T>()` bytes (the C prototype is not const
        // but only reads it); `self` is valid.
        to_result(unsafe {
            bindings::__iommu_copy_struct_to_user(
                self.as_raw(),
                (&raw mut value).cast(),
                data_type,
                size_of::<T>(),
                min_len,
            )
        })
    }
}

/// An array of driver-specific entries passed by user space, `struct iommu_user_data_array`.
///
/// The driver reports how many entries it handled ([`UserDataArray::set_handled`]); iommufd
/// copies that number back to user space, also when the operation fails.
#[repr(transparent)]
pub struct UserDataArray(Opaque<bindings::iommu_user_data_array>);

impl UserDataArray {
    /// Creates a reference from a pointer iommufd passed to a driver operation.
    ///
    /// # Safety
    ///
    /// `ptr` is valid for reads and writes for `'a`, and describes user memory.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut bindings::iommu_user_data_array) -> &'a mut Self {
        // SAFETY: `UserDataArray` is transparent over the C structure; valid per the contract.
        unsafe { &mut *ptr.cast() }
    }

    fn as_raw(&self) -> *mut bindings::iommu_user_data_array {
        self.0.get()
    }

    /// The number of entries user space passed.
    pub fn len(&self) -> u32 {
        // SAFETY: Valid by the type invariant of the reference (`from_raw`).
        unsafe { (*self.as_raw()).entry_num }
    }

    /// Whether user space passed no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads entry `index` as a `T` of data type `data_type` (see [`UserData::read`]).
    ///
    /// Fails with `EINVAL` for an index past the entries, besides [`UserData::read`]'s errors.
    pub fn read<T: FromBytes>(&self, index: u32, data_type: u32, min_len: usize) -> Result<T> {
        if index >= self.len() {
            return Err(EINVAL);
        }
        let mut value = MaybeUninit::<T>::zeroed();
        // SAFETY: `value` is writable for `size_of::<T>()` bytes; `self` is valid and `index` is
        // below its number of entries.
        to_result(unsafe {
            bindings::__iommu_copy_struct_from_user_array(
                value.as_mut_ptr().cast(),
                self.as_raw(),
                data_type,
                index,
                size_of::<T>(),
                min_len,
            )
        })?;
        // SAFETY: Zeroed then partly overwritten with bytes, which is a valid `T` (`FromBytes`).
        Ok(unsafe { value.assume_init() })
    }

    /// Reads the entries from `first` on, as many as fit in `out` and there are, as `T`s of
    /// data type `data_type`, and returns how many it read. It reads them as
    /// `iommu_copy_struct_from_full_user_array()` does: an entry shorter than `T` is
    /// zero-extended. A driver walks a large array this way, in blocks of memory it bounds,
    /// where iommufd allows up to `IOMMU_HWPT_INVALIDATE_ENTRY_NUM_MAX` entries.
    ///
    /// Fails with `EINVAL` when the data type differs or there is no entry from `first` on (or
    /// `out` is empty), with `E2BIG` when an entry is longer than `T` and not zero past it, and
    /// with `EFAULT` when user memory cannot be read.
    pub fn read_block<T: FromBytes>(
        &self,
        data_type: u32,
        first: u32,
        out: &mut [T],
    ) -> Result<usize> {
        // SAFETY: Valid by the type invariant of the reference (`from_raw`).
        let mut block = unsafe { self.as_raw().read() };
        let count = block
            .entry_num
            .saturating_sub(first)
            .min(out.len().try_into().unwrap_or(u32::MAX));
        // Entries are at most a page long (iommufd checks `entry_len`), so this cannot overflow
        // on 64 bits; where it would, it fails rather than wrap.
        let offset = block.entry_len.checked_mul(first as usize).ok_or(EFAULT)?;
        block.uptr = block.uptr.wrapping_byte_add(offset);
        block.entry_num = count;
        // SAFETY: `out` has room for `count` entries of `T`, the number of entries of `block`,
        // an array of user memory as `self` is, from entry `first` on.
        to_result(unsafe {
            bindings::iommu_copy_struct_from_full_user_array(
                out.as_mut_ptr().cast(),
                size_of::<T>(),
                &mut block,
                data_type,
            )
        })?;
        Ok(count as usize)
    }

    /// Reports that the first `handled` entries were handled.
    pub fn set_handled(&mut self, handled: u32) {
        // SAFETY: Valid for writes by the type invariant of the reference (`from_raw`).
        unsafe { (*self.as_raw()).entry_num = handled.min(self.len()) };
    }
}

/// Marks the structures of `include/uapi/linux/iommufd.h` that drivers exchange with user space,
/// each with the sum of its fields' sizes, which the build checks is its size: no padding.
macro_rules! impl_user_struct {
    ($($t:ident = $fields:expr),* $(,)?) => {$(
        const _: () = assert!(size_of::<uapi::$t>() == $fields);
        // SAFETY: A structure of fixed-width integers and arrays of them, without padding
        // (checked above): any bytes are a valid value.
        unsafe impl FromBytes for uapi::$t {}
        // SAFETY: As above: every byte is initialized.
        unsafe impl AsBytes for uapi::$t {}
    )*};
}

impl_user_struct!(
    iommu_hw_info_arm_smmuv3 = 4 + 4 + 6 * 4 + 4 + 4,
    iommu_hw_info_tegra241_cmdqv = 4 + 1 + 1 + 1 + 1,
    iommu_hwpt_arm_smmuv3 = 2 * 8,
    iommu_viommu_arm_smmuv3_invalidate = 2 * 8,
    iommu_viommu_tegra241_cmdqv = 8 + 8,
    iommu_vevent_tegra241_cmdqv = 2 * 8,
);
