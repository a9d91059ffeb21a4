//! Dry runs (`?dryRun=true`): what a write would be and do, with nothing written.

use scepter_domain::{
    impact::{DeviceImpact, ImpactAction, ImpactCounts, ImpactReason, ProfileImpact},
    targeting::ProfileKind,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AssignmentView, DeviceImpactList, DeviceView, MembershipChangeView, ScepCertificateProfileView,
    TrustedCertificateProfileView,
};

/// The query of a write that can be rehearsed.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct DryRunQuery {
    /// Validate and measure the write without making it: the answer is 200
    /// with what it would do; nothing is written (no version, revocation or
    /// audit entry). Same 4xx answers and `If-Match` rules as the real call.
    pub dry_run: Option<bool>,
    /// Dry run only: page size of `devices`, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Dry run only: `devices.nextCursor` of the previous answer.
    pub cursor: Option<String>,
}

impl DryRunQuery {
    pub fn is_dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }
}

/// One profile's fate on a device a dry run concerns.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileImpactView {
    pub profile_id: Uuid,
    pub profile_kind: ProfileKind,
    pub action: ImpactAction,
    pub reason: ImpactReason,
    /// Certificates of this profile on the device that would be queued for revocation.
    pub revocations: u32,
}

impl From<ProfileImpact> for ProfileImpactView {
    fn from(impact: ProfileImpact) -> Self {
        Self {
            profile_id: impact.profile_id,
            profile_kind: impact.kind,
            action: impact.action,
            reason: impact.reason,
            revocations: impact.revocations,
        }
    }
}

/// One device a write concerns, and what its next check-in would bring.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceImpactView {
    pub device_id: Uuid,
    pub device_name: Option<String>,
    /// The weightiest of its profiles' actions: reissue, then install, then remove.
    pub action: ImpactAction,
    /// The reason of the profile that gave `action`.
    pub reason: ImpactReason,
    /// Certificates on this device that would be queued for revocation.
    pub revocations: u32,
    /// Each profile within the write's reach on this device (trusted first, then by id).
    pub profiles: Vec<ProfileImpactView>,
}

impl DeviceImpactView {
    pub fn new(impact: DeviceImpact, device_name: Option<String>) -> Self {
        Self {
            device_id: impact.device_id,
            device_name,
            action: impact.action,
            reason: impact.reason,
            revocations: impact.revocations,
            profiles: impact.profiles.into_iter().map(ProfileImpactView::from).collect(),
        }
    }
}

/// The answer of a dry run whose write would return a `$result`.
macro_rules! dry_run_answer {
    ($($(#[$doc:meta])* $name:ident => $result:ty, $result_doc:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// Always `true`: nothing was written.
            pub dry_run: bool,
            #[doc = $result_doc]
            pub result: Option<$result>,
            /// Devices per action, and certificates to revoke. Exact: the real
            /// call, made right after against the same data, does this.
            pub impact: ImpactCounts,
            /// The devices concerned, by id.
            pub devices: DeviceImpactList,
        }

        impl $name {
            pub fn new(result: Option<$result>, impact: ImpactCounts, devices: DeviceImpactList) -> Self {
                Self {
                    dry_run: true,
                    result,
                    impact,
                    devices,
                }
            }
        }
    )*};
}

dry_run_answer! {
    /// The dry run of a SCEP profile's replacement or deletion.
    ScepProfileDryRun => ScepCertificateProfileView, "The profile as the replacement would make it; `null` for a delete.";
    /// The dry run of a trusted profile's replacement or deletion. It
    /// concerns the profile and the SCEP profiles rooted in it.
    TrustedProfileDryRun => TrustedCertificateProfileView, "The profile as the replacement would make it; `null` for a delete.";
    /// The dry run of creating or deleting a profile's assignment.
    AssignmentDryRun => AssignmentView, "The assignment as it would be created (its id is not kept); `null` for a delete.";
    /// The dry run of a device's replacement or deletion.
    DeviceDryRun => DeviceView, "The device as the replacement would make it; `null` for a delete.";
    /// The dry run of adding members to a group or removing one.
    MembershipDryRun => MembershipChangeView, "How many members would be added and were already in; `null` for a removal.";
    /// The dry run of deleting a user or a group.
    DeletionDryRun => DeletedNothing, "Always `null`: the resource would be gone.";
}

/// Nothing: what a delete returns.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedNothing {}

/// A replacement's answer: the new profile, or with `dryRun=true` what it would do.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ScepProfileReplacement {
    Replaced(ScepCertificateProfileView),
    DryRun(ScepProfileDryRun),
}

/// A replacement's answer: the new profile, or with `dryRun=true` what it would do.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum TrustedProfileReplacement {
    Replaced(TrustedCertificateProfileView),
    DryRun(TrustedProfileDryRun),
}

/// A replacement's answer: the new device, or with `dryRun=true` what it would do.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum DeviceReplacement {
    Replaced(DeviceView),
    DryRun(DeviceDryRun),
}

/// Adding members' answer: the counts, or with `dryRun=true` what it would do.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum MembershipAddition {
    Added(MembershipChangeView),
    DryRun(MembershipDryRun),
}
