// SPDX-License-Identifier: GPL-2.0

//! Typed registers of the Tegra241 CMDQV.
//!
//! Offsets and fields as the upstream driver (`drivers/iommu/arm/arm-smmu-v3/tegra241-cmdqv.c`)
//! programs them. The CMDQV has three kinds of 64 KiB pages, each its own [`Io`] region:
//!
//! - the config page, at the start of the CMDQV: global registers, then one 0x100-byte block
//!   per VINTF;
//! - each VINTF's page0: the LVCMDQ queue registers, 0x80 bytes per LVCMDQ; this is the page a
//!   VMM maps, so the guest drives its queues directly;
//! - each VINTF's page1: the LVCMDQ base registers, which only the host writes.
//!
//! Registers of one VINTF's block or of one LVCMDQ form arrays indexed by the VINTF or LVCMDQ.
//! The two per-slot arrays of a VINTF block (SID slots, error map words) are flattened over
//! (VINTF, slot): [`sid_slot`] and [`err_map_word`] compute their index.
//!
//! [`Io`]: kernel::io::Io

use kernel::{
    io::register,
    prelude::*, //
};

/// The largest number of VINTFs a config page has room for.
pub(crate) const MAX_VINTFS: usize = 64;
/// The largest number of LVCMDQs a VINTF's pages have room for.
pub(crate) const MAX_LVCMDQS: usize = 128;
/// The register stride of the blocks of consecutive VINTFs, in 32-bit registers.
const VINTF_STRIDE_U32: usize = 0x100 / 4;
/// The register stride of the blocks of consecutive VINTFs, in 64-bit registers.
const VINTF_STRIDE_U64: usize = 0x100 / 8;
/// SID slots a VINTF block has room for: `SID_MATCH` is followed by `SID_REPLACE` at +0x40.
pub(crate) const MAX_SIDS_PER_VINTF: usize = 16;

register! {
    /// Global configuration.
    pub(crate) CMDQV_CONFIG(u32) @ 0x0000 {
        /// The CMDQV is enabled.
        0:0 cmdqv_en => bool;
    }

    /// What the CMDQV has.
    pub(crate) CMDQV_PARAM(u32) @ 0x0004 {
        /// log2 of the SID slots per VINTF.
        15:12 num_sid_per_vm_log2;
        /// log2 of the number of VINTFs.
        11:8 num_vintf_log2;
        /// log2 of the number of VCMDQs, shared by all VINTFs.
        7:4 num_vcmdq_log2;
        /// Version.
        3:0 ver;
    }

    /// Global status.
    pub(crate) CMDQV_STATUS(u32) @ 0x0008 {
        /// The CMDQV follows `CMDQV_CONFIG.cmdqv_en`.
        0:0 enabled => bool;
    }

    /// Which VINTFs have an error, one bit per VINTF, in two words.
    pub(crate) CMDQV_VINTF_ERR_MAP(u32)[2] @ 0x0014 {
        31:0 map;
    }

    /// Which VINTFs may interrupt, one bit per VINTF, in two words.
    pub(crate) CMDQV_VINTF_INT_MASK(u32)[2] @ 0x001c {
        31:0 mask;
    }

    /// Which VCMDQs have an error, one bit per VCMDQ, in four words.
    pub(crate) CMDQV_CMDQ_ERR_MAP(u32)[4] @ 0x0024 {
        31:0 map;
    }

    /// The assignment of VCMDQ `q` to an LVCMDQ of a VINTF.
    pub(crate) CMDQV_CMDQ_ALLOC(u32)[MAX_LVCMDQS] @ 0x0200 {
        /// The VINTF.
        20:15 vintf;
        /// The LVCMDQ index in the VINTF.
        7:1 lvcmdq;
        /// The VCMDQ is assigned.
        0:0 allocated => bool;
    }

    /// Configuration of VINTF `v`.
    pub(crate) VINTF_CONFIG(u32)[MAX_VINTFS, stride = 0x100] @ 0x1000 {
        /// The hypervisor owns the VINTF (the host's VINTF0); guests' VINTFs are not.
        17:17 hyp_own => bool;
        /// The VMID the hardware substitutes in the guest's commands.
        16:1 vmid;
        /// The VINTF is enabled.
        0:0 enable => bool;
    }

    /// Status of VINTF `v`.
    pub(crate) VINTF_STATUS(u32)[MAX_VINTFS, stride = 0x100] @ 0x1004 {
        /// An error code, 0 for none.
        3:1 status;
        /// The VINTF follows `VINTF_CONFIG.enable`.
        0:0 enabled => bool;
    }

    /// A SID slot's match: the guest's virtual SID, at [`sid_slot`] `(v, s)`.
    pub(crate) VINTF_SID_MATCH(u32)[MAX_VINTFS * VINTF_STRIDE_U32, stride = 4] @ 0x1040 {
        /// The virtual SID.
        20:1 virt_sid;
        /// The slot is in use.
        0:0 enable => bool;
    }

    /// A SID slot's replacement: the physical SID, at [`sid_slot`] `(v, s)`.
    pub(crate) VINTF_SID_REPLACE(u32)[MAX_VINTFS * VINTF_STRIDE_U32, stride = 4] @ 0x1080 {
        31:0 phys_sid;
    }

    /// Which LVCMDQs of a VINTF have an error, at [`err_map_word`] `(v, m)`: bit `l % 64` of
    /// word `l / 64` for LVCMDQ `l`.
    pub(crate) VINTF_LVCMDQ_ERR_MAP(u64)[MAX_VINTFS * VINTF_STRIDE_U64, stride = 8] @ 0x10c0 {
        63:0 map;
    }
}

register! {
    /// The consumer index of LVCMDQ `l`, in its VINTF's page0.
    pub(crate) LVCMDQ_CONS(u32)[MAX_LVCMDQS, stride = 0x80] @ 0x00 {
        /// The error that stopped the queue: 1 illegal command, 2 fetch abort, 3 ATC
        /// invalidation timeout.
        30:24 err;
        /// The read index, with the wrap bit just above the index bits.
        19:0 rd;
    }

    /// The producer index of LVCMDQ `l`, written by the guest.
    pub(crate) LVCMDQ_PROD(u32)[MAX_LVCMDQS, stride = 0x80] @ 0x04 {
        /// The write index, with the wrap bit just above the index bits.
        19:0 wr;
    }

    /// Configuration of LVCMDQ `l`, written by the guest.
    pub(crate) LVCMDQ_CONFIG(u32)[MAX_LVCMDQS, stride = 0x80] @ 0x08 {
        /// The queue is enabled.
        0:0 cmdq_en => bool;
    }

    /// Status of LVCMDQ `l`.
    pub(crate) LVCMDQ_STATUS(u32)[MAX_LVCMDQS, stride = 0x80] @ 0x0c {
        /// The queue follows `LVCMDQ_CONFIG.cmdq_en`.
        0:0 enabled => bool;
    }

    /// Global errors of LVCMDQ `l`: a bit toggles when an error occurs.
    pub(crate) LVCMDQ_GERROR(u32)[MAX_LVCMDQS, stride = 0x80] @ 0x10 {
        0:0 cmdq_err => bool;
    }

    /// Acknowledged global errors of LVCMDQ `l`: the guest writes `GERROR` here.
    pub(crate) LVCMDQ_GERRORN(u32)[MAX_LVCMDQS, stride = 0x80] @ 0x14 {
        0:0 cmdq_err => bool;
    }
}

register! {
    /// The base of LVCMDQ `l`, in its VINTF's page1.
    pub(crate) LVCMDQ_BASE(u64)[MAX_LVCMDQS, stride = 0x80] @ 0x00 {
        /// Bits 47:5 of the queue's physical address.
        47:5 addr;
        /// log2 of the number of 16-byte entries.
        4:0 log2size;
    }

    /// Where the hardware may write the consumer index of LVCMDQ `l` (unused by guests).
    pub(crate) LVCMDQ_CONS_INDX_BASE(u64)[MAX_LVCMDQS, stride = 0x80] @ 0x08 {
        63:0 addr;
    }
}

/// The index in [`VINTF_SID_MATCH`] and [`VINTF_SID_REPLACE`] of SID slot `slot` of VINTF
/// `vintf`, or `None` past the VINTF's block.
pub(crate) fn sid_slot(vintf: usize, slot: usize) -> Option<usize> {
    (vintf < MAX_VINTFS && slot < MAX_SIDS_PER_VINTF).then_some(vintf * VINTF_STRIDE_U32 + slot)
}

/// The index in [`VINTF_LVCMDQ_ERR_MAP`] of error map word `word` (0 or 1) of VINTF `vintf`.
pub(crate) fn err_map_word(vintf: usize, word: usize) -> Option<usize> {
    (vintf < MAX_VINTFS && word < 2).then_some(vintf * VINTF_STRIDE_U64 + word)
}

#[kunit_tests(tegra241_cmdqv_emu_regs)]
mod tests {
    use super::*;
    use kernel::io::{
        register::Array,
        sysmem::SysMem,
        Io, //
    };

    /// A 64 KiB page of registers.
    type Page = SysMem<0x10000>;

    #[test]
    fn config_page_offsets() -> Result {
        let page = Page::new()?;
        page.write_reg(
            CMDQV_PARAM::zeroed()
                .with_const_ver::<1>()
                .with_const_num_vcmdq_log2::<4>()
                .with_const_num_vintf_log2::<2>()
                .with_const_num_sid_per_vm_log2::<4>(),
        );
        assert_eq!(page.read::<u32, _>(0x4usize), 0x4241);
        page.write(
            Array::at(5),
            CMDQV_CMDQ_ALLOC::zeroed()
                .with_const_vintf::<3>()
                .with_const_lvcmdq::<1>()
                .with_allocated(true),
        );
        assert_eq!(page.read::<u32, _>(0x214usize), 3 << 15 | 1 << 1 | 1);
        page.write(
            Array::at(2),
            VINTF_CONFIG::zeroed()
                .with_const_vmid::<0x1234>()
                .with_enable(true),
        );
        assert_eq!(page.read::<u32, _>(0x1200usize), 0x1234 << 1 | 1);
        let slot = sid_slot(2, 15).ok_or(EINVAL)?;
        page.write(
            VINTF_SID_MATCH::try_at(slot).ok_or(EINVAL)?,
            VINTF_SID_MATCH::zeroed()
                .with_const_virt_sid::<0xfffff>()
                .with_enable(true),
        );
        assert_eq!(page.read::<u32, _>(0x1200usize + 0x40 + 4 * 15), 0x1fffff);
        page.write(
            VINTF_SID_REPLACE::try_at(slot).ok_or(EINVAL)?,
            VINTF_SID_REPLACE::from(0x42u32),
        );
        assert_eq!(page.read::<u32, _>(0x1200usize + 0x80 + 4 * 15), 0x42);
        let word = err_map_word(1, 1).ok_or(EINVAL)?;
        page.write(
            VINTF_LVCMDQ_ERR_MAP::try_at(word).ok_or(EINVAL)?,
            VINTF_LVCMDQ_ERR_MAP::from(1u64 << 63),
        );
        assert_eq!(page.read::<u64, _>(0x1100usize + 0xc8), 1 << 63);
        // Slots past a VINTF's block do not exist.
        assert_eq!(sid_slot(0, 16), None);
        assert_eq!(sid_slot(64, 0), None);
        assert_eq!(err_map_word(0, 2), None);
        Ok(())
    }

    #[test]
    fn queue_page_offsets() -> Result {
        let page0 = Page::new()?;
        let page1 = Page::new()?;
        page0.write(
            Array::at(3),
            LVCMDQ_CONS::zeroed()
                .with_const_err::<1>()
                .with_const_rd::<0x10005>(),
        );
        assert_eq!(page0.read::<u32, _>(0x180usize), 1 << 24 | 0x10005);
        page0.write(Array::at(3), LVCMDQ_GERRORN::zeroed().with_cmdq_err(true));
        assert_eq!(page0.read::<u32, _>(0x194usize), 1);
        let base = LVCMDQ_BASE::zeroed()
            .try_with_addr(0x8000_1000u64 >> 5)?
            .with_const_log2size::<8>();
        page1.write(Array::at(1), base);
        assert_eq!(page1.read::<u64, _>(0x80usize), 0x8000_1008);
        let back = page1.read(LVCMDQ_BASE::at(1));
        assert_eq!(back.addr().get() << 5, 0x8000_1000);
        assert_eq!(back.log2size().get(), 8);
        Ok(())
    }
}
