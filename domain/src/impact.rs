//! What a change to a SCEP profile (its settings, its assignments, or its
//! deletion) would do to the devices it reaches: the answer of a dry run.
//!
//! Storage measures the facts by making the change in a transaction it
//! rolls back — which devices the profile is applicable to before and after,
//! which hold a live certificate of it, which certificates the change would
//! queue for revocation — and [`device_impacts`] turns them into one action
//! per device, with the same rules check-in applies: an applicable profile
//! whose version moved is installed again (`VersionChanged`), one that stops
//! applying is removed.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use uuid::Uuid;

/// What a device would be told at its next check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum ImpactAction {
    /// Offered the profile's payload and a challenge; it holds no live certificate of the profile.
    Install,
    /// Offered the payload while holding a live (unrevoked, unexpired)
    /// certificate of the profile: it will enroll for a new one.
    Reissue,
    /// The profile stops applying: the device removes it.
    Remove,
    /// Applicable before and after at the same version (or only a certificate's revocation changes).
    Unchanged,
}

/// Why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum ImpactReason {
    /// Not applicable before, applicable after.
    NewlyApplicable,
    /// Applicable before and after; the profile's version moves.
    VersionChanged,
    /// Applicable before, not after (unassigned, excluded, deleted, platform or root changed…).
    NoLongerApplicable,
    /// Applicable before and after at the same version.
    Unchanged,
    /// Not applicable before or after; only certificates of it are revoked.
    RevocationOnly,
}

/// One device's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceImpact {
    pub device_id: Uuid,
    pub action: ImpactAction,
    pub reason: ImpactReason,
    /// Certificates of the profile on this device the change queues for revocation.
    pub revocations: u32,
}

/// The counts of a dry run: devices per action, and certificates to revoke.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImpactCounts {
    pub install: u64,
    pub reissue: u64,
    pub remove: u64,
    /// Certificates (not devices) that would be queued for revocation.
    pub revoke: u64,
    pub unchanged: u64,
}

/// The facts of a change, as storage measured them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImpactFacts {
    /// Devices the profile is applicable to before the change.
    pub applicable_before: HashSet<Uuid>,
    /// … and after it (empty for a delete).
    pub applicable_after: HashSet<Uuid>,
    /// Whether the change moves the profile's version (a replacement does).
    pub version_changes: bool,
    /// Devices holding a live certificate of the profile.
    pub holding: HashSet<Uuid>,
    /// The device of each certificate the change would queue for revocation.
    pub revoked_certificate_devices: Vec<Uuid>,
}

/// Every device the change concerns, by id, with its action.
pub fn device_impacts(facts: &ImpactFacts) -> Vec<DeviceImpact> {
    let mut revocations: HashMap<Uuid, u32> = HashMap::new();
    for device in &facts.revoked_certificate_devices {
        *revocations.entry(*device).or_default() += 1;
    }
    let concerned: BTreeMap<Uuid, ()> = facts
        .applicable_before
        .iter()
        .chain(&facts.applicable_after)
        .chain(revocations.keys())
        .map(|device| (*device, ()))
        .collect();
    concerned
        .into_keys()
        .map(|device_id| {
            let before = facts.applicable_before.contains(&device_id);
            let after = facts.applicable_after.contains(&device_id);
            let (offered, reason) = match (before, after) {
                (false, true) => (true, ImpactReason::NewlyApplicable),
                (true, true) if facts.version_changes => (true, ImpactReason::VersionChanged),
                (true, true) => (false, ImpactReason::Unchanged),
                (true, false) => (false, ImpactReason::NoLongerApplicable),
                (false, false) => (false, ImpactReason::RevocationOnly),
            };
            let action = match (offered, before && !after) {
                (true, _) if facts.holding.contains(&device_id) => ImpactAction::Reissue,
                (true, _) => ImpactAction::Install,
                (false, true) => ImpactAction::Remove,
                (false, false) => ImpactAction::Unchanged,
            };
            DeviceImpact {
                device_id,
                action,
                reason,
                revocations: revocations.get(&device_id).copied().unwrap_or(0),
            }
        })
        .collect()
}

/// The counts over `impacts`.
pub fn count(impacts: &[DeviceImpact]) -> ImpactCounts {
    let mut counts = ImpactCounts::default();
    for impact in impacts {
        counts.revoke += u64::from(impact.revocations);
        match impact.action {
            ImpactAction::Install => counts.install += 1,
            ImpactAction::Reissue => counts.reissue += 1,
            ImpactAction::Remove => counts.remove += 1,
            ImpactAction::Unchanged => counts.unchanged += 1,
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(count: u128) -> Vec<Uuid> {
        (1..=count).map(Uuid::from_u128).collect()
    }

    fn set(devices: &[Uuid]) -> HashSet<Uuid> {
        devices.iter().copied().collect()
    }

    #[test]
    fn a_new_version_is_offered_to_every_applicable_device_and_reissues_held_certificates() {
        let d = ids(4);
        let facts = ImpactFacts {
            applicable_before: set(&[d[0], d[1], d[2]]),
            applicable_after: set(&[d[0], d[1], d[3]]),
            version_changes: true,
            holding: set(&[d[0], d[2]]),
            revoked_certificate_devices: vec![d[2], d[2]],
        };
        let impacts = device_impacts(&facts);
        let actions: Vec<(Uuid, ImpactAction, ImpactReason, u32)> = impacts
            .iter()
            .map(|impact| (impact.device_id, impact.action, impact.reason, impact.revocations))
            .collect();
        assert_eq!(
            actions,
            [
                (d[0], ImpactAction::Reissue, ImpactReason::VersionChanged, 0),
                (d[1], ImpactAction::Install, ImpactReason::VersionChanged, 0),
                (d[2], ImpactAction::Remove, ImpactReason::NoLongerApplicable, 2),
                (d[3], ImpactAction::Install, ImpactReason::NewlyApplicable, 0),
            ]
        );
        assert_eq!(
            count(&impacts),
            ImpactCounts {
                install: 2,
                reissue: 1,
                remove: 1,
                revoke: 2,
                unchanged: 0
            }
        );
    }

    #[test]
    fn without_a_version_change_devices_applicable_on_both_sides_are_unchanged() {
        let d = ids(3);
        let facts = ImpactFacts {
            applicable_before: set(&[d[0]]),
            applicable_after: set(&[d[0], d[1]]),
            version_changes: false,
            holding: set(&[d[0], d[1]]),
            revoked_certificate_devices: vec![d[2]],
        };
        let impacts = device_impacts(&facts);
        assert_eq!(impacts[0].action, ImpactAction::Unchanged);
        assert_eq!(impacts[0].reason, ImpactReason::Unchanged);
        // Newly applicable while holding a live certificate: offered a new one.
        assert_eq!(impacts[1].action, ImpactAction::Reissue);
        assert_eq!(impacts[1].reason, ImpactReason::NewlyApplicable);
        // A missed revocation the change queues, on a device never reached.
        assert_eq!(
            (impacts[2].action, impacts[2].reason, impacts[2].revocations),
            (ImpactAction::Unchanged, ImpactReason::RevocationOnly, 1)
        );
        assert_eq!(count(&impacts).unchanged, 2);
    }

    #[test]
    fn a_change_that_concerns_no_device_has_no_impact() {
        assert!(device_impacts(&ImpactFacts::default()).is_empty());
        assert_eq!(count(&[]), ImpactCounts::default());
    }
}
