//! The directory Scepter targets: users, devices and the groups that hold them
//! (seed: "You can assign certificate profiles to user collections or to device
//! collections"). Attribute names follow Microsoft Graph's `user` and
//! `managedDevice` so a directory sync maps one to one.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    platform::Platform,
    text::is_forbidden_char,
    validation::{FieldError, ValidationErrors},
};

/// Longest value of any directory attribute (Graph allows 256 for most).
const MAX_ATTRIBUTE_CHARS: usize = 256;
/// Distinguished names nest and run longer.
const MAX_DISTINGUISHED_NAME_CHARS: usize = 1024;

/// A bounded, control-character-free attribute value. Every directory value
/// may end up in a certificate subject: newlines and other controls are
/// refused at the door, and the renderers still treat values as data.
fn attribute(field: &str, value: String, max_chars: usize) -> Result<String, FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "required", "must not be empty or blank"));
    }
    let length = value.chars().count();
    if length > max_chars {
        return Err(FieldError::new(
            field,
            "maxLength",
            format!("must be at most {max_chars} characters, got {length}"),
        ));
    }
    if value.chars().any(is_forbidden_char) {
        return Err(FieldError::new(
            field,
            "noControlCharacters",
            "must not contain control or invisible formatting characters",
        ));
    }
    Ok(value)
}

fn optional_attribute(
    field: &str,
    value: Option<String>,
    max_chars: usize,
) -> Result<Option<String>, FieldError> {
    value.map(|value| attribute(field, value, max_chars)).transpose()
}

/// `local@domain` with both parts present: the shape of a UPN and of a mail address.
fn at_address(field: &str, value: String) -> Result<String, FieldError> {
    let value = attribute(field, value, MAX_ATTRIBUTE_CHARS)?;
    match value.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !value.chars().any(char::is_whitespace) =>
        {
            Ok(value)
        }
        _ => Err(FieldError::new(
            field,
            "format",
            "must look like name@domain, without spaces",
        )),
    }
}

// ------------------------------------------------------------------ users

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserDraft {
    /// `name@domain`; unique, compared case-insensitively.
    pub user_principal_name: String,
    pub display_name: String,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub on_premises_distinguished_name: Option<String>,
    #[serde(default)]
    pub on_premises_sam_account_name: Option<String>,
    /// The user's id in the source directory; unique. Bulk import upserts by it.
    #[serde(default)]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub user_principal_name: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub on_premises_distinguished_name: Option<String>,
    pub on_premises_sam_account_name: Option<String>,
    pub external_id: Option<String>,
}

impl User {
    pub fn parse(draft: UserDraft) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let user_principal_name = errors.collect(at_address("userPrincipalName", draft.user_principal_name));
        let display_name = errors.collect(attribute("displayName", draft.display_name, MAX_ATTRIBUTE_CHARS));
        let mail = errors.collect(draft.mail.map(|mail| at_address("mail", mail)).transpose());
        let on_premises_distinguished_name = errors.collect(optional_attribute(
            "onPremisesDistinguishedName",
            draft.on_premises_distinguished_name,
            MAX_DISTINGUISHED_NAME_CHARS,
        ));
        let on_premises_sam_account_name = errors.collect(optional_attribute(
            "onPremisesSamAccountName",
            draft.on_premises_sam_account_name,
            MAX_ATTRIBUTE_CHARS,
        ));
        let external_id = errors.collect(optional_attribute(
            "externalId",
            draft.external_id,
            MAX_ATTRIBUTE_CHARS,
        ));
        match (
            user_principal_name,
            display_name,
            mail,
            on_premises_distinguished_name,
            on_premises_sam_account_name,
            external_id,
        ) {
            (Some(upn), Some(display_name), Some(mail), Some(dn), Some(sam), Some(external_id))
                if errors.is_empty() =>
            {
                Ok(Self {
                    user_principal_name: upn,
                    display_name,
                    mail,
                    on_premises_distinguished_name: dn,
                    on_premises_sam_account_name: sam,
                    external_id,
                })
            }
            _ => Err(errors),
        }
    }

    /// The key UPN uniqueness is decided on: UPNs compare case-insensitively.
    pub fn principal_name_key(&self) -> String {
        self.user_principal_name.to_lowercase()
    }
}

// ------------------------------------------------------------------ devices

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceDraft {
    pub device_name: String,
    pub platform: Platform,
    #[serde(default)]
    pub os_version: Option<String>,
    #[serde(default)]
    pub serial_number: Option<String>,
    /// 14–16 digits.
    #[serde(default)]
    pub imei: Option<String>,
    #[serde(default, rename = "azureADDeviceId")]
    pub azure_ad_device_id: Option<Uuid>,
    /// The primary user; must exist.
    #[serde(default)]
    pub user_id: Option<Uuid>,
    /// The device's id in the source system; unique. Bulk import upserts by it.
    #[serde(default)]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub device_name: String,
    pub platform: Platform,
    pub os_version: Option<String>,
    pub serial_number: Option<String>,
    pub imei: Option<String>,
    pub azure_ad_device_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub external_id: Option<String>,
}

impl Device {
    pub fn parse(draft: DeviceDraft) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let device_name = errors.collect(attribute("deviceName", draft.device_name, MAX_ATTRIBUTE_CHARS));
        let os_version = errors.collect(optional_attribute(
            "osVersion",
            draft.os_version,
            MAX_ATTRIBUTE_CHARS,
        ));
        let serial_number = errors.collect(optional_attribute(
            "serialNumber",
            draft.serial_number,
            MAX_ATTRIBUTE_CHARS,
        ));
        let imei = errors.collect(draft.imei.map(parse_imei).transpose());
        let external_id = errors.collect(optional_attribute(
            "externalId",
            draft.external_id,
            MAX_ATTRIBUTE_CHARS,
        ));
        match (device_name, os_version, serial_number, imei, external_id) {
            (Some(device_name), Some(os_version), Some(serial_number), Some(imei), Some(external_id))
                if errors.is_empty() =>
            {
                Ok(Self {
                    device_name,
                    platform: draft.platform,
                    os_version,
                    serial_number,
                    imei,
                    azure_ad_device_id: draft.azure_ad_device_id,
                    user_id: draft.user_id,
                    external_id,
                })
            }
            _ => Err(errors),
        }
    }
}

/// IMEI (15 digits) or IMEISV (16); 14 digits when stored without the check digit.
fn parse_imei(value: String) -> Result<String, FieldError> {
    if (14..=16).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value)
    } else {
        Err(FieldError::new("imei", "format", "must be 14 to 16 digits"))
    }
}

// ------------------------------------------------------------------ groups

/// What a group holds; fixed at creation (a group's members are all one kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GroupType {
    User,
    Device,
}

impl GroupType {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::User => "user",
            GroupType::Device => "device",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupDraft {
    pub display_name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `user` or `device`; cannot change after creation.
    pub group_type: GroupType,
    /// The group's id in the source directory; unique. Member import refers to it.
    #[serde(default)]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub display_name: String,
    pub description: Option<String>,
    pub group_type: GroupType,
    pub external_id: Option<String>,
}

impl Group {
    pub fn parse(draft: GroupDraft) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let display_name = errors.collect(attribute("displayName", draft.display_name, MAX_ATTRIBUTE_CHARS));
        let description = errors.collect(optional_attribute("description", draft.description, 1500));
        let external_id = errors.collect(optional_attribute(
            "externalId",
            draft.external_id,
            MAX_ATTRIBUTE_CHARS,
        ));
        match (display_name, description, external_id) {
            (Some(display_name), Some(description), Some(external_id)) if errors.is_empty() => Ok(Self {
                display_name,
                description,
                group_type: draft.group_type,
                external_id,
            }),
            _ => Err(errors),
        }
    }

    /// A replacement may change anything but the group's type.
    pub fn check_replacement(&self, replacement: &Group) -> Result<(), ValidationErrors> {
        if self.group_type != replacement.group_type {
            return Err(ValidationErrors::single(
                "groupType",
                "immutable",
                format!(
                    "cannot change from {} to {}: create a new group instead",
                    self.group_type.as_str(),
                    replacement.group_type.as_str()
                ),
            ));
        }
        Ok(())
    }
}

/// Most member ids one request may add (one transaction).
pub const MAX_MEMBERS_PER_REQUEST: usize = 10_000;

#[cfg(test)]
mod tests;
