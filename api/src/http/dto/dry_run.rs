//! Dry runs (`?dryRun=true`): what a write would be and do, with nothing written.

use scepter_domain::impact::{DeviceImpact, ImpactAction, ImpactCounts, ImpactReason};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{AssignmentView, ScepCertificateProfileView};

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

/// One device a write concerns, and what its next check-in would bring.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceImpactView {
    pub device_id: Uuid,
    pub device_name: Option<String>,
    pub action: ImpactAction,
    pub reason: ImpactReason,
    /// Certificates of the profile on this device that would be queued for revocation.
    pub revocations: u32,
}

impl DeviceImpactView {
    pub fn new(impact: DeviceImpact, device_name: Option<String>) -> Self {
        Self {
            device_id: impact.device_id,
            device_name,
            action: impact.action,
            reason: impact.reason,
            revocations: impact.revocations,
        }
    }
}

/// The dry run of a SCEP profile's replacement or deletion.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScepProfileDryRun {
    /// Always `true`: nothing was written.
    pub dry_run: bool,
    /// The profile as the replacement would make it; `null` for a delete.
    pub result: Option<ScepCertificateProfileView>,
    /// Devices per action, and certificates to revoke. Exact: the real call,
    /// made right after against the same data, does this.
    pub impact: ImpactCounts,
    /// The devices concerned, by id.
    pub devices: super::DeviceImpactList,
}

/// The dry run of creating or deleting a SCEP profile's assignment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentDryRun {
    /// Always `true`: nothing was written.
    pub dry_run: bool,
    /// The assignment as it would be created (its id is not kept); `null` for a delete.
    pub result: Option<AssignmentView>,
    pub impact: ImpactCounts,
    pub devices: super::DeviceImpactList,
}

/// A replacement's answer: the new profile, or with `dryRun=true` what it would do.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ScepProfileReplacement {
    Replaced(ScepCertificateProfileView),
    DryRun(ScepProfileDryRun),
}
