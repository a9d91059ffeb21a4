//! Which unique key a write collided with, told the same way on both backends.
//!
//! PostgreSQL names the violated constraint ([`sqlx::error::DatabaseError::constraint`]),
//! e.g. `users_external_id_key`: the default name `<table>_<columns>_key` of
//! the `UNIQUE` constraints in `migrations/postgres/`. SQLite does not: sqlx's
//! `SqliteError` has no constraint name (`constraint()` is `None`), and its
//! extended result code only says *unique* or *primary key*, never which one.
//! The one place that names it is SQLite's message, `UNIQUE constraint failed:
//! <table>.<column>[, <table>.<column>…]`, so [`constraint_name`] turns that
//! column list into the name PostgreSQL would report, and both backends go
//! through the one table in [`UniqueKey::from_constraint`]. The migrations of
//! both backends declare these constraints inline (`UNIQUE` on a column or a
//! column list), which is what keeps the two spellings in step.

use std::borrow::Cow;

/// A unique key of the schema that a write can collide with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UniqueKey {
    /// `users.user_principal_name_key` (the case-folded UPN).
    UserPrincipalName,
    UserExternalId,
    DeviceExternalId,
    GroupExternalId,
    /// `(profile_id, group_id)` of either assignment table.
    Assignment,
    CertificateThumbprint,
    /// `(issuer, serial_number)` of the certificate ledger.
    CertificateSerial,
    /// A key none of the above names (a primary key, say).
    Other,
}

impl UniqueKey {
    /// The key behind a constraint name as PostgreSQL spells it.
    fn from_constraint(name: &str) -> Self {
        match name {
            "users_user_principal_name_key_key" => UniqueKey::UserPrincipalName,
            "users_external_id_key" => UniqueKey::UserExternalId,
            "devices_external_id_key" => UniqueKey::DeviceExternalId,
            "directory_groups_external_id_key" => UniqueKey::GroupExternalId,
            "trusted_profile_assignments_profile_id_group_id_key"
            | "scep_profile_assignments_profile_id_group_id_key" => UniqueKey::Assignment,
            "issued_certificates_thumbprint_sha1_key" => UniqueKey::CertificateThumbprint,
            "issued_certificates_issuer_serial_number_key" => UniqueKey::CertificateSerial,
            _ => UniqueKey::Other,
        }
    }
}

/// `Some(key)` when `error` is a unique violation, `None` for any other error.
pub(crate) fn unique_violation(error: &sqlx::Error) -> Option<UniqueKey> {
    let database_error = error
        .as_database_error()
        .filter(|error| error.is_unique_violation())?;
    Some(
        match constraint_name(database_error.constraint(), database_error.message()) {
            Some(name) => UniqueKey::from_constraint(&name),
            None => UniqueKey::Other,
        },
    )
}

/// The violated constraint's name: the one the backend reports (PostgreSQL),
/// else the one PostgreSQL would give it, read from SQLite's message.
fn constraint_name<'a>(reported: Option<&'a str>, message: &str) -> Option<Cow<'a, str>> {
    if let Some(name) = reported {
        return Some(Cow::Borrowed(name));
    }
    let columns = message.strip_prefix("UNIQUE constraint failed: ")?;
    let mut table = None;
    let mut name = String::new();
    for qualified in columns.split(", ") {
        let (own_table, column) = qualified.split_once('.')?;
        if *table.get_or_insert(own_table) != own_table {
            return None;
        }
        name.push('_');
        name.push_str(column);
    }
    Some(Cow::Owned(format!("{}{name}_key", table?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_name_the_constraint_postgresql_reports() {
        for (message, expected) in [
            (
                "UNIQUE constraint failed: users.external_id",
                "users_external_id_key",
            ),
            (
                "UNIQUE constraint failed: users.user_principal_name_key",
                "users_user_principal_name_key_key",
            ),
            (
                "UNIQUE constraint failed: issued_certificates.issuer, issued_certificates.serial_number",
                "issued_certificates_issuer_serial_number_key",
            ),
        ] {
            assert_eq!(
                constraint_name(None, message).as_deref(),
                Some(expected),
                "{message}"
            );
        }
        assert_eq!(constraint_name(None, "database is locked"), None);
        assert_eq!(
            constraint_name(Some("devices_external_id_key"), "ignored").as_deref(),
            Some("devices_external_id_key")
        );
    }

    #[test]
    fn constraint_names_map_to_keys() {
        assert_eq!(
            UniqueKey::from_constraint("users_external_id_key"),
            UniqueKey::UserExternalId
        );
        assert_eq!(
            UniqueKey::from_constraint("scep_profile_assignments_profile_id_group_id_key"),
            UniqueKey::Assignment
        );
        assert_eq!(UniqueKey::from_constraint("users_pkey"), UniqueKey::Other);
    }
}
