//! Trusted and SCEP certificate profiles.

macro_rules! impl_profile_repositories {
    ($store:ident, $db:ty) => {
      mod profile_repositories {
        use super::$store;
        use async_trait::async_trait;
        use scepter_domain::{Record, ScepCertificateProfile, TrustedCertificateProfile};
        use sqlx::types::Json;
        use uuid::Uuid;

        use crate::{
            rows::{concatenated_der, now, ScepProfileRow, TrustedProfileRow},
            Page, PageRequest, ProfileFilter, ScepProfileRepository, StorageError, TrustedProfileRepository,
        };

        impl $store {
            /// After an update or delete matched no row: was it missing, or at another version?
            async fn version_mismatch_or_missing(
                executor: impl sqlx::Executor<'_, Database = $db>,
                table: &'static str,
                id: Uuid,
            ) -> StorageError {
                let sql = match table {
                    "trusted" => "SELECT version FROM trusted_certificate_profiles WHERE id = $1",
                    _ => "SELECT version FROM scep_certificate_profiles WHERE id = $1",
                };
                match sqlx::query_scalar::<_, i64>(sql).bind(id).fetch_optional(executor).await {
                    Ok(Some(current)) => StorageError::VersionMismatch { current },
                    Ok(None) => StorageError::NotFound,
                    Err(error) => error.into(),
                }
            }
        }

        #[async_trait]
        impl TrustedProfileRepository for $store {
            async fn insert_trusted_profile(
                &self,
                profile: &TrustedCertificateProfile,
            ) -> Result<Record<TrustedCertificateProfile>, StorageError> {
                sqlx::query_as::<_, TrustedProfileRow>(
                    "INSERT INTO trusted_certificate_profiles (id, version, created_at, modified_at, \
                     display_name, description, platform, cert_file_name, certificate_der, destination_store, \
                     issuing_certificates_der) VALUES ($1, 1, $2, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
                )
                .bind(Uuid::now_v7())
                .bind(now())
                .bind(profile.display_name.as_str())
                .bind(profile.description.as_str())
                .bind(profile.platform.as_str())
                .bind(profile.cert_file_name.as_ref().map(|name| name.as_str()))
                .bind(profile.certificate.der())
                .bind(profile.destination_store.map(|store| store.as_str()))
                .bind(concatenated_der(&profile.issuing_certificates))
                .fetch_one(&self.pool)
                .await?
                .try_into()
            }

            async fn trusted_profile(
                &self,
                id: Uuid,
            ) -> Result<Option<Record<TrustedCertificateProfile>>, StorageError> {
                sqlx::query_as::<_, TrustedProfileRow>("SELECT * FROM trusted_certificate_profiles WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn list_trusted_profiles(
                &self,
                filter: ProfileFilter,
                page: PageRequest,
            ) -> Result<Page<Record<TrustedCertificateProfile>>, StorageError> {
                // Index: trusted_certificate_profiles_platform_id (or the primary key unfiltered).
                let rows = sqlx::query_as::<_, TrustedProfileRow>(
                    "SELECT * FROM trusted_certificate_profiles \
                     WHERE ($1 IS NULL OR platform = $1) AND ($2 IS NULL OR id > $2) \
                     ORDER BY id LIMIT $3",
                )
                .bind(filter.platform.map(|platform| platform.as_str()))
                .bind(page.cursor.map(|cursor| cursor.last_id()))
                .bind(i64::from(page.limit) + 1)
                .fetch_all(&self.pool)
                .await?;
                let records = rows.into_iter().map(TryInto::try_into).collect::<Result<Vec<_>, _>>()?;
                Ok(Page::from_overfetched(records, page.limit, |record: &Record<_>| record.id))
            }

            async fn update_trusted_profile(
                &self,
                id: Uuid,
                expected_version: i64,
                profile: &TrustedCertificateProfile,
            ) -> Result<Record<TrustedCertificateProfile>, StorageError> {
                let mut transaction = self.pool.begin().await?;
                let updated = sqlx::query_as::<_, TrustedProfileRow>(
                    "UPDATE trusted_certificate_profiles SET version = version + 1, modified_at = $3, \
                     display_name = $4, description = $5, platform = $6, cert_file_name = $7, \
                     certificate_der = $8, destination_store = $9, issuing_certificates_der = $10 \
                     WHERE id = $1 AND version = $2 RETURNING *",
                )
                .bind(id)
                .bind(expected_version)
                .bind(now())
                .bind(profile.display_name.as_str())
                .bind(profile.description.as_str())
                .bind(profile.platform.as_str())
                .bind(profile.cert_file_name.as_ref().map(|name| name.as_str()))
                .bind(profile.certificate.der())
                .bind(profile.destination_store.map(|store| store.as_str()))
                .bind(concatenated_der(&profile.issuing_certificates))
                .fetch_optional(&mut *transaction)
                .await?;
                let Some(updated) = updated else {
                    return Err(Self::version_mismatch_or_missing(&mut *transaction, "trusted", id).await);
                };
                // The rule is the domain's; the SQL only gathers the facts. Index: scep_certificate_profiles_root.
                // Known window: on PostgreSQL a SCEP profile inserted concurrently with another
                // platform is not blocked by this row's lock (its foreign key takes KEY SHARE).
                let dependent_platforms = sqlx::query_scalar::<_, String>(
                    "SELECT DISTINCT platform FROM scep_certificate_profiles WHERE root_certificate_id = $1",
                )
                .bind(id)
                .fetch_all(&mut *transaction)
                .await?;
                if let Some(unsuited) = dependent_platforms.iter().find(|platform| {
                    platform
                        .parse::<scepter_domain::Platform>()
                        .map_or(true, |platform| !platform.accepts_root_from(profile.platform))
                }) {
                    return Err(StorageError::Conflict(format!(
                        "{unsuited} SCEP profiles use this profile as their root certificate, \
                         and cannot use a {} root",
                        profile.platform
                    )));
                }
                transaction.commit().await?;
                updated.try_into()
            }

            async fn delete_trusted_profile(
                &self,
                id: Uuid,
                expected_version: Option<i64>,
            ) -> Result<(), StorageError> {
                let mut transaction = self.pool.begin().await?;
                let dependents = sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM scep_certificate_profiles WHERE root_certificate_id = $1",
                )
                .bind(id)
                .fetch_one(&mut *transaction)
                .await?;
                if dependents > 0 {
                    return Err(StorageError::Conflict(format!(
                        "{dependents} SCEP profile(s) use this profile as their root certificate; \
                         change or delete them first"
                    )));
                }
                let deleted = sqlx::query(
                    "DELETE FROM trusted_certificate_profiles WHERE id = $1 AND ($2 IS NULL OR version = $2)",
                )
                .bind(id)
                .bind(expected_version)
                .execute(&mut *transaction)
                .await
                .map_err(|error| match StorageError::from(error) {
                    // A SCEP profile created meanwhile: the foreign key still says no.
                    StorageError::MissingReference => StorageError::Conflict(
                        "a SCEP profile uses this profile as its root certificate".to_owned(),
                    ),
                    other => other,
                })?;
                if deleted.rows_affected() == 0 {
                    return Err(Self::version_mismatch_or_missing(&mut *transaction, "trusted", id).await);
                }
                transaction.commit().await?;
                Ok(())
            }
        }

        #[async_trait]
        impl ScepProfileRepository for $store {
            async fn insert_scep_profile(
                &self,
                profile: &ScepCertificateProfile,
            ) -> Result<Record<ScepCertificateProfile>, StorageError> {
                sqlx::query_as::<_, ScepProfileRow>(
                    "INSERT INTO scep_certificate_profiles (id, version, created_at, modified_at, \
                     display_name, description, platform, root_certificate_id, settings, certificate_type) \
                     VALUES ($1, 1, $2, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
                )
                .bind(Uuid::now_v7())
                .bind(now())
                .bind(profile.display_name.as_str())
                .bind(profile.description.as_str())
                .bind(profile.platform.as_str())
                .bind(profile.root_certificate_id)
                .bind(Json(&profile.settings))
                .bind(profile.settings.certificate_type.as_str())
                .fetch_one(&self.pool)
                .await?
                .try_into()
            }

            async fn scep_profile(&self, id: Uuid) -> Result<Option<Record<ScepCertificateProfile>>, StorageError> {
                sqlx::query_as::<_, ScepProfileRow>("SELECT * FROM scep_certificate_profiles WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn list_scep_profiles(
                &self,
                filter: ProfileFilter,
                page: PageRequest,
            ) -> Result<Page<Record<ScepCertificateProfile>>, StorageError> {
                // Index: scep_certificate_profiles_platform_id (or the primary key unfiltered).
                let rows = sqlx::query_as::<_, ScepProfileRow>(
                    "SELECT * FROM scep_certificate_profiles \
                     WHERE ($1 IS NULL OR platform = $1) AND ($2 IS NULL OR id > $2) \
                     ORDER BY id LIMIT $3",
                )
                .bind(filter.platform.map(|platform| platform.as_str()))
                .bind(page.cursor.map(|cursor| cursor.last_id()))
                .bind(i64::from(page.limit) + 1)
                .fetch_all(&self.pool)
                .await?;
                let records = rows.into_iter().map(TryInto::try_into).collect::<Result<Vec<_>, _>>()?;
                Ok(Page::from_overfetched(records, page.limit, |record: &Record<_>| record.id))
            }

            async fn update_scep_profile(
                &self,
                id: Uuid,
                expected_version: i64,
                profile: &ScepCertificateProfile,
            ) -> Result<Record<ScepCertificateProfile>, StorageError> {
                let mut transaction = self.pool.begin().await?;
                let updated = sqlx::query_as::<_, ScepProfileRow>(
                    "UPDATE scep_certificate_profiles SET version = version + 1, modified_at = $3, \
                     display_name = $4, description = $5, platform = $6, root_certificate_id = $7, \
                     settings = $8, certificate_type = $9 WHERE id = $1 AND version = $2 RETURNING *",
                )
                .bind(id)
                .bind(expected_version)
                .bind(now())
                .bind(profile.display_name.as_str())
                .bind(profile.description.as_str())
                .bind(profile.platform.as_str())
                .bind(profile.root_certificate_id)
                .bind(Json(&profile.settings))
                .bind(profile.settings.certificate_type.as_str())
                .fetch_optional(&mut *transaction)
                .await?;
                let Some(updated) = updated else {
                    return Err(Self::version_mismatch_or_missing(&mut *transaction, "scep", id).await);
                };
                transaction.commit().await?;
                updated.try_into()
            }

            async fn delete_scep_profile(&self, id: Uuid, expected_version: Option<i64>) -> Result<(), StorageError> {
                let mut transaction = self.pool.begin().await?;
                let deleted = sqlx::query(
                    "DELETE FROM scep_certificate_profiles WHERE id = $1 AND ($2 IS NULL OR version = $2)",
                )
                .bind(id)
                .bind(expected_version)
                .execute(&mut *transaction)
                .await?;
                if deleted.rows_affected() == 0 {
                    return Err(Self::version_mismatch_or_missing(&mut *transaction, "scep", id).await);
                }
                transaction.commit().await?;
                Ok(())
            }
        }
      }
    };
}

pub(crate) use impl_profile_repositories;
