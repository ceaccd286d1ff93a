// SPDX-License-Identifier: GPL-2.0

//! The SMMUv3 commands a guest-owned LVCMDQ may carry, decoded.
//!
//! A command is 16 bytes, two little-endian 64-bit words, with its opcode in bits 7:0 of the
//! first (`drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h`). A VINTF's queues accept only the
//! invalidations a guest may issue on its own: TLB invalidation by ASID or by address, ATC
//! invalidation, and a `CMD_SYNC` that signals completion by no other means than `CONS`
//! (`CS_NONE`). Anything else is an illegal command: the queue stops on it with `CONS.ERR`
//! set to [`CERROR_ILL`].

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

/// A command a guest queue accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
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
    /// Invalidates a device's ATC, for the guest's stream ID.
    AtcInv {
        /// The virtual stream ID.
        vsid: u32,
        /// The substream ID, if one.
        ssid: Option<u32>,
        /// The address.
        addr: u64,
        /// log2 of the number of 4 KiB pages.
        size: u8,
    },
    /// Completes when every command before it has.
    Sync,
}

/// What the host does with a command a VMM passes through `IOMMU_HWPT_INVALIDATE`, as upstream's
/// `arm_vsmmu_convert_user_cmd()` sorts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trapped {
    /// A TLB invalidation, issued with the vIOMMU's VMID.
    Tlbi,
    /// A command for a stream (`ATC_INV`, `CFGI_CD`, `CFGI_CD_ALL`), issued for the physical
    /// stream behind the virtual one.
    Stream {
        /// The virtual stream ID.
        vsid: u32,
    },
    /// Anything else, including `CMD_SYNC`: `EIO`.
    Refused,
}

/// Opcodes the trapped path accepts besides the guest queue's.
const OP_CFGI_CD: u64 = 0x05;
const OP_CFGI_CD_ALL: u64 = 0x06;
const OP_TLBI_NH_ALL: u64 = 0x10;
const OP_TLBI_NH_VAA: u64 = 0x13;
const OP_TLBI_NSNH_ALL: u64 = 0x30;

/// Sorts a command passed through `IOMMU_HWPT_INVALIDATE` ([`Trapped`]).
pub(crate) fn trapped(cmd0: u64) -> Trapped {
    match cmd0 & 0xff {
        OP_TLBI_NSNH_ALL | OP_TLBI_NH_VA | OP_TLBI_NH_VAA | OP_TLBI_NH_ALL | OP_TLBI_NH_ASID => {
            Trapped::Tlbi
        }
        OP_ATC_INV | OP_CFGI_CD | OP_CFGI_CD_ALL => Trapped::Stream {
            // The stream ID is in bits 63:32 of each of them.
            vsid: AtcInvDw0::from(cmd0).sid().get() as u32,
        },
        _ => Trapped::Refused,
    }
}

/// Decodes a command, or `None` if it is illegal in a guest queue.
pub(crate) fn decode(cmd: [u64; 2]) -> Option<Command> {
    let op = cmd[0] & 0xff;
    match op {
        OP_TLBI_NH_ASID => {
            let dw0 = TlbiDw0::from(cmd[0]);
            Some(Command::TlbiNhAsid {
                asid: dw0.asid().get() as u16,
            })
        }
        OP_TLBI_NH_VA => {
            let dw0 = TlbiDw0::from(cmd[0]);
            let dw1 = TlbiVaDw1::from(cmd[1]);
            Some(Command::TlbiNhVa {
                asid: dw0.asid().get() as u16,
                va: dw1.va().get() << 12,
            })
        }
        OP_ATC_INV => {
            let dw0 = AtcInvDw0::from(cmd[0]);
            let dw1 = AtcInvDw1::from(cmd[1]);
            Some(Command::AtcInv {
                vsid: dw0.sid().get() as u32,
                ssid: dw0.ssv().then(|| dw0.ssid().get() as u32),
                addr: dw1.addr().get() << 12,
                size: dw1.size().get() as u8,
            })
        }
        OP_CMD_SYNC if SyncDw0::from(cmd[0]).cs().get() == CS_NONE => Some(Command::Sync),
        _ => None,
    }
}

#[kunit_tests(tegra241_cmdqv_emu_cmd)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        let asid = TlbiDw0::zeroed()
            .with_const_op::<OP_TLBI_NH_ASID>()
            .with_const_asid::<0x1234>()
            .with_const_vmid::<0x77>();
        assert_eq!(
            decode([asid.into(), 0]),
            Some(Command::TlbiNhAsid { asid: 0x1234 })
        );
        // Opcode in bits 7:0, ASID in 63:48, as arm-smmu-v3.h encodes them.
        assert_eq!(
            decode([0x0005_0000_0000_0012, 0xabc_d000]),
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
            decode([atc.into(), 0x2000 | 4]),
            Some(Command::AtcInv {
                vsid: 0xfffff,
                ssid: Some(3),
                addr: 0x2000,
                size: 4
            })
        );
        assert_eq!(decode([OP_CMD_SYNC, 0]), Some(Command::Sync));
    }

    #[test]
    fn trapped_sorting() {
        assert_eq!(trapped(OP_TLBI_NSNH_ALL), Trapped::Tlbi);
        assert_eq!(trapped(0x0005_0000_0000_0011), Trapped::Tlbi);
        assert_eq!(
            trapped(0x0001_2345_0000_0040),
            Trapped::Stream { vsid: 0x12345 }
        );
        assert_eq!(trapped(0x0000_0007_0000_0006), Trapped::Stream { vsid: 7 });
        // CMD_SYNC is the host's to issue; CFGI_STE too.
        assert_eq!(trapped(OP_CMD_SYNC), Trapped::Refused);
        assert_eq!(trapped(0x03), Trapped::Refused);
    }

    #[test]
    fn illegal() {
        // CMD_SYNC signalling by IRQ (CS = 1) or SEV (CS = 2).
        assert_eq!(decode([OP_CMD_SYNC | 1 << 12, 0]), None);
        assert_eq!(decode([OP_CMD_SYNC | 2 << 12, 0]), None);
        // Host-only commands: CFGI_STE (0x03), TLBI_S12_VMALL (0x28), PREFETCH_CONFIG (0x01).
        assert_eq!(decode([0x03, 0]), None);
        assert_eq!(decode([0x28, 0]), None);
        assert_eq!(decode([0x01, 0]), None);
        // Not a command.
        assert_eq!(decode([0, 0]), None);
        assert_eq!(decode([u64::MAX, u64::MAX]), None);
    }
}
