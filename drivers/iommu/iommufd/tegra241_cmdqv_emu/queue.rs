// SPDX-License-Identifier: GPL-2.0

//! The rules for a guest's LVCMDQ, as the upstream driver applies them on `IOMMU_HW_QUEUE_ALLOC`
//! (`tegra241_vintf_alloc_lvcmdq_user()`), in its order and with its errnos.

use kernel::prelude::*;

/// log2 of the size of a command: 16 bytes.
pub(crate) const ENTRY_SHIFT: u32 = 4;
/// The smallest queue: two commands.
const MIN_LENGTH: u64 = 2 << ENTRY_SHIFT;
/// The address bits a queue base may have: 47:5.
const BASE_ADDR_MASK: u64 = ((1 << 48) - 1) & !((1 << 5) - 1);

/// Checks that LVCMDQ `index` of a VINTF with `count` LVCMDQs may be allocated, where `taken`
/// tells whether an LVCMDQ is allocated already.
///
/// Queues are allocated in ascending order: `EINVAL` for an index past the VINTF's LVCMDQs,
/// `EEXIST` for one taken, `EIO` when the previous one is not allocated.
pub(crate) fn check_index(index: u32, count: u32, taken: impl Fn(u32) -> bool) -> Result {
    if index >= count {
        return Err(EINVAL);
    }
    if taken(index) {
        return Err(EEXIST);
    }
    if index > 0 && !taken(index - 1) {
        return Err(EIO);
    }
    Ok(())
}

/// Checks the length and physical base of a queue, for an SMMU whose largest queue has
/// `1 << cmdqs` entries (`IDR1.CMDQS`), and returns the `LOG2SIZE` to program: log2 of the
/// number of entries.
///
/// `EINVAL` when the length is not a power of 2 between two entries and the largest queue,
/// when the base has bits outside 47:5, or when it is not aligned to the length.
pub(crate) fn check_geometry(length: u64, base_pa: u64, cmdqs: u32) -> Result<u32> {
    let max = 1u64.checked_shl(cmdqs + ENTRY_SHIFT).ok_or(EINVAL)?;
    if !length.is_power_of_two() || length < MIN_LENGTH || length > max {
        return Err(EINVAL);
    }
    if base_pa & !BASE_ADDR_MASK != 0 || base_pa & (length - 1) != 0 {
        return Err(EINVAL);
    }
    Ok(length.ilog2() - ENTRY_SHIFT)
}

#[kunit_tests(tegra241_cmdqv_emu_queue)]
mod tests {
    use super::*;

    #[test]
    fn index_order() {
        let none = |_| false;
        let first = |i| i == 0;
        let both = |i| i < 2;
        assert_eq!(check_index(0, 2, none), Ok(()));
        assert_eq!(check_index(1, 2, none), Err(EIO));
        assert_eq!(check_index(2, 2, none), Err(EINVAL));
        assert_eq!(check_index(u32::MAX, 2, none), Err(EINVAL));
        assert_eq!(check_index(0, 2, first), Err(EEXIST));
        assert_eq!(check_index(1, 2, first), Ok(()));
        assert_eq!(check_index(1, 2, both), Err(EEXIST));
        // The range check comes first, then taken, then the previous one.
        assert_eq!(check_index(2, 2, both), Err(EINVAL));
        assert_eq!(check_index(1, 4, |i| i == 1), Err(EEXIST));
        assert_eq!(check_index(0, 0, none), Err(EINVAL));
    }

    #[test]
    fn geometry() {
        const CMDQS: u32 = 19;
        // Two to 2^19 entries.
        assert_eq!(check_geometry(32, 0x1000, CMDQS), Ok(1));
        assert_eq!(check_geometry(4096, 0x1000, CMDQS), Ok(8));
        assert_eq!(check_geometry(8 << 20, 0x8000_0000, CMDQS), Ok(19));
        assert_eq!(check_geometry(16 << 20, 0x8000_0000, CMDQS), Err(EINVAL));
        assert_eq!(check_geometry(16, 0x1000, CMDQS), Err(EINVAL));
        assert_eq!(check_geometry(0, 0x1000, CMDQS), Err(EINVAL));
        assert_eq!(check_geometry(48, 0x1000, CMDQS), Err(EINVAL));
        assert_eq!(check_geometry(4096, 0x1000, 7), Err(EINVAL));
        assert_eq!(check_geometry(2048, 0x1000, 7), Ok(7));
        // The base: bits 47:5 only, aligned to the length.
        assert_eq!(check_geometry(32, 0x20, CMDQS), Ok(1));
        assert_eq!(check_geometry(32, 0x10, CMDQS), Err(EINVAL));
        assert_eq!(check_geometry(64, 0x20, CMDQS), Err(EINVAL));
        assert_eq!(check_geometry(32, 1 << 48, CMDQS), Err(EINVAL));
        assert_eq!(check_geometry(32, (1 << 48) - 32, CMDQS), Ok(1));
        assert_eq!(check_geometry(32, 0, CMDQS), Ok(1));
        // A shift past the width of the length is no queue size.
        assert_eq!(check_geometry(32, 0, 61), Err(EINVAL));
    }
}
