//! Trusted and SCEP certificate profiles.

use super::VersionedTable;

pub(crate) const TRUSTED_PROFILES: VersionedTable = VersionedTable {
    version: "SELECT version FROM trusted_certificate_profiles WHERE id = $1",
    delete: "DELETE FROM trusted_certificate_profiles WHERE id = $1 AND ($2 IS NULL OR version = $2)",
};

pub(crate) const SCEP_PROFILES: VersionedTable = VersionedTable {
    version: "SELECT version FROM scep_certificate_profiles WHERE id = $1",
    delete: "DELETE FROM scep_certificate_profiles WHERE id = $1 AND ($2 IS NULL OR version = $2)",
};

/// `$1` id, `$2` now, then [`bind_trusted_profile!`]'s `$3`–`$9`.
pub(crate) const INSERT_TRUSTED: &str = "INSERT INTO trusted_certificate_profiles (id, version, \
     created_at, modified_at, display_name, description, platform, cert_file_name, certificate_der, \
     destination_store, issuing_certificates_der) VALUES ($1, 1, $2, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *";

pub(crate) const SELECT_TRUSTED: &str = "SELECT * FROM trusted_certificate_profiles WHERE id = $1";

/// `$1` platform or `NULL`, `$2` keyset, `$3` limit. Index:
/// trusted_certificate_profiles_platform_id (or the primary key unfiltered).
pub(crate) const LIST_TRUSTED: &str = "SELECT * FROM trusted_certificate_profiles \
     WHERE ($1 IS NULL OR platform = $1) AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3";

/// `$1` id, `$2` expected version, `$3` now, then [`bind_trusted_profile!`]'s `$4`–`$10`.
pub(crate) const UPDATE_TRUSTED: &str = "UPDATE trusted_certificate_profiles SET version = version + 1, \
     modified_at = $3, display_name = $4, description = $5, platform = $6, cert_file_name = $7, \
     certificate_der = $8, destination_store = $9, issuing_certificates_der = $10 \
     WHERE id = $1 AND version = $2 RETURNING *";

/// The platforms of the SCEP profiles rooted in `$1`. Index: scep_certificate_profiles_root.
pub(crate) const DEPENDENT_PLATFORMS: &str =
    "SELECT DISTINCT platform FROM scep_certificate_profiles WHERE root_certificate_id = $1";

pub(crate) const COUNT_DEPENDENTS: &str =
    "SELECT COUNT(*) FROM scep_certificate_profiles WHERE root_certificate_id = $1";

/// `$1` id, `$2` now, then [`bind_scep_profile!`]'s `$3`–`$8`.
pub(crate) const INSERT_SCEP: &str = "INSERT INTO scep_certificate_profiles (id, version, created_at, \
     modified_at, display_name, description, platform, root_certificate_id, settings, certificate_type) \
     VALUES ($1, 1, $2, $2, $3, $4, $5, $6, $7, $8) RETURNING *";

pub(crate) const SELECT_SCEP: &str = "SELECT * FROM scep_certificate_profiles WHERE id = $1";

/// As [`LIST_TRUSTED`]. Index: scep_certificate_profiles_platform_id (or the primary key unfiltered).
pub(crate) const LIST_SCEP: &str = "SELECT * FROM scep_certificate_profiles \
     WHERE ($1 IS NULL OR platform = $1) AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3";

/// `$1` id, `$2` expected version, `$3` now, then [`bind_scep_profile!`]'s `$4`–`$9`.
pub(crate) const UPDATE_SCEP: &str = "UPDATE scep_certificate_profiles SET version = version + 1, \
     modified_at = $3, display_name = $4, description = $5, platform = $6, root_certificate_id = $7, \
     settings = $8, certificate_type = $9 WHERE id = $1 AND version = $2 RETURNING *";

/// Binds a trusted profile's columns (7) in the order the statements above list them.
macro_rules! bind_trusted_profile {
    ($query:expr, $profile:expr) => {
        $query
            .bind($profile.display_name.as_str())
            .bind($profile.description.as_str())
            .bind($profile.platform.as_str())
            .bind($profile.cert_file_name.as_ref().map(|name| name.as_str()))
            .bind($profile.certificate.der())
            .bind($profile.destination_store.map(|store| store.as_str()))
            .bind($crate::rows::concatenated_der(&$profile.issuing_certificates))
    };
}

/// Binds a SCEP profile's columns (6) in the order the statements above list them.
macro_rules! bind_scep_profile {
    ($query:expr, $profile:expr) => {
        $query
            .bind($profile.display_name.as_str())
            .bind($profile.description.as_str())
            .bind($profile.platform.as_str())
            .bind($profile.root_certificate_id)
            .bind(sqlx::types::Json(&$profile.settings))
            .bind($profile.settings.certificate_type.as_str())
    };
}

pub(crate) use {bind_scep_profile, bind_trusted_profile};

/// The conflict when a trusted profile moves to a platform that a SCEP
/// profile rooted in it cannot use, if any of `dependent_platforms` is one.
/// The rule is the domain's; the SQL only gathers the facts.
pub(crate) fn unsuited_root(
    dependent_platforms: &[String],
    platform: scepter_domain::Platform,
) -> Option<crate::StorageError> {
    let unsuited = dependent_platforms.iter().find(|dependent| {
        dependent
            .parse::<scepter_domain::Platform>()
            .map_or(true, |dependent| !dependent.accepts_root_from(platform))
    })?;
    Some(crate::StorageError::Conflict(format!(
        "{unsuited} SCEP profiles use this profile as their root certificate, and cannot use a {platform} root"
    )))
}

macro_rules! impl_profile_repositories {
    ($store:ident, $db:ty) => {
        mod profile_repositories {
            use async_trait::async_trait;
            use scepter_domain::{Record, ScepCertificateProfile, TrustedCertificateProfile};
            use uuid::Uuid;

            use super::{fetch, versioned, $store};
            use crate::{
                rows::{now, ScepProfileRow, TrustedProfileRow},
                sql::profiles::*,
                NewAuditEntry, Page, PageRequest, ProfileFilter, ScepProfileRepository, StorageError,
                TrustedProfileRepository,
            };

            type Connection = <$db as sqlx::Database>::Connection;

            /// A SCEP profile's replacement, in the caller's transaction
            /// (the real write's, or a dry run's that is rolled back).
            pub(super) async fn update_scep(
                connection: &mut Connection,
                id: Uuid,
                expected_version: i64,
                profile: &ScepCertificateProfile,
                audit: &NewAuditEntry,
            ) -> Result<Record<ScepCertificateProfile>, StorageError> {
                let query = sqlx::query_as::<_, ScepProfileRow>(UPDATE_SCEP)
                    .bind(id)
                    .bind(expected_version)
                    .bind(now());
                let row = bind_scep_profile!(query, profile)
                    .fetch_optional(&mut *connection)
                    .await?;
                versioned::updated(row, connection, &SCEP_PROFILES, id, audit)
                    .await?
                    .try_into()
            }

            /// A trusted profile's replacement, in the caller's transaction
            /// (the real write's, or a dry run's that is rolled back).
            pub(super) async fn update_trusted(
                connection: &mut Connection,
                id: Uuid,
                expected_version: i64,
                profile: &TrustedCertificateProfile,
                audit: &NewAuditEntry,
            ) -> Result<Record<TrustedCertificateProfile>, StorageError> {
                let query = sqlx::query_as::<_, TrustedProfileRow>(UPDATE_TRUSTED)
                    .bind(id)
                    .bind(expected_version)
                    .bind(now());
                let row = bind_trusted_profile!(query, profile)
                    .fetch_optional(&mut *connection)
                    .await?;
                let updated = versioned::updated(row, connection, &TRUSTED_PROFILES, id, audit).await?;
                // Known window: on PostgreSQL a SCEP profile inserted concurrently with another
                // platform is not blocked by this row's lock (its foreign key takes KEY SHARE).
                let dependent_platforms = sqlx::query_scalar::<_, String>(DEPENDENT_PLATFORMS)
                    .bind(id)
                    .fetch_all(&mut *connection)
                    .await?;
                if let Some(conflict) = unsuited_root(&dependent_platforms, profile.platform) {
                    return Err(conflict);
                }
                updated.try_into()
            }

            /// A trusted profile's deletion, in the caller's transaction:
            /// refused while a SCEP profile uses it as its root.
            pub(super) async fn delete_trusted(
                connection: &mut Connection,
                id: Uuid,
                expected_version: Option<i64>,
                audit: &NewAuditEntry,
            ) -> Result<(), StorageError> {
                let dependents = sqlx::query_scalar::<_, i64>(COUNT_DEPENDENTS)
                    .bind(id)
                    .fetch_one(&mut *connection)
                    .await?;
                if dependents > 0 {
                    return Err(StorageError::Conflict(format!(
                        "{dependents} SCEP profile(s) use this profile as their root certificate; \
                         change or delete them first"
                    )));
                }
                versioned::delete(connection, &TRUSTED_PROFILES, id, expected_version, audit)
                    .await
                    .map_err(|error| match error {
                        // A SCEP profile created meanwhile: the foreign key still says no.
                        StorageError::MissingReference => StorageError::Conflict(
                            "a SCEP profile uses this profile as its root certificate".to_owned(),
                        ),
                        other => other,
                    })
            }

            #[async_trait]
            impl TrustedProfileRepository for $store {
                async fn insert_trusted_profile(
                    &self,
                    profile: &TrustedCertificateProfile,
                    audit: &NewAuditEntry,
                ) -> Result<Record<TrustedCertificateProfile>, StorageError> {
                    let id = Uuid::now_v7();
                    let mut transaction = self.pool.begin().await?;
                    let query = sqlx::query_as::<_, TrustedProfileRow>(INSERT_TRUSTED)
                        .bind(id)
                        .bind(now());
                    let row = bind_trusted_profile!(query, profile)
                        .fetch_one(&mut *transaction)
                        .await?;
                    versioned::audited(&mut transaction, audit, id).await?;
                    transaction.commit().await?;
                    row.try_into()
                }

                async fn trusted_profile(
                    &self,
                    id: Uuid,
                ) -> Result<Option<Record<TrustedCertificateProfile>>, StorageError> {
                    fetch::one::<TrustedProfileRow, _>(&self.pool, SELECT_TRUSTED, id).await
                }

                async fn list_trusted_profiles(
                    &self,
                    filter: ProfileFilter,
                    page: PageRequest,
                ) -> Result<Page<Record<TrustedCertificateProfile>>, StorageError> {
                    let rows = sqlx::query_as::<_, TrustedProfileRow>(LIST_TRUSTED)
                        .bind(filter.platform.map(|platform| platform.as_str()))
                        .bind(page.after())
                        .bind(page.fetch_limit())
                        .fetch_all(&self.pool)
                        .await?;
                    Page::from_rows(rows, page, |record: &Record<_>| record.id)
                }

                async fn update_trusted_profile(
                    &self,
                    id: Uuid,
                    expected_version: i64,
                    profile: &TrustedCertificateProfile,
                    audit: &NewAuditEntry,
                ) -> Result<Record<TrustedCertificateProfile>, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let updated =
                        update_trusted(&mut transaction, id, expected_version, profile, audit).await?;
                    transaction.commit().await?;
                    Ok(updated)
                }

                async fn delete_trusted_profile(
                    &self,
                    id: Uuid,
                    expected_version: Option<i64>,
                    audit: &NewAuditEntry,
                ) -> Result<(), StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    delete_trusted(&mut transaction, id, expected_version, audit).await?;
                    transaction.commit().await?;
                    Ok(())
                }
            }

            #[async_trait]
            impl ScepProfileRepository for $store {
                async fn insert_scep_profile(
                    &self,
                    profile: &ScepCertificateProfile,
                    audit: &NewAuditEntry,
                ) -> Result<Record<ScepCertificateProfile>, StorageError> {
                    let id = Uuid::now_v7();
                    let mut transaction = self.pool.begin().await?;
                    let query = sqlx::query_as::<_, ScepProfileRow>(INSERT_SCEP)
                        .bind(id)
                        .bind(now());
                    let row = bind_scep_profile!(query, profile)
                        .fetch_one(&mut *transaction)
                        .await?;
                    versioned::audited(&mut transaction, audit, id).await?;
                    transaction.commit().await?;
                    row.try_into()
                }

                async fn scep_profile(
                    &self,
                    id: Uuid,
                ) -> Result<Option<Record<ScepCertificateProfile>>, StorageError> {
                    fetch::one::<ScepProfileRow, _>(&self.pool, SELECT_SCEP, id).await
                }

                async fn list_scep_profiles(
                    &self,
                    filter: ProfileFilter,
                    page: PageRequest,
                ) -> Result<Page<Record<ScepCertificateProfile>>, StorageError> {
                    let rows = sqlx::query_as::<_, ScepProfileRow>(LIST_SCEP)
                        .bind(filter.platform.map(|platform| platform.as_str()))
                        .bind(page.after())
                        .bind(page.fetch_limit())
                        .fetch_all(&self.pool)
                        .await?;
                    Page::from_rows(rows, page, |record: &Record<_>| record.id)
                }

                async fn update_scep_profile(
                    &self,
                    id: Uuid,
                    expected_version: i64,
                    profile: &ScepCertificateProfile,
                    audit: &NewAuditEntry,
                ) -> Result<Record<ScepCertificateProfile>, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let updated = update_scep(&mut transaction, id, expected_version, profile, audit).await?;
                    transaction.commit().await?;
                    Ok(updated)
                }

                async fn delete_scep_profile(
                    &self,
                    id: Uuid,
                    expected_version: Option<i64>,
                    audit: &NewAuditEntry,
                ) -> Result<(), StorageError> {
                    versioned::delete_alone(&self.pool, &SCEP_PROFILES, id, expected_version, audit).await
                }
            }
        }
    };
}

pub(crate) use impl_profile_repositories;
