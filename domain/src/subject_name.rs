//! Subject-name and subject-alternative-name templates (seed: "Subject name
//! format", "Subject alternative name").
//!
//! A template such as `CN={{UserName}},E={{EmailAddress}},OU=Mobile` is parsed
//! once, when the profile is saved, into typed RDNs whose values are sequences
//! of literal text and variables. Expanding it for one device and user yields
//! a structured [`Subject`]: substituted values are data placed inside an
//! attribute value, never text that is parsed again, so a user whose display
//! name contains `,` `+` `=` `"` or `{{` cannot add, split or change an RDN.
//! Each platform renderer then encodes the structured subject its own way.

use serde::{Deserialize, Serialize};

use crate::scep_profile::SanType;

/// An X.500 attribute type usable in a subject, with the keyword Windows'
/// CertStrToName accepts for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NameAttribute {
    /// CN, 2.5.4.3
    CommonName,
    /// E, 1.2.840.113549.1.9.1 (PKCS #9 emailAddress)
    Email,
    /// OU, 2.5.4.11
    OrganizationalUnit,
    /// O, 2.5.4.10
    Organization,
    /// L, 2.5.4.7
    Locality,
    /// ST (or S), 2.5.4.8
    State,
    /// C, 2.5.4.6 — exactly two letters
    Country,
    /// DC, 0.9.2342.19200300.100.1.25
    DomainComponent,
    /// STREET, 2.5.4.9
    Street,
    /// SERIALNUMBER, 2.5.4.5
    SerialNumber,
    /// T (or TITLE), 2.5.4.12
    Title,
    /// G (or GN, GivenName), 2.5.4.42
    GivenName,
    /// I (or Initials), 2.5.4.43
    Initials,
    /// SN, 2.5.4.4 (surname)
    Surname,
    /// UID, 0.9.2342.19200300.100.1.1
    UserId,
}

impl NameAttribute {
    pub fn oid(self) -> &'static str {
        match self {
            NameAttribute::CommonName => "2.5.4.3",
            NameAttribute::Email => "1.2.840.113549.1.9.1",
            NameAttribute::OrganizationalUnit => "2.5.4.11",
            NameAttribute::Organization => "2.5.4.10",
            NameAttribute::Locality => "2.5.4.7",
            NameAttribute::State => "2.5.4.8",
            NameAttribute::Country => "2.5.4.6",
            NameAttribute::DomainComponent => "0.9.2342.19200300.100.1.25",
            NameAttribute::Street => "2.5.4.9",
            NameAttribute::SerialNumber => "2.5.4.5",
            NameAttribute::Title => "2.5.4.12",
            NameAttribute::GivenName => "2.5.4.42",
            NameAttribute::Initials => "2.5.4.43",
            NameAttribute::Surname => "2.5.4.4",
            NameAttribute::UserId => "0.9.2342.19200300.100.1.1",
        }
    }

    /// The keyword Windows writes (CertNameToStr): `CN`, `E`, `OU`, `O`, `L`, `S`, `C`, …
    pub fn windows_keyword(self) -> &'static str {
        match self {
            NameAttribute::CommonName => "CN",
            NameAttribute::Email => "E",
            NameAttribute::OrganizationalUnit => "OU",
            NameAttribute::Organization => "O",
            NameAttribute::Locality => "L",
            NameAttribute::State => "S",
            NameAttribute::Country => "C",
            NameAttribute::DomainComponent => "DC",
            NameAttribute::Street => "STREET",
            NameAttribute::SerialNumber => "SERIALNUMBER",
            NameAttribute::Title => "T",
            NameAttribute::GivenName => "G",
            NameAttribute::Initials => "I",
            NameAttribute::Surname => "SN",
            NameAttribute::UserId => "UID",
        }
    }

    /// The type Apple's SCEP `Subject` array takes: the shortcuts C, L, ST, O,
    /// OU, CN, anything else as a dotted OID (com.apple.security.scep.yaml).
    pub fn apple_type(self) -> &'static str {
        match self {
            NameAttribute::Country => "C",
            NameAttribute::Locality => "L",
            NameAttribute::State => "ST",
            NameAttribute::Organization => "O",
            NameAttribute::OrganizationalUnit => "OU",
            NameAttribute::CommonName => "CN",
            other => other.oid(),
        }
    }
}

/// One attribute of an expanded subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeValue {
    pub attribute: NameAttribute,
    pub value: String,
}

/// A relative distinguished name: one attribute, or several joined with `+`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rdn(pub Vec<AttributeValue>);

/// An expanded subject, RDNs in the order the template lists them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subject(pub Vec<Rdn>);

/// An expanded subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandedSan {
    pub san_type: SanType,
    pub value: String,
}

/// What a device's certificate request must carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExpandedName {
    pub subject: Subject,
    pub subject_alternative_names: Vec<ExpandedSan>,
}
