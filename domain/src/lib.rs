//! Scepter's domain: what a certificate profile is and which values are allowed.
//!
//! Everything here is pure — no I/O, no clocks (callers pass `now`), no async —
//! so every rule can be unit-tested in isolation. Input arrives as a `*Draft`
//! (plain deserialised JSON) and leaves as a validated type whose fields can
//! no longer hold a bad value; the API and storage layers only ever hold the
//! validated types.

pub mod audit;
pub mod certificate;
pub mod certificate_type;
pub mod challenge;
pub mod checkin;
pub mod csr;
pub mod device_credential;
pub mod device_status;
pub mod diagnostics;
pub mod directory;
pub mod enrollment;
pub mod enrollment_timeline;
pub mod impact;
pub mod issued_certificate;
pub mod payload;
pub mod platform;
pub mod record;
pub mod render;
pub mod retention;
pub mod scep_profile;
pub mod subject_name;
pub mod targeting;
pub mod text;
pub mod trusted_profile;
pub mod validation;

pub use certificate::{CaCertificate, CertificateDetails, CertificateError};
pub use platform::Platform;
pub use record::Record;
pub use scep_profile::{ScepCertificateProfile, ScepCertificateProfileDraft, ScepProfileContext};
pub use trusted_profile::{TrustedCertificateProfile, TrustedCertificateProfileDraft};
pub use validation::{FieldError, ValidationErrors};
