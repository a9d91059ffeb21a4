//! Check-ins: the facts one decides on, read on one connection, and what it observed.

pub(crate) const SELECT_STEPS: &str = "SELECT profile_id, profile_version, state, diagnostic_code \
     FROM device_profile_states WHERE device_id = $1";

/// Followed by `VALUES (id, at), …`: `lastCheckInDateTime` for many devices,
/// never backwards. A CTE with named columns reads the same on both backends.
pub(crate) const TOUCH_DEVICES_WITH: &str = "WITH seen (id, at) AS (";
pub(crate) const TOUCH_DEVICES_UPDATE: &str = ") UPDATE devices SET last_check_in_at = seen.at FROM seen \
     WHERE devices.id = seen.id AND (devices.last_check_in_at IS NULL OR devices.last_check_in_at < seen.at)";

/// Followed by `VALUES (device, profile, version, now), …` and
/// [`RECORD_CHALLENGES_ISSUED_CONFLICT`]: every profile one check-in offered
/// anew, in one statement (one commit).
pub(crate) const RECORD_CHALLENGES_ISSUED: &str = "INSERT INTO device_profile_states \
     (device_id, profile_id, profile_version, state, updated_at) ";
pub(crate) const RECORD_CHALLENGES_ISSUED_CONFLICT: &str = " ON CONFLICT (device_id, profile_id) DO UPDATE \
     SET profile_version = excluded.profile_version, state = 'challengeIssued', diagnostic_code = NULL, \
     reason = NULL, updated_at = excluded.updated_at";

macro_rules! impl_check_in_repository {
    ($store:ident, $db:ty) => {
        mod check_in_repository {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use scepter_domain::Record;
            use uuid::Uuid;

            use super::{
                assignment_repository::targeting_facts, fetch, ledger_repository::certificates_of_device,
                observations, $store,
            };
            use crate::{
                rows::{DeviceRow, StepRow, UserRow},
                sql::{
                    checkin::*,
                    directory::{SELECT_DEVICE, SELECT_USER},
                },
                CheckInFacts, CheckInRepository, StorageError, StoredDevice, SubjectFacts,
                LAST_CHECK_IN_CHUNK,
            };

            type Connection = <$db as sqlx::Database>::Connection;

            /// The device, its primary user and its targeting facts.
            async fn subject_of(
                connection: &mut Connection,
                device_id: Uuid,
            ) -> Result<Option<SubjectFacts>, StorageError> {
                let Some(device) =
                    fetch::one::<DeviceRow, Record<StoredDevice>>(&mut *connection, SELECT_DEVICE, device_id)
                        .await?
                else {
                    return Ok(None);
                };
                let user = match device.content.device.user_id {
                    Some(user_id) => fetch::one::<UserRow, _>(&mut *connection, SELECT_USER, user_id).await?,
                    None => None,
                };
                let (memberships, profiles) = targeting_facts(
                    &mut *connection,
                    device_id,
                    device.content.device.platform,
                    device.content.device.user_id,
                )
                .await?;
                Ok(Some(SubjectFacts {
                    device,
                    user,
                    memberships,
                    profiles,
                }))
            }

            #[async_trait]
            impl CheckInRepository for $store {
                async fn check_in_facts(
                    &self,
                    device_id: Uuid,
                ) -> Result<Option<CheckInFacts>, StorageError> {
                    let mut connection = self.pool.acquire().await?;
                    let Some(subject) = subject_of(&mut connection, device_id).await? else {
                        return Ok(None);
                    };
                    let certificates = certificates_of_device(&mut *connection, device_id).await?;
                    let steps = fetch::all::<StepRow, _>(&mut *connection, SELECT_STEPS, device_id).await?;
                    Ok(Some(CheckInFacts {
                        subject,
                        certificates,
                        steps,
                    }))
                }

                async fn subject_facts(&self, device_id: Uuid) -> Result<Option<SubjectFacts>, StorageError> {
                    subject_of(&mut *self.pool.acquire().await?, device_id).await
                }

                async fn record_challenges_offered(
                    &self,
                    device_id: Uuid,
                    at: DateTime<Utc>,
                    offered: &[(Uuid, i64)],
                ) -> Result<(), StorageError> {
                    if offered.is_empty() {
                        return Ok(());
                    }
                    let mut query = sqlx::QueryBuilder::<$db>::new(RECORD_CHALLENGES_ISSUED);
                    query.push_values(offered, |mut row, (profile_id, version)| {
                        row.push_bind(device_id)
                            .push_bind(*profile_id)
                            .push_bind(*version)
                            .push("'challengeIssued'")
                            .push_bind(at);
                    });
                    query.push(RECORD_CHALLENGES_ISSUED_CONFLICT);
                    query.build().execute(&self.pool).await?;
                    Ok(())
                }

                async fn record_last_check_ins(
                    &self,
                    seen: &[(Uuid, DateTime<Utc>)],
                ) -> Result<(), StorageError> {
                    for chunk in seen.chunks(LAST_CHECK_IN_CHUNK) {
                        let mut transaction = observations::begin(&self.pool).await?;
                        let mut query = sqlx::QueryBuilder::<$db>::new(TOUCH_DEVICES_WITH);
                        query.push_values(chunk, |mut row, (device_id, at)| {
                            row.push_bind(*device_id).push_bind(*at);
                        });
                        query.push(TOUCH_DEVICES_UPDATE);
                        query.build().execute(&mut *transaction).await?;
                        transaction.commit().await?;
                    }
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use impl_check_in_repository;
