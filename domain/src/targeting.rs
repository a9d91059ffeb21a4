//! Which profiles reach a device, and in what state (seed: "Assign the
//! certificate profile").
//!
//! The rules, in the order they apply:
//! 1. A profile reaches a device when the device is in an included device
//!    group, or the device's primary user is in an included user group.
//! 2. Exclusion always wins, across kinds: a device in an excluded device
//!    group, or whose primary user is in an excluded user group, does not get
//!    the profile, whichever kind of group included it.
//! 3. A profile installs only on devices of its own platform.
//! 4. A user-certificate SCEP profile cannot be issued on a device without a
//!    primary user (`notApplicable`, `noPrimaryUser`).
//! 5. A SCEP profile also needs its trusted root profile to reach the device
//!    and install there; otherwise it fails (`rootCertificateNotAssigned`:
//!    "otherwise the SCEP certificate policy fails").
//!
//! Storage gathers the facts ([`DeviceMemberships`], [`TargetedProfile`]s);
//! [`effective_profiles`] decides.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{directory::GroupType, platform::Platform, scep_profile::CertificateType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ProfileKind {
    TrustedCertificate,
    ScepCertificate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Intent {
    Include,
    Exclude,
}

impl Intent {
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Include => "include",
            Intent::Exclude => "exclude",
        }
    }
}

/// One assignment of a profile to a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentFact {
    pub assignment_id: Uuid,
    pub group_id: Uuid,
    pub group_type: GroupType,
    pub intent: Intent,
}

/// A profile with its assignments (at least those to the device's groups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetedProfile {
    pub profile_id: Uuid,
    pub kind: ProfileKind,
    /// The profile's `Record::version` (check-in's state tag covers it).
    pub version: i64,
    pub platform: Platform,
    /// SCEP profiles only.
    pub certificate_type: Option<CertificateType>,
    /// SCEP profiles only: the trusted profile it needs.
    pub root_profile_id: Option<Uuid>,
    pub assignments: Vec<AssignmentFact>,
}

/// The groups a device is in, directly and through its primary user — at
/// least those that profiles are assigned to, which are all the rules look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceMemberships {
    pub platform: Platform,
    pub has_primary_user: bool,
    pub device_groups: HashSet<Uuid>,
    /// Groups of the primary user; empty without one.
    pub user_groups: HashSet<Uuid>,
}

impl DeviceMemberships {
    fn is_member(&self, assignment: &AssignmentFact) -> bool {
        match assignment.group_type {
            GroupType::Device => self.device_groups.contains(&assignment.group_id),
            GroupType::User => self.user_groups.contains(&assignment.group_id),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TargetState {
    /// The profile installs.
    Applicable,
    /// The profile reaches the device but cannot work there (see `reason`).
    Failed,
    /// The profile reaches the device but does not apply to it (see `reason`).
    NotApplicable,
    /// An exclusion stops the profile (listed only when explaining).
    Excluded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TargetReason {
    /// The SCEP profile's trusted root profile does not reach the device.
    RootCertificateNotAssigned,
    /// A user certificate needs the device's primary user.
    NoPrimaryUser,
    /// The profile is for another platform (listed only when explaining).
    PlatformMismatch,
    /// An excluding assignment matched.
    AssignmentExcluded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveProfile {
    pub profile_id: Uuid,
    pub kind: ProfileKind,
    pub state: TargetState,
    pub reason: Option<TargetReason>,
    /// The including assignments that brought it, or for `excluded` the excluding ones.
    pub assignment_ids: Vec<Uuid>,
}

/// Whether profiles that do not install are explained too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Explain {
    /// Only profiles that reach the device and match its platform.
    No,
    /// Also excluded profiles and platform mismatches, with their reason.
    Yes,
}

/// The profiles that reach a device, each with its state, ordered by kind then id.
pub fn effective_profiles(
    device: &DeviceMemberships,
    profiles: &[TargetedProfile],
    explain: Explain,
) -> Vec<EffectiveProfile> {
    let mut reached = BTreeMap::new();
    for profile in profiles {
        let matching = |intent: Intent| -> Vec<Uuid> {
            profile
                .assignments
                .iter()
                .filter(|assignment| assignment.intent == intent && device.is_member(assignment))
                .map(|assignment| assignment.assignment_id)
                .collect()
        };
        let including = matching(Intent::Include);
        if including.is_empty() {
            continue;
        }
        let excluding = matching(Intent::Exclude);
        let (state, reason, assignment_ids) = if !excluding.is_empty() {
            (
                TargetState::Excluded,
                Some(TargetReason::AssignmentExcluded),
                excluding,
            )
        } else if profile.platform != device.platform {
            (
                TargetState::NotApplicable,
                Some(TargetReason::PlatformMismatch),
                including,
            )
        } else {
            (TargetState::Applicable, None, including)
        };
        reached.insert(
            (profile.kind, profile.profile_id),
            (
                profile,
                EffectiveProfile {
                    profile_id: profile.profile_id,
                    kind: profile.kind,
                    state,
                    reason,
                    assignment_ids,
                },
            ),
        );
    }

    let installed_roots: HashSet<Uuid> = reached
        .values()
        .filter(|(profile, effective)| {
            profile.kind == ProfileKind::TrustedCertificate && effective.state == TargetState::Applicable
        })
        .map(|(profile, _)| profile.profile_id)
        .collect();

    reached
        .into_values()
        .filter_map(|(profile, mut effective)| {
            if effective.state == TargetState::Applicable && profile.kind == ProfileKind::ScepCertificate {
                let root_installed = profile
                    .root_profile_id
                    .is_some_and(|root| installed_roots.contains(&root));
                (effective.state, effective.reason) =
                    scep_target_state(profile.certificate_type, device.has_primary_user, root_installed);
            }
            let explained_only = matches!(
                effective.reason,
                Some(TargetReason::AssignmentExcluded | TargetReason::PlatformMismatch)
            );
            (explain == Explain::Yes || !explained_only).then_some(effective)
        })
        .collect()
}

/// Rules 4 and 5 for a SCEP profile that reaches a device of its platform:
/// a user certificate needs the device's primary user, and the profile needs
/// its trusted root installed there.
pub fn scep_target_state(
    certificate_type: Option<CertificateType>,
    has_primary_user: bool,
    root_installed: bool,
) -> (TargetState, Option<TargetReason>) {
    if certificate_type == Some(CertificateType::User) && !has_primary_user {
        (TargetState::NotApplicable, Some(TargetReason::NoPrimaryUser))
    } else if !root_installed {
        (
            TargetState::Failed,
            Some(TargetReason::RootCertificateNotAssigned),
        )
    } else {
        (TargetState::Applicable, None)
    }
}

#[cfg(test)]
mod tests;
