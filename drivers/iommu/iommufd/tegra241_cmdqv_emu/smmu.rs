// SPDX-License-Identifier: GPL-2.0

//! The ID registers of the SMMUv3 the emulated CMDQV extends, as `IOMMU_GET_HW_INFO` reports
//! them (`struct iommu_hw_info_arm_smmuv3`).
//!
//! Fields as in `drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h`. The values describe a Grace-like
//! SMMUv3.2: two translation stages, AArch64 tables, 16-bit ASIDs and VMIDs, ATS, a two-level
//! stream table, and a command queue of at most `1 << CMDQS` entries, the limit the driver
//! applies to HW queues.

use kernel::{
    bitfield,
    prelude::*,
    uapi, //
};

/// log2 of the largest command queue, in entries: what `IDR1.CMDQS` reports.
///
/// 18, as an SMMUv3 driver with 4 KiB pages caps it (`CMDQ_MAX_SZ_SHIFT`), so that queues of
/// up to 4 MiB are accepted.
pub(crate) const CMDQS: u32 = 18;

/// The commands the driver issues to the command queue in one batch (`CMDQ_BATCH_ENTRIES`,
/// `BITS_PER_LONG`).
pub(crate) const CMDQ_BATCH_ENTRIES: usize = usize::BITS as usize;

bitfield! {
    /// `SMMU_IDR0`: the features of the SMMU.
    pub(crate) struct Idr0(u32) {
        /// Stream table format: 1 for two levels (`IDR0_ST_LVL_2LVL`).
        28:27 st_lvl;
        /// Stall model: 1 for no stalls.
        25:24 stall_model;
        /// Translation table endianness: 2 for little endian.
        22:21 ttendian;
        /// Two-level context descriptor tables.
        19:19 cd2l => bool;
        /// 16-bit VMIDs.
        18:18 vmid16 => bool;
        /// Page request interface.
        16:16 pri => bool;
        /// Send-event on command queue wakes.
        14:14 sev => bool;
        /// MSIs.
        13:13 msi => bool;
        /// 16-bit ASIDs.
        12:12 asid16 => bool;
        /// PCIe ATS.
        10:10 ats => bool;
        /// Hypervisor stage 1 contexts.
        9:9 hyp => bool;
        /// Hardware table updates: 2 for access and dirty flags.
        7:6 httu;
        /// Broadcast TLB maintenance.
        5:5 btm => bool;
        /// Coherent access.
        4:4 cohacc => bool;
        /// Translation table format: 2 for AArch64.
        3:2 ttf;
        /// Stage 1 translation.
        1:1 s1p => bool;
        /// Stage 2 translation.
        0:0 s2p => bool;
    }
}

bitfield! {
    /// `SMMU_IDR1`: the sizes of the SMMU's tables and queues.
    pub(crate) struct Idr1(u32) {
        /// log2 of the largest command queue, in entries.
        25:21 cmdqs;
        /// log2 of the largest event queue, in entries.
        20:16 evtqs;
        /// log2 of the largest PRI queue, in entries.
        15:11 priqs;
        /// Substream ID bits.
        10:6 ssidsize;
        /// Stream ID bits.
        5:0 sidsize;
    }
}

bitfield! {
    /// `SMMU_IDR3`: more features.
    pub(crate) struct Idr3(u32) {
        /// Range invalidation.
        10:10 ril => bool;
    }
}

bitfield! {
    /// `SMMU_IDR5`: address sizes and translation granules.
    pub(crate) struct Idr5(u32) {
        /// Virtual address extension: 1 for 52-bit VAs with 64 KiB granules.
        11:10 vax;
        /// 64 KiB granule.
        6:6 gran64k => bool;
        /// 16 KiB granule.
        5:5 gran16k => bool;
        /// 4 KiB granule.
        4:4 gran4k => bool;
        /// Output address size: 5 for 48 bits.
        2:0 oas;
    }
}

bitfield! {
    /// `SMMU_IIDR`: who made the SMMU.
    pub(crate) struct Iidr(u32) {
        /// Product ID.
        31:20 product_id;
        /// Variant.
        19:16 variant;
        /// Revision.
        15:12 revision;
        /// JEP106 code of the implementer: 0x43b for Arm.
        11:0 implementer;
    }
}

bitfield! {
    /// `SMMU_AIDR`: the architecture version.
    pub(crate) struct Aidr(u32) {
        /// Major revision: 0 for SMMUv3.
        7:4 major;
        /// Minor revision: 2 for SMMUv3.2.
        3:0 minor;
    }
}

/// What `IOMMU_GET_HW_INFO` reports of the SMMU by default.
pub(crate) fn hw_info() -> uapi::iommu_hw_info_arm_smmuv3 {
    let idr0 = Idr0::zeroed()
        .with_const_st_lvl::<1>()
        .with_const_stall_model::<1>()
        .with_const_ttendian::<2>()
        .with_cd2l(true)
        .with_vmid16(true)
        .with_msi(true)
        .with_asid16(true)
        .with_ats(true)
        .with_const_httu::<2>()
        .with_btm(true)
        .with_cohacc(true)
        .with_const_ttf::<2>()
        .with_s1p(true)
        .with_s2p(true);
    let idr1 = Idr1::zeroed()
        .with_const_cmdqs::<CMDQS>()
        .with_const_evtqs::<19>()
        .with_const_ssidsize::<20>()
        .with_const_sidsize::<32>();
    let idr3 = Idr3::zeroed().with_ril(true);
    let idr5 = Idr5::zeroed()
        .with_gran64k(true)
        .with_gran16k(true)
        .with_gran4k(true)
        .with_const_oas::<5>();
    let iidr = Iidr::zeroed()
        .with_const_product_id::<0x487>()
        .with_const_implementer::<0x43b>();
    let aidr = Aidr::zeroed().with_const_minor::<2>();
    uapi::iommu_hw_info_arm_smmuv3 {
        flags: 0,
        __reserved: 0,
        idr: [idr0.into(), idr1.into(), 0, idr3.into(), 0, idr5.into()],
        iidr: iidr.into(),
        aidr: aidr.into(),
    }
}

#[kunit_tests(tegra241_cmdqv_emu_smmu)]
mod tests {
    use super::*;

    #[test]
    fn idr_encoding() {
        let info = hw_info();
        // IDR1.CMDQS is bits 25:21 (GENMASK(25, 21) in arm-smmu-v3.h).
        assert_eq!((info.idr[1] >> 21) & 0x1f, CMDQS);
        // S1P, S2P and AArch64 tables (TTF = 2 at bits 3:2).
        assert_eq!(info.idr[0] & 0xf, 0b1011);
        assert_eq!(Idr1::from(info.idr[1]).cmdqs().get(), CMDQS);
        // A two-level stream table: ST_LEVEL (bits 28:27) is 1, `IDR0_ST_LVL_2LVL`.
        assert_eq!((info.idr[0] >> 27) & 0x3, 1);
        assert_eq!(info.aidr, 0x2);
        assert_eq!(info.iidr & 0xfff, 0x43b);
    }
}
