//! Dry runs of changes to a SCEP profile (see `repositories/impact.rs`).

use super::statuses::targeted_everywhere;

/// The devices the SCEP profile `$1` is applicable to, by id — targeting's
/// five rules, as `scepter_domain::targeting` applies them: included and not
/// excluded (1, 2), of the profile's platform `$3` (3), with a primary user
/// when `$4` is `user` (4), and its root `$2` applicable there: of the
/// device's platform, included and not excluded (5).
pub(crate) fn applicable_devices() -> String {
    format!(
        "SELECT d.id FROM devices d WHERE d.platform = $3 AND ($4 <> 'user' OR d.user_id IS NOT NULL) \
         AND {} \
         AND EXISTS (SELECT 1 FROM trusted_certificate_profiles t WHERE t.id = $2 AND t.platform = d.platform) \
         AND {} ORDER BY d.id",
        targeted_everywhere("scep_profile_assignments", "$1"),
        targeted_everywhere("trusted_profile_assignments", "$2"),
    )
}

/// Devices holding a live certificate of profile `$1` at `$2`: not revoked
/// or queued for it, not expired.
pub(crate) const HOLDING_DEVICES: &str = "SELECT DISTINCT device_id FROM issued_certificates \
     WHERE profile_id = $1 AND revoke_status = 'none' AND not_after > $2";

macro_rules! impl_impact_repository {
    ($store:ident, $db:ty) => {
        mod impact_repository {
            use std::collections::HashSet;

            use async_trait::async_trait;
            use chrono::Utc;
            use scepter_domain::{
                impact::ImpactFacts,
                targeting::{Intent, ProfileKind},
                Record, ScepCertificateProfile,
            };
            use uuid::Uuid;

            use super::{
                assignment_repository::{erase_assignment, write_assignment},
                fetch, versioned, $store,
            };
            use crate::{
                rows::{now, ScepProfileRow},
                sql::{
                    impact::*,
                    ledger::queue_revocations,
                    profiles::{bind_scep_profile, SCEP_PROFILES, SELECT_SCEP, UPDATE_SCEP},
                },
                ImpactRepository, MeasuredChange, ScepProfileChange, StorageError, WouldWrite,
            };

            type Connection = <$db as sqlx::Database>::Connection;

            /// The devices `profile` is applicable to.
            async fn applicable(
                connection: &mut Connection,
                profile: &Record<ScepCertificateProfile>,
            ) -> Result<HashSet<Uuid>, StorageError> {
                let content = &profile.content;
                Ok(sqlx::query_scalar::<_, Uuid>(&applicable_devices())
                    .bind(profile.id)
                    .bind(content.root_certificate_id)
                    .bind(content.platform.as_str())
                    .bind(content.settings.certificate_type.as_str())
                    .fetch_all(connection)
                    .await?
                    .into_iter()
                    .collect())
            }

            #[async_trait]
            impl ImpactRepository for $store {
                async fn measure_scep_profile_change(
                    &self,
                    profile_id: Uuid,
                    change: ScepProfileChange<'_>,
                ) -> Result<MeasuredChange, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let current: Record<ScepCertificateProfile> =
                        fetch::one::<ScepProfileRow, _>(&mut *transaction, SELECT_SCEP, profile_id)
                            .await?
                            .ok_or(StorageError::NotFound)?;
                    let applicable_before = applicable(&mut transaction, &current).await?;
                    let holding: HashSet<Uuid> = sqlx::query_scalar::<_, Uuid>(HOLDING_DEVICES)
                        .bind(profile_id)
                        .bind(Utc::now())
                        .fetch_all(&mut *transaction)
                        .await?
                        .into_iter()
                        .collect();

                    // The real write's statements; `after` is the profile as it would then be.
                    let (written, after, version_changes, queues_revocations) = match change {
                        ScepProfileChange::Replace {
                            expected_version,
                            profile,
                        } => {
                            let query = sqlx::query_as::<_, ScepProfileRow>(UPDATE_SCEP)
                                .bind(profile_id)
                                .bind(expected_version)
                                .bind(now());
                            let row = bind_scep_profile!(query, profile)
                                .fetch_optional(&mut *transaction)
                                .await?;
                            let Some(row) = row else {
                                return Err(versioned::mismatch_or_missing(
                                    &mut transaction,
                                    &SCEP_PROFILES,
                                    profile_id,
                                )
                                .await);
                            };
                            let record: Record<ScepCertificateProfile> = row.try_into()?;
                            (
                                WouldWrite::Profile(record.clone()),
                                Some(record),
                                true,
                                true,
                            )
                        }
                        ScepProfileChange::Delete { expected_version } => {
                            let deleted = sqlx::query(SCEP_PROFILES.delete)
                                .bind(profile_id)
                                .bind(expected_version)
                                .execute(&mut *transaction)
                                .await?;
                            if deleted.rows_affected() == 0 {
                                return Err(versioned::mismatch_or_missing(
                                    &mut transaction,
                                    &SCEP_PROFILES,
                                    profile_id,
                                )
                                .await);
                            }
                            (WouldWrite::Nothing, None, false, true)
                        }
                        ScepProfileChange::Assign { group_id, intent } => {
                            let assignment = write_assignment(
                                &mut transaction,
                                ProfileKind::ScepCertificate,
                                profile_id,
                                group_id,
                                intent,
                            )
                            .await?;
                            (
                                WouldWrite::Assignment(assignment),
                                Some(current),
                                false,
                                intent == Intent::Exclude,
                            )
                        }
                        ScepProfileChange::Unassign { assignment_id } => {
                            erase_assignment(
                                &mut transaction,
                                ProfileKind::ScepCertificate,
                                profile_id,
                                assignment_id,
                            )
                            .await?;
                            (WouldWrite::Nothing, Some(current), false, true)
                        }
                    };
                    let applicable_after = match &after {
                        Some(profile) => applicable(&mut transaction, profile).await?,
                        None => HashSet::new(),
                    };
                    let revoked_certificate_devices = if queues_revocations {
                        sqlx::query_scalar::<_, Uuid>(&format!(
                            "{} profile_id = $2 RETURNING device_id",
                            queue_revocations()
                        ))
                        .bind(now())
                        .bind(profile_id)
                        .fetch_all(&mut *transaction)
                        .await?
                    } else {
                        Vec::new()
                    };
                    transaction.rollback().await?;
                    Ok(MeasuredChange {
                        facts: ImpactFacts {
                            applicable_before,
                            applicable_after,
                            version_changes,
                            holding,
                            revoked_certificate_devices,
                        },
                        written,
                    })
                }
            }
        }
    };
}

pub(crate) use impl_impact_repository;
