//! Table rows and their conversion to domain records. Stored values pass
//! through the domain's parsers again on the way out, so a hand-edited row
//! surfaces as [`StorageError::Corrupt`] instead of a bad payload.

use chrono::{DateTime, SubsecRound, Utc};
use scepter_domain::{
    scep_profile::ScepSettings,
    text::{CertFileName, Description, DisplayName},
    trusted_profile::DestinationStore,
    CaCertificate, Platform, Record, ScepCertificateProfile, TrustedCertificateProfile,
};
use serde::de::{value::StrDeserializer, DeserializeOwned, IntoDeserializer};
use sqlx::types::Json;
use uuid::Uuid;

use crate::StorageError;

/// Both backends keep microseconds (PostgreSQL's resolution), so a value
/// reads back exactly as it was written on either.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

#[derive(sqlx::FromRow)]
pub(crate) struct TrustedProfileRow {
    pub id: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub display_name: String,
    pub description: String,
    pub platform: String,
    pub cert_file_name: Option<String>,
    pub certificate_der: Vec<u8>,
    pub destination_store: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ScepProfileRow {
    pub id: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub display_name: String,
    pub description: String,
    pub platform: String,
    pub root_certificate_id: Uuid,
    pub settings: Json<ScepSettings>,
}

fn corrupt(id: Uuid, what: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("row {id}: {what}"))
}

/// Parses a stored enum by its serde (API) name.
fn parse_enum<T: DeserializeOwned>(id: Uuid, value: &str) -> Result<T, StorageError> {
    let deserializer: StrDeserializer<'_, serde::de::value::Error> = value.into_deserializer();
    T::deserialize(deserializer).map_err(|error| corrupt(id, error))
}

fn parse_platform(id: Uuid, value: &str) -> Result<Platform, StorageError> {
    value.parse().map_err(|error| corrupt(id, error))
}

impl TryFrom<TrustedProfileRow> for Record<TrustedCertificateProfile> {
    type Error = StorageError;

    fn try_from(row: TrustedProfileRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let content = TrustedCertificateProfile {
            display_name: DisplayName::try_from(row.display_name).map_err(|e| corrupt(id, e))?,
            description: Description::try_from(row.description).map_err(|e| corrupt(id, e))?,
            platform: parse_platform(id, &row.platform)?,
            cert_file_name: row
                .cert_file_name
                .map(CertFileName::try_from)
                .transpose()
                .map_err(|e| corrupt(id, e))?,
            certificate: CaCertificate::from_der(&row.certificate_der).map_err(|e| corrupt(id, e))?,
            destination_store: row
                .destination_store
                .as_deref()
                .map(|store| parse_enum::<DestinationStore>(id, store))
                .transpose()?,
        };
        Ok(Record {
            id,
            version: row.version,
            created_at: row.created_at,
            modified_at: row.modified_at,
            content,
        })
    }
}

impl TryFrom<ScepProfileRow> for Record<ScepCertificateProfile> {
    type Error = StorageError;

    fn try_from(row: ScepProfileRow) -> Result<Self, Self::Error> {
        let id = row.id;
        let content = ScepCertificateProfile {
            display_name: DisplayName::try_from(row.display_name).map_err(|e| corrupt(id, e))?,
            description: Description::try_from(row.description).map_err(|e| corrupt(id, e))?,
            platform: parse_platform(id, &row.platform)?,
            root_certificate_id: row.root_certificate_id,
            settings: row.settings.0,
        };
        Ok(Record {
            id,
            version: row.version,
            created_at: row.created_at,
            modified_at: row.modified_at,
            content,
        })
    }
}
