//! The enrollment timeline's history: payload offers, first reports of
//! certificates, events of one device and profile versions.

/// Followed by `VALUES (…), …`: one row per offer, the columns in order.
pub(crate) const INSERT_PAYLOAD_OFFERS: &str = "INSERT INTO payload_offers (id, device_id, profile_id, \
     profile_version, scep_server_urls, challenge_expires_at, offered_at) ";

/// Offers per statement: 7 binds each, far below either backend's limit.
pub(crate) const PAYLOAD_OFFER_CHUNK: usize = 1000;

/// `$1` certificate, `$2` when. Only the first report sets it.
pub(crate) const CERTIFICATE_REPORTED: &str =
    "UPDATE issued_certificates SET reported_at = $2 WHERE id = $1 AND reported_at IS NULL";

/// `$1` device, `$2` profile (`NULL`: any), `$3` limit; newest first.
/// Index payload_offers_device (0011).
pub(crate) const OFFERS_OF_DEVICE: &str = "SELECT device_id, profile_id, profile_version, scep_server_urls, \
     challenge_expires_at, offered_at FROM payload_offers \
     WHERE device_id = $1 AND ($2 IS NULL OR profile_id = $2) ORDER BY id DESC LIMIT $3";

/// `$1` device, `$2` profile (`NULL`: any), `$3` limit; newest first.
/// Index events_device (0005): the device's events, filtered by profile.
pub(crate) const EVENTS_OF_DEVICE: &str =
    "SELECT id, event_id, device_id, profile_id, certificate_id, transaction_id, \
     diagnostic_code, message, occurred_at FROM events \
     WHERE device_id = $1 AND ($2 IS NULL OR profile_id = $2) ORDER BY id DESC LIMIT $3";

/// `$1` profile, `$2` limit; newest first. The primary key.
pub(crate) const PROFILE_VERSIONS: &str =
    "SELECT profile_id, version, changed_at FROM scep_profile_versions \
     WHERE profile_id = $1 ORDER BY version DESC LIMIT $2";

/// One bounded batch (the sweep loops). Index payload_offers_offered_at (0011).
pub(crate) const PURGE_PAYLOAD_OFFERS: &str =
    "DELETE FROM payload_offers WHERE id IN (SELECT id FROM payload_offers WHERE offered_at < $1 LIMIT $2)";

macro_rules! impl_enrollment_history_repository {
    ($store:ident, $db:ty) => {
        mod enrollment_history_repository {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use super::{observations, $store};
            use crate::{
                rows::{EventRow, PayloadOfferRow, ProfileVersionRow},
                sql::timeline::*,
                EnrollmentHistory, EnrollmentHistoryRepository, PayloadOffer, ProfileVersionChange,
                StorageError, StoredEvent,
            };

            #[async_trait]
            impl EnrollmentHistoryRepository for $store {
                async fn record_payload_offers(&self, offers: &[PayloadOffer]) -> Result<(), StorageError> {
                    for chunk in offers.chunks(PAYLOAD_OFFER_CHUNK) {
                        let rows = chunk
                            .iter()
                            .map(|offer| {
                                serde_json::to_string(&offer.scep_server_urls)
                                    .map(|urls| (offer, urls))
                                    .map_err(|error| StorageError::Corrupt(error.to_string()))
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                        let mut transaction = observations::begin(&self.pool).await?;
                        let mut query = sqlx::QueryBuilder::<$db>::new(INSERT_PAYLOAD_OFFERS);
                        query.push_values(rows, |mut row, (offer, urls)| {
                            row.push_bind(Uuid::now_v7())
                                .push_bind(offer.device_id)
                                .push_bind(offer.profile_id)
                                .push_bind(offer.profile_version)
                                .push_bind(urls)
                                .push_bind(offer.challenge_expires_at)
                                .push_bind(offer.offered_at);
                        });
                        query.build().execute(&mut *transaction).await?;
                        transaction.commit().await?;
                    }
                    Ok(())
                }

                async fn record_certificates_reported(
                    &self,
                    certificate_ids: &[Uuid],
                    at: DateTime<Utc>,
                ) -> Result<(), StorageError> {
                    for id in certificate_ids {
                        sqlx::query(CERTIFICATE_REPORTED)
                            .bind(id)
                            .bind(at)
                            .execute(&self.pool)
                            .await?;
                    }
                    Ok(())
                }

                async fn enrollment_history(
                    &self,
                    device_id: Uuid,
                    profile_id: Option<Uuid>,
                    limit: u32,
                ) -> Result<EnrollmentHistory, StorageError> {
                    let mut connection = self.pool.acquire().await?;
                    let offers = sqlx::query_as::<_, PayloadOfferRow>(OFFERS_OF_DEVICE)
                        .bind(device_id)
                        .bind(profile_id)
                        .bind(i64::from(limit))
                        .fetch_all(&mut *connection)
                        .await?;
                    let events = sqlx::query_as::<_, EventRow>(EVENTS_OF_DEVICE)
                        .bind(device_id)
                        .bind(profile_id)
                        .bind(i64::from(limit))
                        .fetch_all(&mut *connection)
                        .await?;
                    Ok(EnrollmentHistory {
                        offers: offers
                            .into_iter()
                            .rev()
                            .map(TryInto::try_into)
                            .collect::<Result<_, StorageError>>()?,
                        events: events
                            .into_iter()
                            .rev()
                            .map(TryInto::try_into)
                            .collect::<Result<Vec<StoredEvent>, StorageError>>()?,
                    })
                }

                async fn profile_versions(
                    &self,
                    profile_id: Uuid,
                    limit: u32,
                ) -> Result<Vec<ProfileVersionChange>, StorageError> {
                    let rows = sqlx::query_as::<_, ProfileVersionRow>(PROFILE_VERSIONS)
                        .bind(profile_id)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?;
                    Ok(rows
                        .into_iter()
                        .rev()
                        .map(ProfileVersionChange::from)
                        .collect())
                }

                async fn purge_payload_offers(
                    &self,
                    before: DateTime<Utc>,
                    limit: u32,
                ) -> Result<u64, StorageError> {
                    Ok(sqlx::query(PURGE_PAYLOAD_OFFERS)
                        .bind(before)
                        .bind(i64::from(limit))
                        .execute(&self.pool)
                        .await?
                        .rows_affected())
                }
            }
        }
    };
}

pub(crate) use impl_enrollment_history_repository;
