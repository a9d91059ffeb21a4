//! SCEP challenges: the one-time password a device puts in its certificate
//! request to prove the profile server sent it (seed: the connector's
//! "client challenge", events 20500–20502).
//!
//! The one idea: a challenge is a *signed token*, not a database row. Issuing
//! one happens on every device check-in, so it must cost no write; instead the
//! token carries its own claims — which device, which profile and profile
//! version, which exact subject and SANs (as a SHA-256 digest), and when it
//! expires — authenticated with HMAC-SHA256 under a [`ChallengeKey`] that is
//! separate from the admin JWT key, so leaking one cannot forge the other.
//! [`verify`] checks signature and expiry without I/O; *single use* is the
//! caller's second step: the storage layer records each verified
//! [`ChallengeClaims::id`] in a ledger of used ids (kept until the claim's
//! `expires_at`, after which [`verify`] rejects the token anyway) and refuses
//! an id it has already seen.
//!
//! Wire format (version 1), standard base64 with `=` padding of
//!
//! ```text
//! version (1) | id (16) | device_id (16) | profile_id (16) | name_digest (32)
//!   | issued_at (i64, big-endian, 8) | profile_version (zigzag LEB128)
//!   | expires_at − issued_at (zigzag LEB128) | HMAC-SHA256 tag, first 16 bytes
//! ```
//!
//! which is 108 bytes, 144 characters, for a realistic profile version and
//! lifetime. Standard base64 rather than URL-safe: the challenge travels in
//! an ASN.1 `PrintableString` on Windows, which has `+`, `/` and `=` but no
//! `_`, and the payload validator expects standard base64. A 128-bit
//! truncated tag is what RFC 2104 §5 allows and leaves forgery at 2⁻¹²⁸ per
//! attempt.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    diagnostics::{DiagnosticCode, EventId},
    scep_profile::SanType,
    subject_name::ExpandedName,
};

type HmacSha256 = Hmac<Sha256>;

/// How long a challenge stays valid unless the caller chooses otherwise (the issue: 60 minutes).
pub const DEFAULT_LIFETIME_SECONDS: i64 = 60 * 60;

/// The fewest key bytes accepted: HMAC-SHA256's output size (RFC 2104 §3).
pub const MIN_KEY_LEN: usize = 32;

const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// version, three UUIDs, the digest and `issued_at`.
const FIXED_LEN: usize = 1 + 16 * 3 + 32 + 8;
/// A zigzag LEB128 `i64` takes at most ten bytes.
const MAX_VARINT_LEN: usize = 10;
const MAX_DECODED_LEN: usize = FIXED_LEN + 2 * MAX_VARINT_LEN + TAG_LEN;
/// Longer input cannot be a token; refused before decoding anything.
const MAX_TOKEN_CHARS: usize = MAX_DECODED_LEN.div_ceil(3) * 4;
/// Separates this digest from any other SHA-256 over similar bytes.
const NAME_DIGEST_DOMAIN: &[u8] = b"scepter/challenge/name/v1";

/// The secret challenges are signed with; its bytes never leave this type.
#[derive(Clone)]
pub struct ChallengeKey(HmacSha256);

/// Why a challenge key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeKeyError {
    #[error("the challenge key must be at least {MIN_KEY_LEN} bytes, got {0}")]
    TooShort(usize),
}

impl ChallengeKey {
    /// Accepts a key of at least [`MIN_KEY_LEN`] bytes, e.g. 32 random bytes from configuration.
    pub fn new(bytes: &[u8]) -> Result<Self, ChallengeKeyError> {
        if bytes.len() < MIN_KEY_LEN {
            return Err(ChallengeKeyError::TooShort(bytes.len()));
        }
        // HMAC accepts keys of any length, so this never fails; the error is mapped rather
        // than unwrapped to keep the constructor panic-free.
        HmacSha256::new_from_slice(bytes)
            .map(Self)
            .map_err(|_| ChallengeKeyError::TooShort(bytes.len()))
    }
}

impl std::fmt::Debug for ChallengeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChallengeKey(<redacted>)")
    }
}

/// What a challenge vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeClaims {
    /// Random (v4); the key of the used-challenge ledger that makes a challenge single-use.
    pub id: Uuid,
    pub device_id: Uuid,
    pub profile_id: Uuid,
    /// The profile's `Record::version` when the challenge was issued.
    pub profile_version: i64,
    /// [`name_digest`] of the subject and SANs the certificate request must carry.
    pub name_digest: [u8; 32],
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds; the challenge is valid up to and including this second.
    pub expires_at: i64,
}

/// Why a challenge was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// Not base64, wrong length, unknown version or unreadable claims.
    #[error("the challenge could not be read")]
    Malformed,
    /// Well-formed, but not signed with this server's challenge key (forged, altered or from another key).
    #[error("the challenge's signature does not match")]
    BadSignature,
    /// Signed by us, but past its `expires_at`.
    #[error("the challenge has expired")]
    Expired,
}

impl ChallengeError {
    /// The seed's diagnostic code for this refusal.
    ///
    /// A bad signature reports `CRPSCEPDeserialize_Failed`, like garbage: the
    /// seed has no code for a forged challenge, and a device that sends one
    /// should learn no more than one that sends noise. The distinction stays
    /// in the server's own log via the error variant.
    pub fn diagnostic_code(self) -> DiagnosticCode {
        match self {
            Self::Malformed | Self::BadSignature => DiagnosticCode::CrpScepDeserializeFailed,
            Self::Expired => DiagnosticCode::CrpScepChallengeExpired,
        }
    }

    /// The seed's event for this refusal: an expired challenge is a rejected
    /// request (20501, whose related codes include `0x00000411`); the others
    /// are failures to verify (20502, related `0x00000410`).
    pub fn event_id(self) -> EventId {
        match self {
            Self::Malformed | Self::BadSignature => EventId::CrpVerifyMetricFailure,
            Self::Expired => EventId::CrpVerifyMetricWarning,
        }
    }
}

/// SHA-256 over a canonical encoding of the expected subject and SANs.
///
/// Every RDN, attribute and SAN is counted and every string is
/// length-prefixed, so two different names never encode alike — unlike the
/// printed `CN=a,OU=b` form, where a comma inside a value and a comma between
/// RDNs can coincide. The RDN order is kept: the request must carry the name
/// exactly as the profile expands it. What DER and the platforms treat as a
/// set is compared as one: the attributes inside a multi-valued RDN (a DER
/// `SET OF`, which encoders sort) and the list of SANs (Apple keeps them in a
/// dictionary by kind), so both are sorted before hashing.
pub fn name_digest(name: &ExpandedName) -> [u8; 32] {
    let mut hasher = Sha256::new();
    put_bytes(&mut hasher, NAME_DIGEST_DOMAIN);
    put_len(&mut hasher, name.subject.0.len());
    for rdn in &name.subject.0 {
        let mut attributes: Vec<(&str, &str)> = rdn
            .0
            .iter()
            .map(|attribute| (attribute.attribute.oid(), attribute.value.as_str()))
            .collect();
        attributes.sort_unstable();
        put_len(&mut hasher, attributes.len());
        for (oid, value) in attributes {
            put_bytes(&mut hasher, oid.as_bytes());
            put_bytes(&mut hasher, value.as_bytes());
        }
    }
    let mut sans: Vec<(u8, &str)> = name
        .subject_alternative_names
        .iter()
        .map(|san| (san_tag(san.san_type), san.value.as_str()))
        .collect();
    sans.sort_unstable();
    put_len(&mut hasher, sans.len());
    for (tag, value) in sans {
        hasher.update([tag]);
        put_bytes(&mut hasher, value.as_bytes());
    }
    hasher.finalize().into()
}

/// Signs `claims` into a token of standard-base64 characters.
pub fn issue(key: &ChallengeKey, claims: &ChallengeClaims) -> String {
    let mut bytes = Vec::with_capacity(MAX_DECODED_LEN);
    bytes.push(VERSION);
    bytes.extend_from_slice(claims.id.as_bytes());
    bytes.extend_from_slice(claims.device_id.as_bytes());
    bytes.extend_from_slice(claims.profile_id.as_bytes());
    bytes.extend_from_slice(&claims.name_digest);
    bytes.extend_from_slice(&claims.issued_at.to_be_bytes());
    put_varint(&mut bytes, claims.profile_version);
    // Wrapping keeps every pair of i64s representable; `verify` undoes it with a wrapping add.
    put_varint(&mut bytes, claims.expires_at.wrapping_sub(claims.issued_at));
    let mut mac = key.0.clone();
    mac.update(&bytes);
    let tag = mac.finalize().into_bytes();
    bytes.extend_from_slice(&tag[..TAG_LEN]);
    STANDARD.encode(bytes)
}

/// Checks `token`'s signature and expiry at `now` (unix seconds) and returns its claims.
///
/// The caller still has to compare the claims with the request (device,
/// profile version, [`name_digest`] of the requested name) and record
/// [`ChallengeClaims::id`] as used.
pub fn verify(key: &ChallengeKey, token: &str, now: i64) -> Result<ChallengeClaims, ChallengeError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(ChallengeError::Malformed);
    }
    let bytes = STANDARD.decode(token).map_err(|_| ChallengeError::Malformed)?;
    if bytes.len() < FIXED_LEN + 2 + TAG_LEN || bytes[0] != VERSION {
        return Err(ChallengeError::Malformed);
    }
    let (signed, tag) = bytes.split_at(bytes.len() - TAG_LEN);
    let mut mac = key.0.clone();
    mac.update(signed);
    // Constant-time comparison against the first TAG_LEN bytes of the full tag.
    mac.verify_truncated_left(tag)
        .map_err(|_| ChallengeError::BadSignature)?;
    let claims = parse_claims(signed).ok_or(ChallengeError::Malformed)?;
    if now > claims.expires_at {
        return Err(ChallengeError::Expired);
    }
    Ok(claims)
}

fn parse_claims(signed: &[u8]) -> Option<ChallengeClaims> {
    let mut reader = Reader(signed.get(1..)?);
    let id = Uuid::from_bytes(reader.array()?);
    let device_id = Uuid::from_bytes(reader.array()?);
    let profile_id = Uuid::from_bytes(reader.array()?);
    let name_digest = reader.array()?;
    let issued_at = i64::from_be_bytes(reader.array()?);
    let profile_version = reader.varint()?;
    let lifetime = reader.varint()?;
    if !reader.0.is_empty() {
        return None;
    }
    Some(ChallengeClaims {
        id,
        device_id,
        profile_id,
        profile_version,
        name_digest,
        issued_at,
        expires_at: issued_at.wrapping_add(lifetime),
    })
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    /// Zigzag LEB128; refuses overlong and non-minimal encodings so each value has one spelling.
    fn varint(&mut self) -> Option<i64> {
        let mut value: u64 = 0;
        for (index, &byte) in self.0.iter().enumerate().take(MAX_VARINT_LEN) {
            let payload = u64::from(byte & 0x7f);
            if index == MAX_VARINT_LEN - 1 && payload > 1 {
                return None;
            }
            value |= payload << (7 * index);
            if byte & 0x80 == 0 {
                if byte == 0 && index > 0 {
                    return None;
                }
                self.0 = &self.0[index + 1..];
                return Some(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        None
    }
}

fn put_varint(out: &mut Vec<u8>, value: i64) {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    while zigzag >= 0x80 {
        out.push((zigzag as u8 & 0x7f) | 0x80);
        zigzag >>= 7;
    }
    out.push(zigzag as u8);
}

fn put_len(hasher: &mut Sha256, len: usize) {
    hasher.update((len as u64).to_be_bytes());
}

fn put_bytes(hasher: &mut Sha256, bytes: &[u8]) {
    put_len(hasher, bytes.len());
    hasher.update(bytes);
}

/// Fixed per type so the digest cannot change when `SanType` is reordered.
fn san_tag(san_type: SanType) -> u8 {
    match san_type {
        SanType::EmailAddress => 1,
        SanType::UserPrincipalName => 2,
        SanType::DomainNameService => 3,
        SanType::UniversalResourceIdentifier => 4,
    }
}

#[cfg(test)]
mod tests;
