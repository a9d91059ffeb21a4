//! The directory Scepter targets: users, devices and the groups that hold them
//! (seed: "You can assign certificate profiles to user collections or to device
//! collections"). Attribute names follow Microsoft Graph's `user` and
//! `managedDevice` so a directory sync maps one to one.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    platform::Platform,
    text::{check_max_chars, check_single_line},
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
    check_single_line(field, &value, max_chars)?;
    Ok(value)
}

fn optional_attribute(
    field: &str,
    value: Option<String>,
    max_chars: usize,
) -> Result<Option<String>, FieldError> {
    value.map(|value| attribute(field, value, max_chars)).transpose()
}

/// The id of a user, device or group in the source directory or system.
fn parse_external_id(value: Option<String>) -> Result<Option<String>, FieldError> {
    optional_attribute("externalId", value, MAX_ATTRIBUTE_CHARS)
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
    /// The on-premises Active Directory SID synced by Entra Connect, `S-1-5-21-…`;
    /// feeds `{{OnPremisesSecurityIdentifier}}` and the KB5014754 strong mapping.
    #[serde(default)]
    pub on_premises_security_identifier: Option<String>,
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
    pub on_premises_security_identifier: Option<String>,
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
        let on_premises_security_identifier = errors.collect(
            draft
                .on_premises_security_identifier
                .map(parse_security_identifier)
                .transpose(),
        );
        let external_id = errors.collect(parse_external_id(draft.external_id));
        errors.finish(|| {
            Some(Self {
                user_principal_name: user_principal_name?,
                display_name: display_name?,
                mail: mail?,
                on_premises_distinguished_name: on_premises_distinguished_name?,
                on_premises_sam_account_name: on_premises_sam_account_name?,
                on_premises_security_identifier: on_premises_security_identifier?,
                external_id: external_id?,
            })
        })
    }

    /// The key UPN uniqueness is decided on: UPNs compare case-insensitively.
    pub fn principal_name_key(&self) -> String {
        self.user_principal_name.to_lowercase()
    }
}

/// A Windows security identifier in its string form (MS-DTYP 2.4.2.1):
/// `S-1-`, a 48-bit identifier authority, then up to 15 32-bit
/// sub-authorities, all decimal. It ends up verbatim in a certificate's
/// strong-mapping SAN, so nothing else may pass.
fn parse_security_identifier(value: String) -> Result<String, FieldError> {
    const FIELD: &str = "onPremisesSecurityIdentifier";
    const MAX_SUB_AUTHORITIES: usize = 15;
    check_max_chars(FIELD, &value, MAX_ATTRIBUTE_CHARS)?;
    let decimal = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let valid = value.strip_prefix("S-1-").is_some_and(|rest| {
        let mut parts = rest.split('-');
        let authority_ok = parts
            .next()
            .is_some_and(|part| decimal(part) && part.parse::<u64>().is_ok_and(|n| n < 1 << 48));
        let subs: Vec<&str> = parts.collect();
        authority_ok
            && subs.len() <= MAX_SUB_AUTHORITIES
            && subs
                .iter()
                .all(|part| decimal(part) && part.parse::<u32>().is_ok())
    });
    if valid {
        Ok(value)
    } else {
        Err(FieldError::new(
            FIELD,
            "format",
            "must be a security identifier such as S-1-5-21-3623811015-3361044348-30300820-1013",
        ))
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
    /// 14 hexadecimal digits (CDMA phones); stored in upper case.
    #[serde(default)]
    pub meid: Option<String>,
    /// `AA:BB:CC:DD:EE:FF`, `AA-BB-CC-DD-EE-FF` or `AABBCCDDEEFF`; stored as `AA:BB:CC:DD:EE:FF`.
    #[serde(default, rename = "wiFiMacAddress")]
    pub wifi_mac_address: Option<String>,
    /// The device's DNS name, e.g. `jane-laptop.corp.contoso.example`.
    #[serde(default)]
    pub fully_qualified_domain_name: Option<String>,
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
    pub meid: Option<String>,
    pub wifi_mac_address: Option<String>,
    pub fully_qualified_domain_name: Option<String>,
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
        let meid = errors.collect(draft.meid.map(parse_meid).transpose());
        let wifi_mac_address = errors.collect(draft.wifi_mac_address.map(parse_mac_address).transpose());
        let fully_qualified_domain_name = errors.collect(
            draft
                .fully_qualified_domain_name
                .map(parse_domain_name)
                .transpose(),
        );
        let external_id = errors.collect(parse_external_id(draft.external_id));
        errors.finish(|| {
            Some(Self {
                device_name: device_name?,
                platform: draft.platform,
                os_version: os_version?,
                serial_number: serial_number?,
                imei: imei?,
                meid: meid?,
                wifi_mac_address: wifi_mac_address?,
                fully_qualified_domain_name: fully_qualified_domain_name?,
                azure_ad_device_id: draft.azure_ad_device_id,
                user_id: draft.user_id,
                external_id: external_id?,
            })
        })
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

/// Mobile Equipment Identifier (3GPP2 S.R0048): 14 hexadecimal digits,
/// upper-cased so one device has one spelling in every subject.
fn parse_meid(value: String) -> Result<String, FieldError> {
    if value.len() == 14 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_uppercase())
    } else {
        Err(FieldError::new("meid", "format", "must be 14 hexadecimal digits"))
    }
}

/// A 48-bit MAC address in any of the spellings inventories use (Graph
/// writes `AABBCCDDEEFF`, Windows `AA-BB-…`, Apple `aa:bb:…`), stored in
/// one canonical form, `AA:BB:CC:DD:EE:FF`.
fn parse_mac_address(value: String) -> Result<String, FieldError> {
    let hex_pair = |pair: &[u8]| pair.len() == 2 && pair.iter().all(u8::is_ascii_hexdigit);
    let bytes = value.as_bytes();
    let pairs: Option<Vec<&[u8]>> = match bytes.len() {
        12 => Some(bytes.chunks(2).collect()),
        17 => [b':', b'-'].into_iter().find_map(|separator| {
            let pairs: Vec<&[u8]> = bytes.split(|&b| b == separator).collect();
            (pairs.len() == 6).then_some(pairs)
        }),
        _ => None,
    };
    match pairs {
        Some(pairs) if pairs.iter().all(|pair| hex_pair(pair)) => Ok(pairs
            .iter()
            .map(|pair| String::from_utf8_lossy(pair).to_ascii_uppercase())
            .collect::<Vec<_>>()
            .join(":")),
        _ => Err(FieldError::new(
            "wiFiMacAddress",
            "format",
            "must be six hexadecimal pairs: AA:BB:CC:DD:EE:FF, AA-BB-CC-DD-EE-FF or AABBCCDDEEFF",
        )),
    }
}

/// A DNS host name (RFC 1123 §2.1): dot-separated labels of 1–63 ASCII
/// letters, digits and hyphens, not starting or ending with a hyphen, at
/// most 253 characters in all, without a trailing dot. It may become a DNS
/// subject alternative name, where anything else is invalid.
fn parse_domain_name(value: String) -> Result<String, FieldError> {
    const FIELD: &str = "fullyQualifiedDomainName";
    const MAX_NAME_CHARS: usize = 253;
    const MAX_LABEL_CHARS: usize = 63;
    check_max_chars(FIELD, &value, MAX_NAME_CHARS)?;
    let valid_label = |label: &str| {
        (1..=MAX_LABEL_CHARS).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if value.split('.').all(valid_label) {
        Ok(value)
    } else {
        Err(FieldError::new(
            FIELD,
            "format",
            "must be a DNS name: labels of 1 to 63 letters, digits and inner hyphens, separated by dots",
        ))
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
        let external_id = errors.collect(parse_external_id(draft.external_id));
        errors.finish(|| {
            Some(Self {
                display_name: display_name?,
                description: description?,
                group_type: draft.group_type,
                external_id: external_id?,
            })
        })
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
