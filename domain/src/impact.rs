//! What an admin write would do to the devices it reaches: the answer of a
//! dry run. A write can concern one profile (its settings, its assignments,
//! its deletion) or several at once (a root and the SCEP profiles that need
//! it; a group member, who gains or loses whatever the group's assignments
//! bring).
//!
//! Storage measures the facts by making the change in a transaction it
//! rolls back — per profile concerned, which devices it is applicable to
//! before and after, whether its version moves, which devices hold a live
//! certificate of it; and which certificates the change would queue for
//! revocation — and [`device_impacts`] turns them into one action per device
//! and profile, with the rules check-in applies: an applicable profile whose
//! version moved is installed again (`VersionChanged`), one that stops
//! applying is removed. A device's own action is the weightiest of its
//! profiles' (reissue, then install, then remove), so the counts are of
//! devices, as an admin reads them.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use uuid::Uuid;

use crate::targeting::ProfileKind;

/// What a device would be told at its next check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum ImpactAction {
    /// Applicable before and after at the same version (or only a certificate's revocation changes).
    Unchanged,
    /// The profile stops applying: the device removes it.
    Remove,
    /// Offered the profile's payload (a SCEP payload with a challenge); it
    /// holds no live certificate of the profile.
    Install,
    /// Offered a SCEP payload while holding a live (unrevoked, unexpired)
    /// certificate of the profile: it will enroll for a new one.
    Reissue,
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

/// One profile's fate on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileImpact {
    pub profile_id: Uuid,
    pub kind: ProfileKind,
    pub action: ImpactAction,
    pub reason: ImpactReason,
    /// Certificates of the profile on the device the change queues for revocation.
    pub revocations: u32,
}

/// One device's fate: the weightiest of its profiles' actions, and each of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceImpact {
    pub device_id: Uuid,
    pub action: ImpactAction,
    pub reason: ImpactReason,
    /// Certificates on this device the change queues for revocation.
    pub revocations: u32,
    /// By kind (trusted first), then profile id.
    pub profiles: Vec<ProfileImpact>,
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

/// The facts of a change about one profile, as storage measured them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFacts {
    pub profile_id: Uuid,
    pub kind: ProfileKind,
    /// Devices the profile is applicable to before the change.
    pub applicable_before: HashSet<Uuid>,
    /// … and after it (empty when the profile is deleted).
    pub applicable_after: HashSet<Uuid>,
    /// Whether the change moves the profile's version (a replacement does).
    pub version_changes: bool,
    /// Devices holding a live certificate of the profile (SCEP profiles).
    pub holding: HashSet<Uuid>,
}

impl ProfileFacts {
    pub fn new(profile_id: Uuid, kind: ProfileKind) -> Self {
        Self {
            profile_id,
            kind,
            applicable_before: HashSet::new(),
            applicable_after: HashSet::new(),
            version_changes: false,
            holding: HashSet::new(),
        }
    }

    /// This profile's action and reason on `device`.
    fn decide(&self, device: Uuid) -> (ImpactAction, ImpactReason) {
        let before = self.applicable_before.contains(&device);
        let after = self.applicable_after.contains(&device);
        let (offered, reason) = match (before, after) {
            (false, true) => (true, ImpactReason::NewlyApplicable),
            (true, true) if self.version_changes => (true, ImpactReason::VersionChanged),
            (true, true) => (false, ImpactReason::Unchanged),
            (true, false) => (false, ImpactReason::NoLongerApplicable),
            (false, false) => (false, ImpactReason::RevocationOnly),
        };
        let action = match (offered, before && !after) {
            (true, _) if self.holding.contains(&device) => ImpactAction::Reissue,
            (true, _) => ImpactAction::Install,
            (false, true) => ImpactAction::Remove,
            (false, false) => ImpactAction::Unchanged,
        };
        (action, reason)
    }
}

/// Everything a change's dry run measured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImpactFacts {
    /// The profiles within the change's reach.
    pub profiles: Vec<ProfileFacts>,
    /// `(device, profile)` of each certificate the change would queue for
    /// revocation — possibly of a profile outside `profiles` (a revocation
    /// an earlier change missed, which the real call queues too).
    pub revoked_certificates: Vec<(Uuid, Uuid)>,
}

/// Every device the change concerns, by id, with its action.
pub fn device_impacts(facts: &ImpactFacts) -> Vec<DeviceImpact> {
    let mut revocations: HashMap<(Uuid, Uuid), u32> = HashMap::new();
    for pair in &facts.revoked_certificates {
        *revocations.entry(*pair).or_default() += 1;
    }
    let mut per_device: BTreeMap<Uuid, Vec<ProfileImpact>> = BTreeMap::new();
    let mut known: HashSet<Uuid> = HashSet::new();
    for profile in &facts.profiles {
        known.insert(profile.profile_id);
        let revoked_here = revocations
            .keys()
            .filter(|(_, profile_id)| *profile_id == profile.profile_id)
            .map(|(device, _)| device);
        let concerned: HashSet<&Uuid> = profile
            .applicable_before
            .iter()
            .chain(&profile.applicable_after)
            .chain(revoked_here)
            .collect();
        for device in concerned {
            let (action, reason) = profile.decide(*device);
            per_device.entry(*device).or_default().push(ProfileImpact {
                profile_id: profile.profile_id,
                kind: profile.kind,
                action,
                reason,
                revocations: revocations
                    .get(&(*device, profile.profile_id))
                    .copied()
                    .unwrap_or(0),
            });
        }
    }
    for (&(device, profile_id), &count) in &revocations {
        if !known.contains(&profile_id) {
            per_device.entry(device).or_default().push(ProfileImpact {
                profile_id,
                kind: ProfileKind::ScepCertificate,
                action: ImpactAction::Unchanged,
                reason: ImpactReason::RevocationOnly,
                revocations: count,
            });
        }
    }
    per_device
        .into_iter()
        .map(|(device_id, mut profiles)| {
            profiles.sort_by_key(|profile| (profile.kind, profile.profile_id));
            // The first of the weightiest: deterministic, as the list is sorted.
            let weightiest = profiles
                .iter()
                .rev()
                .max_by_key(|profile| profile.action)
                .expect("a concerned device has a profile");
            DeviceImpact {
                device_id,
                action: weightiest.action,
                reason: weightiest.reason,
                revocations: profiles.iter().map(|profile| profile.revocations).sum(),
                profiles,
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

    fn scep(
        profile: u128,
        before: &[Uuid],
        after: &[Uuid],
        version_changes: bool,
        holding: &[Uuid],
    ) -> ProfileFacts {
        ProfileFacts {
            applicable_before: set(before),
            applicable_after: set(after),
            version_changes,
            holding: set(holding),
            ..ProfileFacts::new(Uuid::from_u128(1000 + profile), ProfileKind::ScepCertificate)
        }
    }

    #[test]
    fn a_new_version_is_offered_to_every_applicable_device_and_reissues_held_certificates() {
        let d = ids(4);
        let profile = scep(1, &[d[0], d[1], d[2]], &[d[0], d[1], d[3]], true, &[d[0], d[2]]);
        let facts = ImpactFacts {
            revoked_certificates: vec![(d[2], profile.profile_id), (d[2], profile.profile_id)],
            profiles: vec![profile],
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
        assert!(impacts.iter().all(|impact| impact.profiles.len() == 1));
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
        let profile = scep(1, &[d[0]], &[d[0], d[1]], false, &[d[0], d[1]]);
        let facts = ImpactFacts {
            revoked_certificates: vec![(d[2], profile.profile_id)],
            profiles: vec![profile],
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
    fn a_device_counts_once_under_its_weightiest_profile_action() {
        let d = ids(2);
        let root = ProfileFacts {
            applicable_after: set(&[d[0], d[1]]),
            ..ProfileFacts::new(Uuid::from_u128(1), ProfileKind::TrustedCertificate)
        };
        let gained = scep(1, &[], &[d[0]], false, &[]);
        let lost = scep(2, &[d[0], d[1]], &[], false, &[]);
        let other_profile = Uuid::from_u128(77);
        let facts = ImpactFacts {
            revoked_certificates: vec![(d[1], lost.profile_id), (d[1], other_profile)],
            profiles: vec![lost, gained, root],
        };
        let impacts = device_impacts(&facts);
        assert_eq!(impacts.len(), 2);
        assert_eq!(
            (impacts[0].action, impacts[0].reason, impacts[0].profiles.len()),
            (ImpactAction::Install, ImpactReason::NewlyApplicable, 3)
        );
        // Trusted first, then SCEP profiles by id.
        assert_eq!(impacts[0].profiles[0].kind, ProfileKind::TrustedCertificate);
        assert_eq!(impacts[0].profiles[1].profile_id, Uuid::from_u128(1001));
        // A certificate of a profile outside the reach is still counted.
        assert_eq!(impacts[1].action, ImpactAction::Install);
        assert_eq!(impacts[1].revocations, 2);
        assert!(impacts[1]
            .profiles
            .iter()
            .any(|profile| profile.profile_id == other_profile
                && profile.reason == ImpactReason::RevocationOnly));
        assert_eq!(
            count(&impacts),
            ImpactCounts {
                install: 2,
                revoke: 2,
                ..ImpactCounts::default()
            }
        );
    }

    #[test]
    fn a_change_that_concerns_no_device_has_no_impact() {
        assert!(device_impacts(&ImpactFacts::default()).is_empty());
        assert_eq!(count(&[]), ImpactCounts::default());
    }
}
