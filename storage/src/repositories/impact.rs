//! Dry runs: what a change would do to devices, measured by making it in a
//! transaction that is then rolled back. The change runs the very statements
//! of the real write, so it is refused for the same reasons (stale version,
//! missing reference, duplicate), and nothing of it is ever committed — no
//! version, no revocation, no audit entry.

use async_trait::async_trait;
use scepter_domain::{impact::ImpactFacts, targeting::Intent, Record, ScepCertificateProfile};
use uuid::Uuid;

use crate::{Assignment, StorageError};

/// A change to a SCEP profile to measure.
#[derive(Debug, Clone, Copy)]
pub enum ScepProfileChange<'a> {
    Replace {
        expected_version: i64,
        profile: &'a ScepCertificateProfile,
    },
    Delete {
        expected_version: Option<i64>,
    },
    Assign {
        group_id: Uuid,
        intent: Intent,
    },
    Unassign {
        assignment_id: Uuid,
    },
}

/// What the write would have returned.
#[derive(Debug, Clone, PartialEq)]
pub enum WouldWrite {
    Profile(Record<ScepCertificateProfile>),
    Assignment(Assignment),
    /// A delete.
    Nothing,
}

/// A measured change: its facts for [`scepter_domain::impact::device_impacts`], and its result.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredChange {
    pub facts: ImpactFacts,
    pub written: WouldWrite,
}

#[async_trait]
pub trait ImpactRepository: Send + Sync {
    /// Makes `change` to the SCEP profile `profile_id` in a transaction,
    /// measures it, and rolls it back. Revocations are counted as the real
    /// call queues them: after a replacement, a delete, an exclusion or an
    /// unassignment — not after an inclusion.
    async fn measure_scep_profile_change(
        &self,
        profile_id: Uuid,
        change: ScepProfileChange<'_>,
    ) -> Result<MeasuredChange, StorageError>;
}
