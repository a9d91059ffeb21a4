//! Windows payloads: one OMA-DM 1.2 SyncML message per payload, for the
//! `ClientCertificateInstall` CSP (SCEP enrollment) and the
//! `RootCATrustedCertificates` CSP (trusted CA certificates).
//!
//! The one idea: a Windows payload is a list of commands against CSP nodes,
//! and every rule the device enforces is a rule about those nodes — their
//! path, their `Meta/Format` (from Microsoft's DDF, copied verbatim to
//! `tests/reference/windows/ddf/`), and the text format of their value.
//! This module builds that command list from validated settings and writes it
//! with quick-xml; CmdIDs are assigned while writing, in document order, so
//! they are unique by construction.
//!
//! A SCEP payload is, in this order:
//! 1. `Add …/RootCATrustedCertificates/{Root|CA}/{SHA-1}/EncodedCertificate`
//!    for the profile's root. It stays outside the `Atomic`: a device that
//!    already trusts the root answers 418 (already exists), and that must not
//!    roll back the enrollment.
//! 2. One `Atomic` with an `Add` per `ClientCertificateInstall/SCEP/{UniqueID}/Install/…`
//!    setting and `Exec …/Install/Enroll` last — the CSP requires both
//!    ("SCEP settings wrapped in Atomic, with the Enroll Exec last").
//! 3. `Final`.
//!
//! Decisions worth knowing (each node's doc below has the details):
//! - `UniqueID` is `Scepter{profile id, 32 hex}v{version}`: deterministic, a new
//!   version is a new enrollment, and only ASCII letters and digits, because
//!   a LocURI must URL-escape everything else.
//! - `Challenge` is sent as is, never base64-encoded (see `challenge`).
//! - SubjectAlternativeNames values cannot contain `;`: the CSP separates
//!   names with it and has no escape, so such a value is a [`RenderError`].
//! - Windows Hello keys (`KeyProtection` 4) are 2048-bit and SHA-2 only: such a
//!   profile asking for other values gets those, with a warning, and a
//!   `ContainerName` (the UniqueID), without which enrollment fails.
//! - The renewal threshold has no CSP node: renewal is the server re-sending a
//!   payload, so it is not a dropped setting and yields no warning.
//! - SyncHdr `SessionID`/`MsgID` are 1: this is a self-contained message; a DM
//!   session that carries these commands numbers its own messages.

use quick_xml::{
    events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event},
    Writer,
};
use uuid::Uuid;

use super::{
    urls_for_device, RenderError, Rendered, ScepPayloadInput, TrustedPayloadInput, SYNCML_CONTENT_TYPE,
};
use crate::{
    scep_profile::{
        CertificateType, HashAlgorithm, KeySize, KeyStorageProvider, KeyUsage, SanType, ValidityScale,
    },
    subject_name::{windows_subject_name, ExpandedSan, Subject},
    trusted_profile::{DestinationStore, TrustedCertificateProfile},
};

/// OMA DM 1.2 (`SYNCML:SYNCML1.1` would be DM 1.1.2).
const SYNCML_NAMESPACE: &str = "SYNCML:SYNCML1.2";
/// Namespace of `Meta` children such as `Format`.
const METINF_NAMESPACE: &str = "syncml:metinf";
/// SyncHdr `Source/LocURI`: the domain knows no public URL, so a fixed name.
const SERVER_LOC_URI: &str = "https://scepter";

/// `RetryCount`: the DDF default and what Intune sends; retries happen only
/// while the SCEP server answers "pending".
const RETRY_COUNT: u32 = 3;
/// `RetryDelay` in minutes: the DDF default (5, minimum 1). Intune was seen
/// sending 1, but "pending" means a CA manager must approve the request, and
/// 3 retries 1 minute apart give up before anyone can; 5 gives 15 minutes.
const RETRY_DELAY_MINUTES: u32 = 5;

/// Windows Hello for Business (NGC) keys: "For NGC, only 2048 is the supported
/// keylength" and "only SHA256 is supported" (DDF, KeyLength and HashAlgorithm).
const HELLO_KEY_SIZE: KeySize = KeySize::Bits2048;

/// Renders the SCEP payload: the root install, then the SCEP enrollment.
pub fn render_scep(input: &ScepPayloadInput<'_>) -> Result<Rendered, RenderError> {
    let root = input.root.profile;
    let mut warnings = root_warnings(root);
    let enrollment = scep_enrollment(input, &mut warnings)?;
    let body = write_message(
        input.device_id,
        &[root_install(root), Command::Atomic(enrollment)],
    )?;
    Ok(Rendered {
        content_type: SYNCML_CONTENT_TYPE,
        body,
        warnings,
    })
}

/// Renders the trusted-certificate payload: the one `RootCATrustedCertificates` Add.
pub fn render_trusted(input: &TrustedPayloadInput<'_>) -> Result<Rendered, RenderError> {
    let profile = input.profile.profile;
    let body = write_message(input.device_id, &[root_install(profile)])?;
    Ok(Rendered {
        content_type: SYNCML_CONTENT_TYPE,
        body,
        warnings: root_warnings(profile),
    })
}

/// The CSP node path of a certificate store. `Root` exists only under
/// `./Device` (no DDF drop has `./User/…/RootCATrustedCertificates/Root`), and
/// [`DestinationStore`] has no user-root value, so it cannot be asked for.
fn store_path(store: DestinationStore) -> &'static str {
    match store {
        DestinationStore::ComputerCertStoreRoot => "./Device/Vendor/MSFT/RootCATrustedCertificates/Root",
        DestinationStore::ComputerCertStoreIntermediate => {
            "./Device/Vendor/MSFT/RootCATrustedCertificates/CA"
        }
        DestinationStore::UserCertStoreIntermediate => "./User/Vendor/MSFT/RootCATrustedCertificates/CA",
    }
}

/// `…/{CertHash}/EncodedCertificate`: the node name is the SHA-1 thumbprint
/// (40 hex), the value the DER as one line of base64 ("cannot include extra
/// formatting characters such as embedded linefeeds"), format `b64`.
fn root_install(profile: &TrustedCertificateProfile) -> Command {
    // Validation sets a store on every Windows profile; the default mirrors it.
    let store = profile
        .destination_store
        .unwrap_or(DestinationStore::ComputerCertStoreRoot);
    let certificate = &profile.certificate;
    Command::Add {
        target: format!(
            "{}/{}/EncodedCertificate",
            store_path(store),
            certificate.details().thumbprint_sha1
        ),
        format: Format::B64,
        data: certificate.to_base64(),
    }
}

/// RootCATrustedCertificates has no node for a file name: the store keys a
/// certificate by its thumbprint.
fn root_warnings(profile: &TrustedCertificateProfile) -> Vec<String> {
    match &profile.cert_file_name {
        Some(name) => vec![format!(
            "certFileName `{}` is not used on Windows: RootCATrustedCertificates names a certificate by its SHA-1 thumbprint",
            name.as_str()
        )],
        None => Vec::new(),
    }
}

/// The `Atomic`'s commands: an Add per `Install/…` setting, `Exec Enroll` last.
fn scep_enrollment(
    input: &ScepPayloadInput<'_>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Command>, RenderError> {
    let settings = &input.profile.settings;
    let scope = match settings.certificate_type {
        CertificateType::User => "./User",
        CertificateType::Device => "./Device",
    };
    let id = unique_id(input.profile_id, input.profile_version)?;
    let install = format!("{scope}/Vendor/MSFT/ClientCertificateInstall/SCEP/{id}/Install");

    let key_protection = settings
        .key_storage_provider
        .unwrap_or(KeyStorageProvider::DEFAULT);
    let hello = key_protection == KeyStorageProvider::UsePassportForWorkKspOtherwiseFail;
    let mut key_size = settings.key_size;
    let mut hash_algorithm = settings.hash_algorithm.unwrap_or(HashAlgorithm::Sha2);
    if hello && key_size != HELLO_KEY_SIZE {
        warnings.push(format!(
            "keySize {} is not possible with Windows Hello for Business keys (ClientCertificateInstall KeyLength: 2048 only); the payload asks for {}",
            key_size.bits(),
            HELLO_KEY_SIZE.bits()
        ));
        key_size = HELLO_KEY_SIZE;
    }
    if hello && hash_algorithm == HashAlgorithm::Sha1 {
        warnings.push(
            "hashAlgorithm sha1 is not possible with Windows Hello for Business keys (ClientCertificateInstall HashAlgorithm: SHA256 only); the payload asks for SHA-2"
                .to_owned(),
        );
        hash_algorithm = HashAlgorithm::Sha2;
    }

    let mut nodes = vec![
        ("ServerURL", Format::Chr, server_url(input)?),
        ("Challenge", Format::Chr, challenge(input.challenge)?),
        ("EKUMapping", Format::Chr, eku_mapping(input)?),
        (
            "KeyUsage",
            Format::Int,
            key_usage(&settings.key_usage)?.to_string(),
        ),
        ("SubjectName", Format::Chr, subject_name(&input.name.subject)?),
    ];
    if !input.name.subject_alternative_names.is_empty() {
        nodes.push((
            "SubjectAlternativeNames",
            Format::Chr,
            subject_alternative_names(&input.name.subject_alternative_names)?,
        ));
    }
    nodes.push((
        "KeyProtection",
        Format::Int,
        key_protection_value(key_protection).to_string(),
    ));
    if hello {
        // KeyProtection 4 "requires ContainerName, otherwise enrollment will
        // fail". The UniqueID is deterministic and per version, so every
        // enrollment gets its own NGC container and deleting the SCEP node
        // identifies the key that went with it.
        nodes.push(("ContainerName", Format::Chr, id.clone()));
    }
    nodes.extend([
        ("KeyLength", Format::Int, key_size.bits().to_string()),
        (
            "HashAlgorithm",
            Format::Chr,
            hash_algorithm_value(hash_algorithm).to_owned(),
        ),
        (
            "CAThumbprint",
            Format::Chr,
            input.root.profile.certificate.details().thumbprint_sha1.clone(),
        ),
        ("RetryCount", Format::Int, RETRY_COUNT.to_string()),
        ("RetryDelay", Format::Int, RETRY_DELAY_MINUTES.to_string()),
    ]);
    // Absent: the CA template's validity applies; the DDF default (0 Days)
    // must not be sent in its place.
    if let Some(validity) = settings.validity_period {
        nodes.push((
            "ValidPeriod",
            Format::Chr,
            validity_scale(validity.scale).to_owned(),
        ));
        nodes.push(("ValidPeriodUnits", Format::Int, validity.value.to_string()));
    }
    // TemplateName is left out: Scepter has no template setting and the DDF
    // says SCEP servers typically ignore it.

    let mut commands: Vec<Command> = nodes
        .into_iter()
        .map(|(leaf, format, data)| Command::Add {
            target: format!("{install}/{leaf}"),
            format,
            data,
        })
        .collect();
    commands.push(Command::Exec {
        target: format!("{install}/Enroll"),
    });
    Ok(commands)
}

/// `SCEP/{UniqueID}`: "a unique ID to differentiate different certificate
/// install requests", server-generated. The profile id and version make it
/// deterministic (a re-render is the same request) and make each new version a
/// new enrollment (values changed after `Exec` do not affect it). Only ASCII
/// letters and digits: LocURI characters other than alphanumerics must be
/// URL-escaped, so none are used.
fn unique_id(profile_id: Uuid, version: i64) -> Result<String, RenderError> {
    if version < 0 {
        return Err(RenderError::Encoding(format!(
            "profile version {version} is negative and cannot be part of a ClientCertificateInstall UniqueID"
        )));
    }
    Ok(format!("Scepter{}v{version}", profile_id.simple()))
}

/// `Install/ServerURL`: every SCEP server, separated by `;`, in this device's
/// order ([`urls_for_device`]) so that its first attempt goes to its own server.
fn server_url(input: &ScepPayloadInput<'_>) -> Result<String, RenderError> {
    let urls = urls_for_device(&input.profile.settings.scep_server_urls, input.device_id);
    if urls.is_empty() {
        return Err(RenderError::Encoding(
            "ClientCertificateInstall ServerURL is required, but the profile has no SCEP server URL"
                .to_owned(),
        ));
    }
    if let Some(url) = urls.iter().find(|url| url.as_str().contains(';')) {
        return Err(RenderError::Encoding(format!(
            "SCEP server URL `{}` contains `;`, which separates URLs in ClientCertificateInstall ServerURL",
            url.as_str()
        )));
    }
    Ok(urls.iter().map(|url| url.as_str()).collect::<Vec<_>>().join(";"))
}

/// `Install/Challenge`, sent exactly as issued.
///
/// The DDF calls it a "B64 encoded SCEP enrollment challenge", but Windows does
/// not decode it: it copies the value into the PKCS #10 `challengePassword` as
/// an ASN.1 PrintableString (fleetdm/fleet#47492: a `_` fails on the device
/// with CRYPT_E_INVALID_PRINTABLE_STRING, 0x2ab0003); Microsoft's CSP sample
/// carries an NDES-style hex password, and NDES integrations send the NDES
/// password verbatim. So the SCEP server receives these exact characters, as
/// from Apple and Android devices. "B64" fits challenges that are base64 text;
/// base64 is also PrintableString, so it is the alphabet Scepter's challenges
/// should use (the payload validator warns about anything else).
///
/// A character outside PrintableString would make enrollment fail on the
/// device after the MDM command already succeeded; it fails here instead. The
/// error never quotes the challenge, which is a secret.
fn challenge(challenge: &str) -> Result<String, RenderError> {
    if challenge.is_empty() {
        return Err(RenderError::Encoding(
            "ClientCertificateInstall Challenge is required, but the challenge is empty".to_owned(),
        ));
    }
    if !challenge.chars().all(is_printable_string_char) {
        return Err(RenderError::Encoding(
            "the SCEP challenge has a character outside ASN.1 PrintableString (A-Z a-z 0-9 space ' ( ) + , - . / : = ?), which Windows cannot put in a certificate request".to_owned(),
        ));
    }
    Ok(challenge.to_owned())
}

/// X.680 PrintableString.
fn is_printable_string_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c)
}

/// `Install/EKUMapping`: required; OIDs joined by `+` ("OID1+OID2+OID3").
fn eku_mapping(input: &ScepPayloadInput<'_>) -> Result<String, RenderError> {
    let usages = &input.profile.settings.extended_key_usages;
    if usages.is_empty() {
        return Err(RenderError::Encoding(
            "ClientCertificateInstall EKUMapping is required, but the profile has no extended key usage"
                .to_owned(),
        ));
    }
    Ok(usages
        .iter()
        .map(|usage| usage.object_identifier.as_str())
        .collect::<Vec<_>>()
        .join("+"))
}

/// `Install/KeyUsage`: the X.509 KeyUsage bits in decimal (CryptoAPI
/// `CERT_DIGITAL_SIGNATURE_KEY_USAGE` 0x80, `CERT_KEY_ENCIPHERMENT_KEY_USAGE`
/// 0x20; both: 160). The CSP fails a value with neither bit.
fn key_usage(usages: &[KeyUsage]) -> Result<u8, RenderError> {
    let bits = usages.iter().fold(0, |bits, usage| {
        bits | match usage {
            KeyUsage::DigitalSignature => 0x80,
            KeyUsage::KeyEncipherment => 0x20,
        }
    });
    if bits == 0 {
        return Err(RenderError::Encoding(
            "ClientCertificateInstall KeyUsage needs digitalSignature or keyEncipherment, but the profile has neither".to_owned(),
        ));
    }
    Ok(bits)
}

/// `Install/SubjectName`: the subject as a CertStrToName string, quoted the
/// CertNameToStr way and never with backslash escapes
/// ([`windows_subject_name`]). Required, so an empty subject cannot be sent.
fn subject_name(subject: &Subject) -> Result<String, RenderError> {
    if subject.0.is_empty() {
        return Err(RenderError::Encoding(
            "ClientCertificateInstall SubjectName is required, but the subject has no attribute".to_owned(),
        ));
    }
    if subject.0.iter().any(|rdn| rdn.0.is_empty()) {
        return Err(RenderError::Encoding(
            "the subject has an RDN without an attribute".to_owned(),
        ));
    }
    Ok(windows_subject_name(subject))
}

/// `Install/SubjectAlternativeNames`: `type+value` pairs joined by `;`, with
/// the certenroll AlternativeNameType numbers (2 RFC822 name, 3 DNS name,
/// 7 URL, 11 UPN).
///
/// The CSP has no escape. A value with `;` would split into two names, so it
/// is refused. A `+` in a value (`jane+wifi@contoso.com`) is kept: the type is
/// a number, so the first `+` of a pair always ends it.
fn subject_alternative_names(names: &[ExpandedSan]) -> Result<String, RenderError> {
    let mut pairs = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let (number, label) = san_type(name.san_type);
        if name.value.is_empty() {
            return Err(RenderError::Encoding(format!(
                "subject alternative name {index} ({label}) is empty"
            )));
        }
        if name.value.contains(';') {
            return Err(RenderError::Encoding(format!(
                "subject alternative name {index} ({label}) contains `;`, which separates names in ClientCertificateInstall SubjectAlternativeNames and cannot be escaped"
            )));
        }
        pairs.push(format!("{number}+{}", name.value));
    }
    Ok(pairs.join(";"))
}

/// AlternativeNameType number and the API's name for the type.
fn san_type(san_type: SanType) -> (u8, &'static str) {
    match san_type {
        SanType::EmailAddress => (2, "emailAddress"),
        SanType::DomainNameService => (3, "domainNameService"),
        SanType::UniversalResourceIdentifier => (7, "universalResourceIdentifier"),
        SanType::UserPrincipalName => (11, "userPrincipalName"),
    }
}

/// `Install/KeyProtection` (DDF enum): 1 TPM or fail, 2 TPM if present else
/// software, 3 software KSP, 4 Windows Hello for Business.
fn key_protection_value(provider: KeyStorageProvider) -> u8 {
    match provider {
        KeyStorageProvider::UseTpmKspOtherwiseFail => 1,
        KeyStorageProvider::UseTpmKspOtherwiseUseSoftwareKsp => 2,
        KeyStorageProvider::UseSoftwareKsp => 3,
        KeyStorageProvider::UsePassportForWorkKspOtherwiseFail => 4,
    }
}

/// `Install/HashAlgorithm`: a family name, "SHA-1, SHA-2, SHA-3". Intune was
/// seen sending `SHA-1;SHA-2`, but the CSP documents `+` between families and
/// a profile names exactly one.
fn hash_algorithm_value(algorithm: HashAlgorithm) -> &'static str {
    match algorithm {
        HashAlgorithm::Sha1 => "SHA-1",
        HashAlgorithm::Sha2 => "SHA-2",
    }
}

/// `Install/ValidPeriod` (DDF enum).
fn validity_scale(scale: ValidityScale) -> &'static str {
    match scale {
        ValidityScale::Days => "Days",
        ValidityScale::Months => "Months",
        ValidityScale::Years => "Years",
    }
}

/// `Meta/Format` of a node's value, as its DDF `DFFormat` says.
#[derive(Debug, Clone, Copy)]
enum Format {
    Chr,
    Int,
    B64,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Format::Chr => "chr",
            Format::Int => "int",
            Format::B64 => "b64",
        }
    }
}

/// The OMA DM commands Scepter sends.
#[derive(Debug)]
enum Command {
    Add {
        target: String,
        format: Format,
        data: String,
    },
    Exec {
        target: String,
    },
    Atomic(Vec<Command>),
}

/// Writes the whole message: header, the commands, `Final`.
fn write_message(device_id: Uuid, commands: &[Command]) -> Result<Vec<u8>, RenderError> {
    let mut message = SyncMlWriter::new();
    message.declaration()?;
    message.open(BytesStart::new("SyncML").with_attributes([("xmlns", SYNCML_NAMESPACE)]))?;
    message.open(BytesStart::new("SyncHdr"))?;
    message.text("VerDTD", "1.2")?;
    message.text("VerProto", "DM/1.2")?;
    message.text("SessionID", "1")?;
    message.text("MsgID", "1")?;
    message.loc_uri("Target", &device_id.hyphenated().to_string())?;
    message.loc_uri("Source", SERVER_LOC_URI)?;
    message.close("SyncHdr")?;
    message.open(BytesStart::new("SyncBody"))?;
    for command in commands {
        message.command(command)?;
    }
    message.empty("Final")?;
    message.close("SyncBody")?;
    message.close("SyncML")?;
    Ok(message.finish())
}

/// A quick-xml writer (two-space indentation) that numbers commands as it writes them.
struct SyncMlWriter {
    xml: Writer<Vec<u8>>,
    next_cmd_id: u32,
}

impl SyncMlWriter {
    fn new() -> Self {
        Self {
            xml: Writer::new_with_indent(Vec::new(), b' ', 2),
            next_cmd_id: 1,
        }
    }

    fn finish(self) -> Vec<u8> {
        let mut body = self.xml.into_inner();
        body.push(b'\n');
        body
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), RenderError> {
        // Writing to a Vec cannot fail; the error is only mapped, not expected.
        self.xml
            .write_event(event)
            .map_err(|error| RenderError::Encoding(error.to_string()))
    }

    fn declaration(&mut self) -> Result<(), RenderError> {
        self.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
    }

    fn open(&mut self, start: BytesStart<'_>) -> Result<(), RenderError> {
        self.event(Event::Start(start))
    }

    fn close(&mut self, name: &str) -> Result<(), RenderError> {
        self.event(Event::End(BytesEnd::new(name)))
    }

    fn empty(&mut self, name: &str) -> Result<(), RenderError> {
        self.event(Event::Empty(BytesStart::new(name)))
    }

    /// `<name>value</name>` with the value escaped.
    fn text(&mut self, name: &str, value: &str) -> Result<(), RenderError> {
        self.text_element(BytesStart::new(name), value, name)
    }

    /// `context` names the value in an error: the element, or the CSP node a `Data` is for.
    fn text_element(&mut self, start: BytesStart<'_>, value: &str, context: &str) -> Result<(), RenderError> {
        let escaped =
            escape_text(value).map_err(|problem| RenderError::Encoding(format!("{context}: {problem}")))?;
        let end = start.to_end().into_owned();
        self.event(Event::Start(start))?;
        self.event(Event::Text(BytesText::from_escaped(escaped)))?;
        self.event(Event::End(end))
    }

    /// `<Target><LocURI>…</LocURI></Target>` (or `Source`).
    fn loc_uri(&mut self, parent: &str, uri: &str) -> Result<(), RenderError> {
        self.open(BytesStart::new(parent))?;
        self.text("LocURI", uri)?;
        self.close(parent)
    }

    fn cmd_id(&mut self) -> Result<(), RenderError> {
        let id = self.next_cmd_id;
        self.next_cmd_id += 1;
        self.text("CmdID", &id.to_string())
    }

    fn command(&mut self, command: &Command) -> Result<(), RenderError> {
        match command {
            Command::Add { target, format, data } => {
                self.open(BytesStart::new("Add"))?;
                self.cmd_id()?;
                self.open(BytesStart::new("Item"))?;
                self.loc_uri("Target", target)?;
                self.open(BytesStart::new("Meta"))?;
                self.text_element(
                    BytesStart::new("Format").with_attributes([("xmlns", METINF_NAMESPACE)]),
                    format.as_str(),
                    "Format",
                )?;
                self.close("Meta")?;
                self.text_element(BytesStart::new("Data"), data, leaf_name(target))?;
                self.close("Item")?;
                self.close("Add")
            }
            Command::Exec { target } => {
                self.open(BytesStart::new("Exec"))?;
                self.cmd_id()?;
                self.open(BytesStart::new("Item"))?;
                self.loc_uri("Target", target)?;
                self.close("Item")?;
                self.close("Exec")
            }
            Command::Atomic(commands) => {
                self.open(BytesStart::new("Atomic"))?;
                self.cmd_id()?;
                for command in commands {
                    self.command(command)?;
                }
                self.close("Atomic")
            }
        }
    }
}

/// The last segment of a LocURI, to say which node an error is about.
fn leaf_name(target: &str) -> &str {
    target.rsplit('/').next().unwrap_or(target)
}

/// Escapes XML text content so that any parser reads back exactly `value`:
/// `&` and `<` must be escaped, `>` is (so `]]>` cannot appear), and CR is
/// written as `&#13;` because parsers turn a literal CR into LF. Quotes need no
/// escaping in text. Characters XML 1.0 cannot carry at all (controls other
/// than tab, LF, CR; U+FFFE, U+FFFF) are an error rather than silently lost.
/// Hand-written rather than `quick_xml::escape`, which does neither of the last two.
fn escape_text(value: &str) -> Result<String, String> {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '\r' => escaped.push_str("&#13;"),
            '\t' | '\n' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}' => {
                escaped.push(c)
            }
            other => {
                return Err(format!(
                    "contains U+{:04X}, which XML 1.0 cannot carry",
                    u32::from(other)
                ))
            }
        }
    }
    Ok(escaped)
}

#[cfg(test)]
mod tests;
