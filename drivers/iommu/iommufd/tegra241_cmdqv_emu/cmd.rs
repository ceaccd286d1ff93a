// SPDX-License-Identifier: GPL-2.0

//! The SMMUv3 commands a guest may issue, decoded.
//!
//! A command is 16 bytes, two little-endian 64-bit words, with its opcode in bits 7:0 of the
//! first (`drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h`). A VINTF's queues accept only the
//! invalidations a guest may issue on its own: TLB invalidation by ASID or by address, ATC
//! invalidation, and a `CMD_SYNC` that signals completion by no other means than `CONS`
//! (`CS_NONE`). Anything else is an illegal command: the queue stops on it with `CONS.ERR`
//! set to [`CERROR_ILL`]. Through the VMM (`IOMMU_HWPT_INVALIDATE`), the host takes a few more,
//! as upstream's `arm_vsmmu_convert_user_cmd()` does.

use super::caches::Invalidation;
use kernel::{
    bitfield,
    prelude::*, //
};

/// `CONS.ERR` for an illegal (unknown or not allowed) command.
pub(crate) const CERROR_ILL: u32 = 1;
/// `CONS.ERR` for a command that could not be fetched.
pub(crate) const CERROR_ABT: u32 = 2;

/// The opcodes a guest queue accepts.
const OP_TLBI_NH_ASID: u64 = 0x11;
const OP_TLBI_NH_VA: u64 = 0x12;
const OP_ATC_INV: u64 = 0x40;
const OP_CMD_SYNC: u64 = 0x46;

/// `CMD_SYNC.CS`: no completion signal but `CONS`.
const CS_NONE: u64 = 0;

bitfield! {
    /// Word 0 of a TLB invalidation.
    pub(crate) struct TlbiDw0(u64) {
        /// The ASID.
        63:48 asid;
        /// The VMID; the hardware puts the VINTF's in.
        47:32 vmid;
        /// Range: scale of the number of pages.
        24:20 scale;
        /// Range: number of pages.
        16:12 num;
        /// The opcode.
        7:0 op;
    }
}

bitfield! {
    /// Word 1 of `TLBI_NH_VA`.
    pub(crate) struct TlbiVaDw1(u64) {
        /// The virtual address, bits 63:12.
        63:12 va;
        /// Translation granule of a range.
        11:10 tg;
        /// Level hint.
        9:8 ttl;
        /// Leaf entries only.
        0:0 leaf => bool;
    }
}

bitfield! {
    /// Word 0 of `ATC_INV`.
    pub(crate) struct AtcInvDw0(u64) {
        /// The stream ID: the guest's virtual one.
        63:32 sid;
        /// The substream ID, if `ssv`.
        31:12 ssid;
        /// The substream ID is valid.
        11:11 ssv => bool;
        /// All substreams.
        9:9 global => bool;
        /// The opcode.
        7:0 op;
    }
}

bitfield! {
    /// Word 1 of `ATC_INV`.
    pub(crate) struct AtcInvDw1(u64) {
        /// The address, bits 63:12.
        63:12 addr;
        /// log2 of the number of 4 KiB pages.
        5:0 size;
    }
}

bitfield! {
    /// Word 0 of `CMD_SYNC`.
    pub(crate) struct SyncDw0(u64) {
        /// MSI data.
        63:32 msidata;
        /// MSI attributes.
        27:24 msiattr;
        /// MSI shareability.
        23:22 msh;
        /// Completion signal.
        13:12 cs;
        /// The opcode.
        7:0 op;
    }
}

/// A command the SMMU knows of that a guest may issue: on its own queue ([`Command::in_queue`]),
/// or through the VMM (`IOMMU_HWPT_INVALIDATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    /// Invalidates a context descriptor of a stream.
    CfgiCd {
        /// The virtual stream ID.
        vsid: u32,
        /// The substream ID.
        ssid: u32,
    },
    /// Invalidates every context descriptor of a stream.
    CfgiCdAll {
        /// The virtual stream ID.
        vsid: u32,
    },
    /// Invalidates every stage 1 TLB entry of the VM.
    TlbiNhAll,
    /// Invalidates the TLB entries of an ASID.
    TlbiNhAsid {
        /// The ASID.
        asid: u16,
    },
    /// Invalidates the TLB entries of an address (or a range) in an ASID.
    TlbiNhVa {
        /// The ASID.
        asid: u16,
        /// The virtual address.
        va: u64,
    },
    /// Invalidates the TLB entries of an address (or a range) in every ASID.
    TlbiNhVaa {
        /// The virtual address.
        va: u64,
    },
    /// Invalidates every TLB entry of the VM, which the host issues as `TLBI_NH_ALL`.
    TlbiNsnhAll,
    /// Invalidates a device's ATC, for the guest's stream ID.
    AtcInv {
        /// The virtual stream ID.
        vsid: u32,
        /// The substream ID, if one.
        ssid: Option<u32>,
        /// Every substream.
        global: bool,
        /// The address.
        addr: u64,
        /// log2 of the number of 4 KiB pages.
        size: u8,
    },
    /// Completes when every command before it has; `cs_none` if it signals this by no other
    /// means than `CONS`.
    Sync {
        /// `CS` is `CS_NONE`.
        cs_none: bool,
    },
}

impl Command {
    /// Whether a guest-owned queue may carry the command: TLB invalidation by ASID or by
    /// address, ATC invalidation, and `CMD_SYNC` with `CS_NONE`.
    pub(crate) fn in_queue(&self) -> bool {
        matches!(
            self,
            Self::TlbiNhAsid { .. }
                | Self::TlbiNhVa { .. }
                | Self::AtcInv { .. }
                | Self::Sync { cs_none: true }
        )
    }

    /// The virtual stream ID the command is for, if it is for a stream.
    pub(crate) fn vsid(&self) -> Option<u32> {
        match *self {
            Self::CfgiCd { vsid, .. } | Self::CfgiCdAll { vsid } | Self::AtcInv { vsid, .. } => {
                Some(vsid)
            }
            _ => None,
        }
    }

    /// The command as it reaches the SMMU: with the VM's `vmid`, and for a stream with the
    /// physical stream ID `psid` that the virtual one maps to. `None` for a `CMD_SYNC`, which
    /// invalidates nothing, and for a stream that maps to none.
    pub(crate) fn issued(self, vmid: u16, psid: Option<u32>) -> Option<Invalidation> {
        Some(match self {
            Self::CfgiCd { ssid, .. } => Invalidation::CfgiCd { sid: psid?, ssid },
            Self::CfgiCdAll { .. } => Invalidation::CfgiCdAll { sid: psid? },
            Self::TlbiNhAll | Self::TlbiNsnhAll => Invalidation::TlbiNhAll { vmid },
            Self::TlbiNhAsid { asid } => Invalidation::TlbiNhAsid { vmid, asid },
            Self::TlbiNhVa { asid, va } => Invalidation::TlbiNhVa { vmid, asid, va },
            Self::TlbiNhVaa { va } => Invalidation::TlbiNhVaa { vmid, va },
            Self::AtcInv {
                ssid,
                global,
                addr,
                size,
                ..
            } => Invalidation::AtcInv {
                sid: psid?,
                ssid,
                global,
                addr,
                size,
            },
            Self::Sync { .. } => return None,
        })
    }
}

/// Opcodes the SMMU knows of besides the guest queue's.
const OP_CFGI_CD: u64 = 0x05;
const OP_CFGI_CD_ALL: u64 = 0x06;
const OP_TLBI_NH_ALL: u64 = 0x10;
const OP_TLBI_NH_VAA: u64 = 0x13;
const OP_TLBI_NSNH_ALL: u64 = 0x30;

/// Decodes a command, or `None` if it is not one a guest may issue.
pub(crate) fn decode(cmd: [u64; 2]) -> Option<Command> {
    let op = cmd[0] & 0xff;
    let tlbi = TlbiDw0::from(cmd[0]);
    let va = TlbiVaDw1::from(cmd[1]).va().get() << 12;
    // CFGI_CD and CFGI_CD_ALL have the stream and substream where ATC_INV has them.
    let stream = AtcInvDw0::from(cmd[0]);
    let vsid = stream.sid().get() as u32;
    Some(match op {
        OP_CFGI_CD => Command::CfgiCd {
            vsid,
            ssid: stream.ssid().get() as u32,
        },
        OP_CFGI_CD_ALL => Command::CfgiCdAll { vsid },
        OP_TLBI_NH_ALL => Command::TlbiNhAll,
        OP_TLBI_NH_ASID => Command::TlbiNhAsid {
            asid: tlbi.asid().get() as u16,
        },
        OP_TLBI_NH_VA => Command::TlbiNhVa {
            asid: tlbi.asid().get() as u16,
            va,
        },
        OP_TLBI_NH_VAA => Command::TlbiNhVaa { va },
        OP_TLBI_NSNH_ALL => Command::TlbiNsnhAll,
        OP_ATC_INV => {
            let dw1 = AtcInvDw1::from(cmd[1]);
            Command::AtcInv {
                vsid,
                ssid: stream.ssv().then(|| stream.ssid().get() as u32),
                global: stream.global(),
                addr: dw1.addr().get() << 12,
                size: dw1.size().get() as u8,
            }
        }
        OP_CMD_SYNC => Command::Sync {
            cs_none: SyncDw0::from(cmd[0]).cs().get() == CS_NONE,
        },
        _ => return None,
    })
}

#[kunit_tests(tegra241_cmdqv_emu_cmd)]
mod tests {
    use super::*;

    /// Decodes `cmd` as a guest queue does.
    fn in_queue(cmd: [u64; 2]) -> Option<Command> {
        decode(cmd).filter(Command::in_queue)
    }

    #[test]
    fn accepted() {
        let asid = TlbiDw0::zeroed()
            .with_const_op::<OP_TLBI_NH_ASID>()
            .with_const_asid::<0x1234>()
            .with_const_vmid::<0x77>();
        assert_eq!(
            in_queue([asid.into(), 0]),
            Some(Command::TlbiNhAsid { asid: 0x1234 })
        );
        // Opcode in bits 7:0, ASID in 63:48, as arm-smmu-v3.h encodes them.
        assert_eq!(
            in_queue([0x0005_0000_0000_0012, 0xabc_d000]),
            Some(Command::TlbiNhVa {
                asid: 5,
                va: 0xabc_d000
            })
        );
        let atc = AtcInvDw0::zeroed()
            .with_const_op::<OP_ATC_INV>()
            .with_const_sid::<0xfffff>()
            .with_ssv(true)
            .with_const_ssid::<3>();
        assert_eq!(
            in_queue([atc.into(), 0x2000 | 4]),
            Some(Command::AtcInv {
                vsid: 0xfffff,
                ssid: Some(3),
                global: false,
                addr: 0x2000,
                size: 4
            })
        );
        assert_eq!(
            in_queue([OP_CMD_SYNC, 0]),
            Some(Command::Sync { cs_none: true })
        );
    }

    #[test]
    fn issued() -> Result {
        // The VM's VMID replaces the guest's; a stream maps to its physical ID, or fails.
        let va = decode([0x0005_0033_0000_0012, 0x7000]).ok_or(EINVAL)?;
        assert_eq!(
            va.issued(9, None),
            Some(Invalidation::TlbiNhVa {
                vmid: 9,
                asid: 5,
                va: 0x7000
            })
        );
        let atc = decode([0x0001_2345_0000_0240, 52]).ok_or(EINVAL)?;
        assert_eq!(atc.vsid(), Some(0x12345));
        assert_eq!(atc.issued(9, None), None);
        assert_eq!(
            atc.issued(9, Some(7)),
            Some(Invalidation::AtcInv {
                sid: 7,
                ssid: None,
                global: true,
                addr: 0,
                size: 52
            })
        );
        let nsnh = decode([OP_TLBI_NSNH_ALL, 0]).ok_or(EINVAL)?;
        assert_eq!(
            nsnh.issued(2, None),
            Some(Invalidation::TlbiNhAll { vmid: 2 })
        );
        let cd_all = decode([0x0000_0007_0000_0006, 0]).ok_or(EINVAL)?;
        assert_eq!(
            cd_all.issued(2, Some(3)),
            Some(Invalidation::CfgiCdAll { sid: 3 })
        );
        let sync = decode([OP_CMD_SYNC, 0]).ok_or(EINVAL)?;
        assert_eq!(sync.issued(2, Some(3)), None);
        Ok(())
    }

    #[test]
    fn illegal() {
        // CMD_SYNC signalling by IRQ (CS = 1) or SEV (CS = 2).
        assert_eq!(in_queue([OP_CMD_SYNC | 1 << 12, 0]), None);
        assert_eq!(in_queue([OP_CMD_SYNC | 2 << 12, 0]), None);
        // What only the host may issue for a guest: CFGI_CD, TLBI_NH_ALL, TLBI_NH_VAA.
        assert_eq!(in_queue([OP_CFGI_CD, 0]), None);
        assert_eq!(in_queue([OP_TLBI_NH_ALL, 0]), None);
        assert_eq!(in_queue([OP_TLBI_NH_VAA, 0]), None);
        // Host-only commands: CFGI_STE (0x03), TLBI_S12_VMALL (0x28), PREFETCH_CONFIG (0x01).
        assert_eq!(decode([0x03, 0]), None);
        assert_eq!(decode([0x28, 0]), None);
        assert_eq!(decode([0x01, 0]), None);
        // Not a command.
        assert_eq!(decode([0, 0]), None);
        assert_eq!(decode([u64::MAX, u64::MAX]), None);
    }
}
