// SPDX-License-Identifier: GPL-2.0

//! The stream table entries a guest may hand to a nested HWPT on a vSMMU, checked as the
//! upstream ARM SMMUv3 driver checks them (`arm_smmu_validate_vste()`).

use kernel::prelude::*;

/// Word 0: the entry is valid.
const STE0_V: u64 = 1 << 0;
/// Word 0: the configuration, bits 3:1.
const STE0_CFG_SHIFT: u32 = 1;
const STE0_CFG_MASK: u64 = 0x7 << STE0_CFG_SHIFT;
/// Word 0 bits a guest may set: V, CFG, S1FMT, S1CTXPTR and S1CDMAX.
const STE0_NESTING_ALLOWED: u64 = 0xf80f_ffff_ffff_ffff;
/// Word 1: the ATS setting, bits 29:28.
const STE1_EATS_SHIFT: u32 = 28;
const STE1_EATS_MASK: u64 = 0x3 << STE1_EATS_SHIFT;
/// Word 1 bits a guest may set: S1DSS, S1CIR, S1COR, S1CSH, S1STALLD and EATS.
const STE1_NESTING_ALLOWED: u64 = 0x3800_00ff;

/// The configurations a guest may ask for.
const CFG_ABORT: u64 = 0;
const CFG_BYPASS: u64 = 4;
const CFG_S1_TRANS: u64 = 5;
/// The ATS settings a guest may ask for: none, or full ATS.
const EATS_ABT: u64 = 0;
const EATS_TRANS: u64 = 1;

/// A guest's STE, checked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NestedSte {
    /// The entry as the hardware will use it, without the EATS field.
    pub(crate) ste: [u64; 2],
    /// The guest asked for ATS on a stage-1 translating entry.
    pub(crate) enable_ats: bool,
}

impl NestedSte {
    /// Whether the entry translates (stage 1), rather than aborting or bypassing.
    pub(crate) fn translates(&self) -> bool {
        self.ste[0] & STE0_V != 0 && (self.ste[0] & STE0_CFG_MASK) >> STE0_CFG_SHIFT == CFG_S1_TRANS
    }
}

/// Checks a guest's STE: an entry that is not valid becomes all zeroes; a valid one may only set
/// the nesting-allowed bits, with the abort, bypass or stage-1 configuration and no or full ATS,
/// else `EIO`.
pub(crate) fn validate_vste(ste: [u64; 2]) -> Result<NestedSte> {
    if ste[0] & STE0_V == 0 {
        return Ok(NestedSte {
            ste: [0; 2],
            enable_ats: false,
        });
    }
    if ste[0] & !STE0_NESTING_ALLOWED != 0 || ste[1] & !STE1_NESTING_ALLOWED != 0 {
        return Err(EIO);
    }
    let cfg = (ste[0] & STE0_CFG_MASK) >> STE0_CFG_SHIFT;
    if cfg != CFG_ABORT && cfg != CFG_BYPASS && cfg != CFG_S1_TRANS {
        return Err(EIO);
    }
    let eats = (ste[1] & STE1_EATS_MASK) >> STE1_EATS_SHIFT;
    if eats != EATS_ABT && eats != EATS_TRANS {
        return Err(EIO);
    }
    Ok(NestedSte {
        ste: [ste[0], ste[1] & !STE1_EATS_MASK],
        enable_ats: cfg == CFG_S1_TRANS && eats == EATS_TRANS,
    })
}

#[kunit_tests(tegra241_cmdqv_emu_ste)]
mod tests {
    use super::*;

    const fn ste0(cfg: u64) -> u64 {
        STE0_V | cfg << STE0_CFG_SHIFT
    }

    #[test]
    fn accepted() {
        // Not valid: whatever else is set, it becomes zero.
        assert_eq!(
            validate_vste([!STE0_V, u64::MAX]),
            Ok(NestedSte {
                ste: [0; 2],
                enable_ats: false
            })
        );
        // Abort, bypass, stage 1.
        for cfg in [CFG_ABORT, CFG_BYPASS, CFG_S1_TRANS] {
            assert_eq!(
                validate_vste([ste0(cfg), 0]).map(|s| s.ste),
                Ok([ste0(cfg), 0])
            );
        }
        // Stage 1 with a context pointer, formats and full ATS: EATS is dropped.
        let s0 = ste0(CFG_S1_TRANS) | 0x0000_1234_5678_9000 | 0x30;
        let s1 = 0x0800_00ffu64 | EATS_TRANS << STE1_EATS_SHIFT;
        assert_eq!(
            validate_vste([s0, s1]),
            Ok(NestedSte {
                ste: [s0, 0x0800_00ff],
                enable_ats: true
            })
        );
        // ATS only counts for stage 1.
        assert_eq!(
            validate_vste([ste0(CFG_BYPASS), EATS_TRANS << STE1_EATS_SHIFT]).map(|s| s.enable_ats),
            Ok(false)
        );
    }

    #[test]
    fn refused() {
        // Stage 2 and nested configurations, and the reserved ones.
        for cfg in [1, 2, 3, 6, 7] {
            assert_eq!(validate_vste([ste0(cfg), 0]), Err(EIO));
        }
        // Bits outside the nesting-allowed masks.
        assert_eq!(validate_vste([ste0(CFG_BYPASS) | 1 << 52, 0]), Err(EIO));
        assert_eq!(validate_vste([ste0(CFG_BYPASS), 1 << 8]), Err(EIO));
        assert_eq!(validate_vste([ste0(CFG_BYPASS), 1 << 31]), Err(EIO));
        // Split-transaction and reserved ATS settings.
        assert_eq!(
            validate_vste([ste0(CFG_S1_TRANS), 2 << STE1_EATS_SHIFT]),
            Err(EIO)
        );
        assert_eq!(
            validate_vste([ste0(CFG_S1_TRANS), 3 << STE1_EATS_SHIFT]),
            Err(EIO)
        );
    }
}
