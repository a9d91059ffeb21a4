//! A small test PKI built on the `openssl` command-line tool: certificate
//! requests with an exact subject, SANs (including the Microsoft UPN
//! otherName), a challengePassword and a chosen key, and a throw-away CA that
//! issues certificates for them with any validity window, including one that
//! started in the past.
//!
//! Everything shells out to `openssl` (found on `PATH`) in a fresh temporary
//! directory; nothing is cached between calls, and a failing `openssl` call
//! panics with its stderr. [`TestCa`] is `Send + Sync`: each issuance works in
//! its own subdirectory.
//!
//! # How the request is built
//!
//! `openssl req -new` with a generated config file (`prompt = no`): each
//! attribute of the subject is one line of the `distinguished_name` section,
//! in order, the attributes after the first of a multi-valued RDN prefixed
//! with `+`; values are double-quoted and backslash-escaped, so `, + = / \ "
//! $ #`, edge spaces and UTF-8 arrive verbatim. `-subj` is not used because
//! with it `openssl req` silently drops the `attributes` section (the
//! challengePassword). Requests with an empty subject cannot come from a
//! config file, so they are made with a placeholder subject and then
//! re-signed with the empty one (`openssl dgst -sign` over the rewritten
//! `CertificationRequestInfo`, checked with `openssl req -verify`).
//!
//! # What openssl does to the subject
//!
//! RDNs are written in the order given, which is DER order (the first RDN is
//! the first in the `SEQUENCE`; `openssl x509 -text` shows this order,
//! RFC 4514 strings show it reversed). The attributes *inside* a multi-valued
//! RDN are a DER `SET OF`, and openssl sorts them by their encodings: the
//! byte-wise smallest `AttributeTypeAndValue` first, so in practice the one
//! with the shortest encoding (OID plus value) first, ties broken by OID then
//! value bytes. `CN=a+serialNumber=b` stays in that order, but
//! `CN=Long name+serialNumber=S1` is written `serialNumber=S1+CN=Long name`.
//! [`canonical_rdn_order`] reproduces that order.
//!
//! Strings are UTF8String (`string_mask = utf8only`), except those openssl
//! fixes per attribute: `C` and `serialNumber` are PrintableString (a value
//! outside PrintableString's alphabet makes openssl fail), `E`/`emailAddress`
//! and `DC` are IA5String; `C` must be exactly two characters.

use std::{
    ffi::OsStr,
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use tempfile::TempDir;
use uuid::Uuid;

/// The UPN otherName type (MS-WCCE 2.2.2.7.7.4).
const UPN_OID: &str = "1.3.6.1.4.1.311.20.2.3";

/// One attribute of a subject RDN, in DER order. `attribute` is a
/// `CertStrToName` keyword, compared case-insensitively (`CN`, `E`/`EMAIL`,
/// `OU`, `O`, `L`, `ST`/`S`, `C`, `DC`, `STREET`, `SERIALNUMBER`,
/// `T`/`TITLE`, `G`/`GN`/`GIVENNAME`, `I`/`INITIALS`, `SN`, `UID`), or else
/// an openssl short or long name (`emailAddress`, `userId`, …, case-sensitive)
/// or a dotted OID (`0.9.2342.19200300.100.1.1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAttribute {
    pub attribute: String,
    pub value: String,
}

impl NameAttribute {
    pub fn new(attribute: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            attribute: attribute.into(),
            value: value.into(),
        }
    }
}

/// An RDN from `(attribute, value)` pairs: `rdn(&[("CN", "a")])` is a
/// single-valued RDN, `rdn(&[("CN", "a"), ("serialNumber", "b")])` a
/// multi-valued one (see the module docs for the order openssl writes it in).
pub fn rdn(attributes: &[(&str, &str)]) -> Vec<NameAttribute> {
    attributes
        .iter()
        .map(|(attribute, value)| NameAttribute::new(*attribute, *value))
        .collect()
}

/// A subject alternative name of the request's `subjectAltName` extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    /// dNSName (IA5String: ASCII only).
    Dns(String),
    /// rfc822Name (IA5String). openssl treats the values `copy` and `move` specially.
    Email(String),
    /// uniformResourceIdentifier (IA5String).
    Uri(String),
    /// otherName 1.3.6.1.4.1.311.20.2.3 with a UTF8String value.
    Upn(String),
}

/// The key pair of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// RSA with this modulus size in bits (openssl refuses less than 512).
    Rsa(u32),
    /// ECDSA on NIST P-256 (named curve).
    EcP256,
}

/// What [`CsrSpec::generate`] puts in a PKCS#10 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrSpec {
    /// RDNs in DER order; an inner `Vec` with more than one entry is a
    /// multi-valued RDN. May be empty.
    pub subject: Vec<Vec<NameAttribute>>,
    /// In order; none means no subjectAltName extension.
    pub sans: Vec<San>,
    pub key: KeySpec,
    /// The PKCS#9 challengePassword attribute (a UTF8String), if any.
    pub challenge_password: Option<String>,
    /// The signature digest as openssl names it: `sha256` (default), `sha1`, `sha384`, `sha512`.
    pub digest: &'static str,
    /// More requested extensions as openssl config lines, e.g. `basicConstraints = critical,CA:TRUE`.
    pub extensions: Vec<&'static str>,
}

impl Default for CsrSpec {
    /// No subject, no SANs, no challenge, RSA 2048, SHA-256.
    fn default() -> Self {
        Self {
            subject: Vec::new(),
            sans: Vec::new(),
            key: KeySpec::Rsa(2048),
            challenge_password: None,
            digest: "sha256",
            extensions: Vec::new(),
        }
    }
}

/// A generated request and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedCsr {
    /// `-----BEGIN CERTIFICATE REQUEST-----` PEM.
    pub pem: String,
    pub der: Vec<u8>,
    /// PKCS#8 `-----BEGIN PRIVATE KEY-----` PEM.
    pub private_key_pem: String,
}

impl CsrSpec {
    /// Generates a fresh key and a request for it signed with `digest`.
    pub fn generate(&self) -> GeneratedCsr {
        assert_safe_digest(self.digest);
        let dir = TempDir::new().expect("create a temporary directory");
        let work = dir.path();
        generate_key(work, self.key, "key.pem");

        let empty_subject = self.subject.is_empty();
        // An empty subject cannot be written in a config file's
        // distinguished_name section; use a placeholder and re-sign below.
        let placeholder = [vec![NameAttribute::new("CN", "placeholder")]];
        let subject: &[Vec<NameAttribute>] = if empty_subject {
            &placeholder
        } else {
            &self.subject
        };
        fs::write(work.join("req.cnf"), self.request_config(subject)).expect("write req.cnf");
        openssl(
            work,
            [
                "req",
                "-new",
                "-config",
                "req.cnf",
                "-utf8",
                "-key",
                "key.pem",
                &format!("-{}", self.digest),
                "-outform",
                "DER",
                "-out",
                "csr.der",
            ],
        );
        let mut der = read(work, "csr.der");
        if empty_subject {
            der = resign_with_empty_subject(work, &der, self.digest);
        }
        let pem = der_to_pem(work, "req", &der);
        GeneratedCsr {
            pem,
            der,
            private_key_pem: read_string(work, "key.pem"),
        }
    }

    fn request_config(&self, subject: &[Vec<NameAttribute>]) -> String {
        let mut config = String::from("[req]\nprompt = no\nutf8 = yes\nstring_mask = utf8only\n");
        config.push_str("distinguished_name = dn\n");
        if self.challenge_password.is_some() {
            config.push_str("attributes = attrs\n");
        }
        if !self.sans.is_empty() || !self.extensions.is_empty() {
            config.push_str("req_extensions = ext\n");
        }
        config.push_str("\n[dn]\n");
        let mut line = 0;
        for rdn in subject {
            assert!(!rdn.is_empty(), "an RDN needs at least one attribute");
            for (index, attribute) in rdn.iter().enumerate() {
                assert!(
                    !attribute.attribute.is_empty()
                        && attribute
                            .attribute
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'),
                    "unusable attribute name {:?}",
                    attribute.attribute
                );
                // openssl skips everything up to the first '.' of a key (so
                // that a name may repeat); a '+' after it continues the RDN.
                let multi = if index > 0 { "+" } else { "" };
                writeln!(
                    config,
                    "{line}.{multi}{} = {}",
                    openssl_attribute_name(&attribute.attribute),
                    quote(&attribute.value)
                )
                .expect("write to String");
                line += 1;
            }
        }
        if let Some(password) = &self.challenge_password {
            writeln!(config, "\n[attrs]\nchallengePassword = {}", quote(password)).expect("write to String");
        }
        if !self.sans.is_empty() || !self.extensions.is_empty() {
            config.push_str("\n[ext]\n");
            for line in &self.extensions {
                writeln!(config, "{line}").expect("write to String");
            }
        }
        if !self.sans.is_empty() {
            config.push_str("subjectAltName = @alt\n\n[alt]\n");
            for (index, san) in self.sans.iter().enumerate() {
                let (kind, value) = match san {
                    San::Dns(value) => ("DNS", value.clone()),
                    San::Email(value) => ("email", value.clone()),
                    San::Uri(value) => ("URI", value.clone()),
                    San::Upn(value) => ("otherName", format!("{UPN_OID};UTF8:{value}")),
                };
                writeln!(config, "{kind}.{index} = {}", quote(&value)).expect("write to String");
            }
        }
        config
    }
}

/// The request with the last byte of its signature flipped: it still parses,
/// but its signature no longer verifies.
pub fn tamper_signature(der: &[u8]) -> Vec<u8> {
    let (outer, rest) = split_tlv(der);
    assert!(rest.is_empty() && outer.tag == 0x30, "not one DER SEQUENCE");
    let (_info, after_info) = split_tlv(outer.content);
    let (_algorithm, after_algorithm) = split_tlv(after_info);
    let (signature, trailing) = split_tlv(after_algorithm);
    assert!(
        signature.tag == 0x03 && signature.content.len() > 1 && trailing.is_empty(),
        "the request does not end with its signature BIT STRING"
    );
    // The signature BIT STRING is the last element, so its last byte is the request's.
    let mut tampered = der.to_vec();
    *tampered.last_mut().expect("non-empty") ^= 0x01;
    tampered
}

/// The name openssl knows for a `CertStrToName` keyword (case-insensitive:
/// `E`/`EMAIL`, `S`, `STREET`, `SERIALNUMBER`, `T`, `G`/`GIVENNAME`, `I`,
/// `UID`, …); anything else (openssl names, dotted OIDs) unchanged.
fn openssl_attribute_name(attribute: &str) -> &str {
    match attribute.to_ascii_uppercase().as_str() {
        "CN" => "CN",
        "E" | "EMAIL" | "EMAILADDRESS" => "emailAddress",
        "OU" => "OU",
        "O" => "O",
        "L" => "L",
        "ST" | "S" => "ST",
        "C" => "C",
        "DC" => "DC",
        "STREET" => "street",
        "SERIALNUMBER" => "serialNumber",
        "T" | "TITLE" => "title",
        "G" | "GN" | "GIVENNAME" => "GN",
        "I" | "INITIALS" => "initials",
        "SN" => "SN",
        "UID" => "UID",
        _ => attribute,
    }
}

/// The order openssl writes the attributes of a multi-valued RDN in: sorted
/// by their DER encodings, which is what the encodings of `rdn`'s attributes
/// would be after `openssl req`. Computed by asking openssl to encode the RDN.
pub fn canonical_rdn_order(rdn: &[NameAttribute]) -> Vec<NameAttribute> {
    let spec = CsrSpec {
        subject: vec![rdn.to_vec()],
        key: KeySpec::EcP256,
        ..CsrSpec::default()
    };
    for (index, attribute) in rdn.iter().enumerate() {
        assert!(
            rdn[..index]
                .iter()
                .all(|earlier| earlier.value != attribute.value),
            "canonical_rdn_order needs distinct values to tell the attributes apart"
        );
    }
    let csr = spec.generate();
    // Read the subject back in DER order: each AttributeTypeAndValue's value bytes.
    let (outer, _) = split_tlv(&csr.der);
    let (info, _) = split_tlv(outer.content);
    let (_version, rest) = split_tlv(info.content);
    let (subject, _) = split_tlv(rest);
    let (set, _) = split_tlv(subject.content);
    let mut remaining: Vec<NameAttribute> = rdn.to_vec();
    let mut ordered = Vec::new();
    let mut atvs = set.content;
    while !atvs.is_empty() {
        let (atv, next) = split_tlv(atvs);
        atvs = next;
        let (_oid, value) = split_tlv(atv.content);
        let (value, _) = split_tlv(value);
        let text = String::from_utf8(value.content.to_vec()).expect("UTF-8 or ASCII value");
        let position = remaining
            .iter()
            .position(|a| a.value == text)
            .expect("every attribute comes back");
        ordered.push(remaining.remove(position));
    }
    ordered
}

/// A self-signed root CA whose key lives in a temporary directory removed on drop.
#[derive(Debug)]
pub struct TestCa {
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    /// Uppercase hex SHA-1 of `cert_der` (Windows' `CAThumbprint` form).
    pub thumbprint_sha1_hex: String,
    dir: TempDir,
}

/// A certificate issued by [`TestCa::issue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCert {
    pub pem: String,
    pub der: Vec<u8>,
    /// Uppercase hex of the serial number's DER INTEGER content: 16 random
    /// bytes, the first in `0x40..=0x7F` (positive, no leading zero byte).
    pub serial_hex: String,
    /// Uppercase hex SHA-1 of `der`.
    pub thumbprint_sha1_hex: String,
    /// The requested validity, to the second.
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

impl TestCa {
    /// A root CA `CN=<common_name>` with an EC P-256 key:
    /// basicConstraints `CA:TRUE` (critical), keyUsage
    /// `keyCertSign, cRLSign` (critical), a subjectKeyIdentifier, valid from
    /// one day ago (so that a leaf back-dated by a day is still inside it)
    /// for ten years.
    pub fn new(common_name: &str) -> TestCa {
        let dir = TempDir::new().expect("create a temporary directory");
        let work = dir.path();
        generate_key(work, KeySpec::EcP256, "ca.key");
        let config = format!(
            "[req]\nprompt = no\nutf8 = yes\nstring_mask = utf8only\ndistinguished_name = dn\n\n\
             [dn]\nCN = {}\n\n\
             [v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
             subjectKeyIdentifier = hash\n",
            quote(common_name)
        );
        fs::write(work.join("ca-req.cnf"), config).expect("write ca-req.cnf");
        openssl(
            work,
            [
                "req",
                "-new",
                "-config",
                "ca-req.cnf",
                "-utf8",
                "-key",
                "ca.key",
                "-sha256",
                "-out",
                "ca.csr",
            ],
        );
        let now = Utc::now().trunc_subsecs(0);
        sign_with_ca(
            work,
            &work.join("ca-issue"),
            SignRequest {
                csr: &work.join("ca.csr"),
                ca_cert: None,
                ca_key: &work.join("ca.key"),
                extensions: "v3_ca",
                extension_section: "[v3_ca]\nbasicConstraints = critical,CA:TRUE\n\
                                    keyUsage = critical,keyCertSign,cRLSign\n\
                                    subjectKeyIdentifier = hash\n",
                serial_hex: &random_serial(),
                not_before: now - Duration::days(1),
                not_after: now + Duration::days(3650),
            },
        );
        let cert_pem = read_string(&work.join("ca-issue"), "cert.pem");
        fs::write(work.join("ca.pem"), &cert_pem).expect("write ca.pem");
        let cert_der = pem_to_der(work, "x509", "ca.pem");
        let thumbprint_sha1_hex = sha1_hex(work, &cert_der);
        TestCa {
            cert_pem,
            cert_der,
            thumbprint_sha1_hex,
            dir,
        }
    }

    /// Issues a certificate for the request: its subject exactly as requested
    /// (RDN order and multi-valued RDNs kept), its extensions copied (so the
    /// subjectAltName), plus basicConstraints `CA:FALSE`, keyUsage
    /// `digitalSignature, keyEncipherment`, extendedKeyUsage `clientAuth`
    /// and key identifiers unless the request has them; a random serial;
    /// validity `[now + not_before_offset_secs, now + not_after_offset_secs]`
    /// (offsets may be negative). openssl refuses a request whose signature
    /// does not verify.
    pub fn issue(
        &self,
        csr_pem: &str,
        not_before_offset_secs: i64,
        not_after_offset_secs: i64,
    ) -> IssuedCert {
        assert!(
            not_before_offset_secs < not_after_offset_secs,
            "the validity window must not be empty"
        );
        let work = self.dir.path().join(format!("issue-{}", Uuid::new_v4().simple()));
        fs::create_dir(&work).expect("create the issuance directory");
        fs::write(work.join("req.pem"), csr_pem).expect("write req.pem");
        let now = Utc::now().trunc_subsecs(0);
        let not_before = now + Duration::seconds(not_before_offset_secs);
        let not_after = now + Duration::seconds(not_after_offset_secs);
        let serial_hex = random_serial();
        sign_with_ca(
            &work,
            &work,
            SignRequest {
                csr: &work.join("req.pem"),
                ca_cert: Some(&self.dir.path().join("ca.pem")),
                ca_key: &self.dir.path().join("ca.key"),
                extensions: "leaf",
                extension_section: "[leaf]\nbasicConstraints = critical,CA:FALSE\n\
                                    keyUsage = critical,digitalSignature,keyEncipherment\n\
                                    extendedKeyUsage = clientAuth\n\
                                    subjectKeyIdentifier = hash\n\
                                    authorityKeyIdentifier = keyid\n",
                serial_hex: &serial_hex,
                not_before,
                not_after,
            },
        );
        let pem = read_string(&work, "cert.pem");
        let der = pem_to_der(&work, "x509", "cert.pem");
        let printed = String::from_utf8(openssl(&work, ["x509", "-in", "cert.pem", "-noout", "-serial"]))
            .expect("ASCII output");
        assert_eq!(
            printed.trim(),
            format!("serial={serial_hex}"),
            "openssl used another serial"
        );
        let thumbprint_sha1_hex = sha1_hex(&work, &der);
        // The CA directory is only needed for this call.
        fs::remove_dir_all(&work).expect("remove the issuance directory");
        IssuedCert {
            pem,
            der,
            serial_hex,
            thumbprint_sha1_hex,
            not_before,
            not_after,
        }
    }
}

/// One `openssl ca` run.
struct SignRequest<'a> {
    csr: &'a Path,
    /// `None` signs the request with its own key (`-selfsign`).
    ca_cert: Option<&'a Path>,
    ca_key: &'a Path,
    extensions: &'a str,
    extension_section: &'a str,
    serial_hex: &'a str,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
}

/// Runs `openssl ca` in a fresh database under `work_dir` (created if
/// needed), leaving the certificate in `work_dir/cert.pem`. `openssl ca`
/// rather than `openssl x509 -req`: openssl 3.0's `x509` cannot set a start
/// date other than now.
fn sign_with_ca(cwd: &Path, work_dir: &Path, request: SignRequest<'_>) {
    fs::create_dir_all(work_dir).expect("create the ca directory");
    fs::write(work_dir.join("index.txt"), "").expect("write index.txt");
    fs::write(work_dir.join("index.txt.attr"), "unique_subject = no\n").expect("write index.txt.attr");
    fs::write(work_dir.join("serial"), format!("{}\n", request.serial_hex)).expect("write serial");
    let path = |p: &Path| quote(p.to_str().expect("UTF-8 temporary path"));
    let certificate = request
        .ca_cert
        .map(|cert| format!("certificate = {}\n", path(cert)))
        .unwrap_or_default();
    // -preserveDN keeps the request's subject exactly (order, multi-valued
    // RDNs, attributes the policy does not name); the policy then only has to
    // exist. openssl 3.0 ignores `preserve = yes` in the config file.
    let config = format!(
        "[ca]\ndefault_ca = test_ca\n\n\
         [test_ca]\ndatabase = {database}\nnew_certs_dir = {dir}\nserial = {serial}\n\
         {certificate}private_key = {key}\ndefault_md = sha256\npolicy = policy_any\n\
         email_in_dn = yes\nunique_subject = no\ncopy_extensions = copy\nx509_extensions = {extensions}\n\n\
         [policy_any]\ncommonName = optional\n\n{section}",
        database = path(&work_dir.join("index.txt")),
        dir = path(work_dir),
        serial = path(&work_dir.join("serial")),
        key = path(request.ca_key),
        extensions = request.extensions,
        section = request.extension_section,
    );
    let config_path = work_dir.join("ca.cnf");
    fs::write(&config_path, config).expect("write ca.cnf");
    let time = |t: DateTime<Utc>| t.format("%Y%m%d%H%M%SZ").to_string();
    let mut args: Vec<&OsStr> = Vec::new();
    let (start, end) = (time(request.not_before), time(request.not_after));
    args.extend(["ca", "-batch", "-notext", "-preserveDN", "-config"].map(OsStr::new));
    args.push(config_path.as_os_str());
    args.extend(["-in"].map(OsStr::new));
    args.push(request.csr.as_os_str());
    let out = work_dir.join("cert.pem");
    args.extend(["-out"].map(OsStr::new));
    args.push(out.as_os_str());
    args.extend(["-startdate", &start, "-enddate", &end].map(OsStr::new));
    if request.ca_cert.is_none() {
        args.extend(["-selfsign", "-keyfile"].map(OsStr::new));
        args.push(request.ca_key.as_os_str());
    }
    let output = run_openssl(cwd, &args);
    // openssl 3.0's `ca` exits 0 without writing a certificate when the
    // request's signature does not verify.
    if fs::metadata(&out).map_or(true, |meta| meta.len() == 0) {
        panic!(
            "openssl {args:?} wrote no certificate:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Replaces the subject of a DER request with an empty one and signs it again
/// with `work/key.pem`.
fn resign_with_empty_subject(work: &Path, der: &[u8], digest: &str) -> Vec<u8> {
    let (outer, _) = split_tlv(der);
    let (info, after_info) = split_tlv(outer.content);
    let (algorithm, _) = split_tlv(after_info);
    let (version, after_version) = split_tlv(info.content);
    let (_subject, after_subject) = split_tlv(after_version);
    let mut info_content = version.whole.to_vec();
    info_content.extend_from_slice(&[0x30, 0x00]);
    info_content.extend_from_slice(after_subject);
    let new_info = encode_tlv(0x30, &info_content);
    fs::write(work.join("info.der"), &new_info).expect("write info.der");
    openssl(
        work,
        [
            "dgst",
            &format!("-{digest}"),
            "-sign",
            "key.pem",
            "-out",
            "signature.bin",
            "info.der",
        ],
    );
    let mut bits = vec![0x00];
    bits.extend(read(work, "signature.bin"));
    let mut request = new_info;
    request.extend_from_slice(algorithm.whole);
    request.extend(encode_tlv(0x03, &bits));
    let request = encode_tlv(0x30, &request);
    fs::write(work.join("resigned.der"), &request).expect("write resigned.der");
    openssl(
        work,
        [
            "req",
            "-inform",
            "DER",
            "-in",
            "resigned.der",
            "-verify",
            "-noout",
        ],
    );
    request
}

fn generate_key(work: &Path, key: KeySpec, file: &str) {
    match key {
        KeySpec::Rsa(bits) => openssl(
            work,
            [
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                &format!("rsa_keygen_bits:{bits}"),
                "-out",
                file,
            ],
        ),
        KeySpec::EcP256 => openssl(
            work,
            [
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-pkeyopt",
                "ec_param_enc:named_curve",
                "-out",
                file,
            ],
        ),
    };
}

/// 16 random bytes as uppercase hex, the first byte in `0x40..=0x7F` so the
/// INTEGER is positive and needs no leading zero byte.
fn random_serial() -> String {
    let mut bytes = *Uuid::new_v4().as_bytes();
    bytes[0] = (bytes[0] & 0x3F) | 0x40;
    bytes.iter().fold(String::with_capacity(32), |mut hex, byte| {
        write!(hex, "{byte:02X}").expect("write to String");
        hex
    })
}

fn sha1_hex(work: &Path, der: &[u8]) -> String {
    let file = format!("sha1-{}.der", Uuid::new_v4().simple());
    fs::write(work.join(&file), der).expect("write the DER to hash");
    let output = String::from_utf8(openssl(work, ["dgst", "-sha1", "-r", &file])).expect("ASCII output");
    fs::remove_file(work.join(&file)).expect("remove the hashed file");
    let hex = output
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_ascii_uppercase();
    assert_eq!(hex.len(), 40, "unexpected openssl dgst output {output:?}");
    hex
}

/// `openssl <command> -inform DER` to PEM.
fn der_to_pem(work: &Path, command: &str, der: &[u8]) -> String {
    let file = format!("convert-{}.der", Uuid::new_v4().simple());
    fs::write(work.join(&file), der).expect("write DER");
    let pem =
        String::from_utf8(openssl(work, [command, "-inform", "DER", "-in", &file])).expect("PEM is ASCII");
    fs::remove_file(work.join(&file)).expect("remove DER");
    pem
}

/// `openssl <command> -in <file> -outform DER`.
fn pem_to_der(work: &Path, command: &str, file: &str) -> Vec<u8> {
    openssl(work, [command, "-in", file, "-outform", "DER"])
}

fn assert_safe_digest(digest: &str) {
    assert!(
        !digest.is_empty() && digest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "unusable digest name {digest:?}"
    );
}

/// A config-file value: double-quoted, with `"` and `\` escaped. Inside
/// quotes openssl takes every character literally (no `$` expansion, no `#`
/// comment, edge spaces kept) and a backslash escapes the next one.
fn quote(value: &str) -> String {
    assert!(
        !value.chars().any(|c| c == '\n' || c == '\r' || c == '\0'),
        "a config value cannot hold line breaks or NUL: {value:?}"
    );
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// Runs openssl in `cwd`; panics with its stderr when it fails. Returns stdout.
fn openssl<I, S>(cwd: &Path, args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    run_openssl(cwd, &args).stdout
}

/// Runs openssl in `cwd`; panics with its stderr when it exits unsuccessfully.
fn run_openssl<S: AsRef<OsStr> + std::fmt::Debug>(cwd: &Path, args: &[S]) -> Output {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|error| panic!("cannot run openssl: {error}"));
    if !output.status.success() {
        panic!(
            "openssl {args:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
    }
    output
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    let path: PathBuf = dir.join(file);
    fs::read(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

fn read_string(dir: &Path, file: &str) -> String {
    String::from_utf8(read(dir, file)).expect("UTF-8 file")
}

/// One DER TLV (single-byte tags only, which is all a request uses).
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

/// The TLV at the start of `der` and what follows it.
fn split_tlv(der: &[u8]) -> (Tlv<'_>, &[u8]) {
    assert!(der.len() >= 2, "truncated DER");
    let (header, length) = match der[1] {
        short @ 0..=0x7F => (2, usize::from(short)),
        long => {
            let count = usize::from(long & 0x7F);
            assert!(
                (1..=4).contains(&count) && der.len() >= 2 + count,
                "bad DER length"
            );
            let length = der[2..2 + count]
                .iter()
                .fold(0usize, |acc, byte| (acc << 8) | usize::from(*byte));
            (2 + count, length)
        }
    };
    assert!(der.len() >= header + length, "truncated DER");
    let whole = &der[..header + length];
    (
        Tlv {
            tag: der[0],
            content: &der[header..header + length],
            whole,
        },
        &der[header + length..],
    )
}

fn encode_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len();
    if length < 0x80 {
        out.push(u8::try_from(length).expect("short length"));
    } else {
        let bytes: Vec<u8> = length
            .to_be_bytes()
            .into_iter()
            .skip_while(|byte| *byte == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).expect("length of length"));
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use scepter_domain::{
        certificate::CaCertificate,
        csr::{CertificateRequest, CsrError, KeyAlgorithm, SignatureAlgorithm},
        scep_profile::SanType,
        subject_name::{AttributeValue, ExpandedSan, NameAttribute as Attr, Rdn, Subject},
    };
    use x509_cert::{
        der::{Decode, Encode},
        request::CertReq,
        Certificate,
    };

    use super::*;

    fn attribute(attribute: Attr, value: &str) -> AttributeValue {
        AttributeValue {
            attribute,
            value: value.to_owned(),
        }
    }

    fn parse(csr: &GeneratedCsr) -> CertificateRequest {
        let parsed = CertificateRequest::parse(&csr.pem).expect("the request parses and verifies");
        assert_eq!(
            parsed.der(),
            csr.der.as_slice(),
            "PEM and DER are the same request"
        );
        parsed
    }

    #[test]
    fn subject_keeps_rdn_order_and_attribute_types() {
        let csr = CsrSpec {
            subject: vec![
                rdn(&[("CN", "Device 1")]),
                rdn(&[("OU", "Mobile")]),
                rdn(&[("O", "Contoso")]),
                rdn(&[("L", "Redmond")]),
                rdn(&[("ST", "WA")]),
                rdn(&[("C", "US")]),
                rdn(&[("E", "user@contoso.com")]),
                rdn(&[("0.9.2342.19200300.100.1.1", "uid-1")]),
                rdn(&[("street", "1 Main St")]),
                rdn(&[("DC", "contoso")]),
                rdn(&[("serialNumber", "ABC123")]),
            ],
            ..CsrSpec::default()
        }
        .generate();
        let expected = Subject(
            [
                (Attr::CommonName, "Device 1"),
                (Attr::OrganizationalUnit, "Mobile"),
                (Attr::Organization, "Contoso"),
                (Attr::Locality, "Redmond"),
                (Attr::State, "WA"),
                (Attr::Country, "US"),
                (Attr::Email, "user@contoso.com"),
                (Attr::UserId, "uid-1"),
                (Attr::Street, "1 Main St"),
                (Attr::DomainComponent, "contoso"),
                (Attr::SerialNumber, "ABC123"),
            ]
            .into_iter()
            .map(|(a, v)| Rdn(vec![attribute(a, v)]))
            .collect(),
        );
        assert_eq!(parse(&csr).subject(), &expected);
    }

    #[test]
    fn values_with_special_characters_arrive_verbatim() {
        let value = " a \"quoted\" \\ $HOME, x+y=z / #; é ";
        let csr = CsrSpec {
            subject: vec![rdn(&[("CN", value)]), rdn(&[("O", "$ENV::HOME")])],
            challenge_password: Some("p@ss \"word\" $x #1 \\".to_owned()),
            key: KeySpec::EcP256,
            ..CsrSpec::default()
        }
        .generate();
        let parsed = parse(&csr);
        assert_eq!(
            parsed.subject(),
            &Subject(vec![
                Rdn(vec![attribute(Attr::CommonName, value)]),
                Rdn(vec![attribute(Attr::Organization, "$ENV::HOME")]),
            ])
        );
        assert_eq!(parsed.challenge_password(), Some("p@ss \"word\" $x #1 \\"));
    }

    #[test]
    fn multi_valued_rdn_is_sorted_by_der_encoding() {
        // Equal lengths: CN (2.5.4.3) sorts before serialNumber (2.5.4.5), as given.
        let csr = CsrSpec {
            subject: vec![rdn(&[("CN", "a"), ("serialNumber", "b")]), rdn(&[("O", "c")])],
            key: KeySpec::EcP256,
            ..CsrSpec::default()
        }
        .generate();
        assert_eq!(
            parse(&csr).subject(),
            &Subject(vec![
                Rdn(vec![
                    attribute(Attr::CommonName, "a"),
                    attribute(Attr::SerialNumber, "b")
                ]),
                Rdn(vec![attribute(Attr::Organization, "c")]),
            ])
        );

        // A longer CN sorts after the shorter serialNumber, whatever the given order.
        let given = rdn(&[("CN", "Long common name"), ("serialNumber", "S1")]);
        let csr = CsrSpec {
            subject: vec![given.clone()],
            key: KeySpec::EcP256,
            ..CsrSpec::default()
        }
        .generate();
        let sorted = Subject(vec![Rdn(vec![
            attribute(Attr::SerialNumber, "S1"),
            attribute(Attr::CommonName, "Long common name"),
        ])]);
        assert_eq!(parse(&csr).subject(), &sorted);
        // The raw DER (not just the parser, which sorts SET OFs itself) has that order.
        let request = CertReq::from_der(&csr.der).expect("x509-cert parses");
        let atvs: Vec<String> = request.info.subject.0[0]
            .0
            .iter()
            .map(|atv| atv.oid.to_string())
            .collect();
        assert_eq!(atvs, ["2.5.4.5", "2.5.4.3"]);
        let raw = csr
            .der
            .windows(5)
            .position(|w| w == [0x06, 0x03, 0x55, 0x04, 0x05]);
        let raw_cn = csr
            .der
            .windows(5)
            .position(|w| w == [0x06, 0x03, 0x55, 0x04, 0x03]);
        assert!(raw < raw_cn, "serialNumber is encoded first");
        assert_eq!(
            canonical_rdn_order(&given),
            rdn(&[("serialNumber", "S1"), ("CN", "Long common name")])
        );
    }

    #[test]
    fn sans_including_upn_keep_their_order() {
        let csr = CsrSpec {
            subject: vec![rdn(&[("CN", "user")])],
            sans: vec![
                San::Upn("user@contoso.com".to_owned()),
                San::Dns("device.contoso.com".to_owned()),
                San::Email("user@contoso.com".to_owned()),
                San::Uri("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1".to_owned()),
                San::Dns("second.contoso.com".to_owned()),
            ],
            ..CsrSpec::default()
        }
        .generate();
        let san = |san_type, value: &str| ExpandedSan {
            san_type,
            value: value.to_owned(),
        };
        assert_eq!(
            parse(&csr).subject_alternative_names(),
            [
                san(SanType::UserPrincipalName, "user@contoso.com"),
                san(SanType::DomainNameService, "device.contoso.com"),
                san(SanType::EmailAddress, "user@contoso.com"),
                san(
                    SanType::UniversalResourceIdentifier,
                    "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1"
                ),
                san(SanType::DomainNameService, "second.contoso.com"),
            ]
        );
    }

    #[test]
    fn challenge_password_and_no_sans() {
        let csr = CsrSpec {
            subject: vec![rdn(&[("CN", "x")])],
            challenge_password: Some("0123456789ABCDEF".to_owned()),
            ..CsrSpec::default()
        }
        .generate();
        let parsed = parse(&csr);
        assert_eq!(parsed.challenge_password(), Some("0123456789ABCDEF"));
        assert!(parsed.subject_alternative_names().is_empty());

        let without = CsrSpec {
            subject: vec![rdn(&[("CN", "x")])],
            key: KeySpec::EcP256,
            ..CsrSpec::default()
        }
        .generate();
        assert_eq!(parse(&without).challenge_password(), None);
    }

    #[test]
    fn empty_subject_with_sans_and_challenge() {
        for key in [KeySpec::Rsa(2048), KeySpec::EcP256] {
            let csr = CsrSpec {
                sans: vec![San::Upn("user@contoso.com".to_owned())],
                challenge_password: Some("secret".to_owned()),
                key,
                ..CsrSpec::default()
            }
            .generate();
            let parsed = parse(&csr);
            assert_eq!(parsed.subject(), &Subject::default());
            assert_eq!(parsed.challenge_password(), Some("secret"));
            assert_eq!(parsed.subject_alternative_names().len(), 1);
            assert!(csr.pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        }
    }

    #[test]
    fn key_sizes_algorithms_and_digests() {
        for (key, digest, bits, algorithm, signature) in [
            (
                KeySpec::Rsa(2048),
                "sha256",
                2048,
                KeyAlgorithm::Rsa,
                SignatureAlgorithm::RsaSha256,
            ),
            (
                KeySpec::Rsa(4096),
                "sha512",
                4096,
                KeyAlgorithm::Rsa,
                SignatureAlgorithm::RsaSha512,
            ),
            (
                KeySpec::Rsa(1024),
                "sha1",
                1024,
                KeyAlgorithm::Rsa,
                SignatureAlgorithm::RsaSha1,
            ),
            (
                KeySpec::EcP256,
                "sha256",
                256,
                KeyAlgorithm::EcP256,
                SignatureAlgorithm::EcdsaP256Sha256,
            ),
        ] {
            let csr = CsrSpec {
                subject: vec![rdn(&[("CN", "k")])],
                key,
                digest,
                ..CsrSpec::default()
            }
            .generate();
            let parsed = parse(&csr);
            assert_eq!(parsed.public_key_bits(), bits, "{key:?}");
            assert_eq!(parsed.key_algorithm(), algorithm, "{key:?}");
            assert_eq!(parsed.signature_algorithm(), signature, "{key:?}");
            assert!(csr.private_key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        }
    }

    #[test]
    fn tampered_signature_is_rejected() {
        for key in [KeySpec::Rsa(2048), KeySpec::EcP256] {
            let csr = CsrSpec {
                subject: vec![rdn(&[("CN", "t")])],
                key,
                ..CsrSpec::default()
            }
            .generate();
            let tampered = tamper_signature(&csr.der);
            assert_eq!(tampered.len(), csr.der.len());
            assert_eq!(tampered.iter().zip(&csr.der).filter(|(a, b)| a != b).count(), 1);
            CertReq::from_der(&tampered).expect("the tampered request still parses");
            assert_eq!(
                CertificateRequest::from_der(&tampered),
                Err(CsrError::BadSignature),
                "{key:?}"
            );
        }
    }

    #[test]
    fn ca_is_a_self_signed_root_the_domain_accepts() {
        let ca = TestCa::new("Scepter Test Root");
        let parsed = CaCertificate::parse(&ca.cert_pem).expect("a CA certificate");
        assert!(parsed.is_self_signed());
        assert_eq!(parsed.der(), ca.cert_der.as_slice());
        assert_eq!(parsed.details().subject, "CN=Scepter Test Root");
        assert_eq!(parsed.details().thumbprint_sha1, ca.thumbprint_sha1_hex);
        let lifetime = parsed.details().not_after - parsed.details().not_before;
        assert_eq!(lifetime, Duration::days(3651));
    }

    #[test]
    fn issued_certificate_has_the_requested_window_subject_sans_and_issuer() {
        let ca = TestCa::new("Scepter Issuing Test CA");
        let csr = CsrSpec {
            subject: vec![
                rdn(&[("CN", "Long common name"), ("serialNumber", "S1")]),
                rdn(&[("O", "Contoso")]),
                rdn(&[("E", "user@contoso.com")]),
            ],
            sans: vec![
                San::Upn("user@contoso.com".to_owned()),
                San::Dns("device.contoso.com".to_owned()),
            ],
            challenge_password: Some("secret".to_owned()),
            ..CsrSpec::default()
        }
        .generate();
        let before = Utc::now().trunc_subsecs(0);
        let issued = ca.issue(&csr.pem, -90 * 86_400, 10 * 86_400);
        let after = Utc::now().trunc_subsecs(0);
        assert!(issued.not_before >= before - Duration::days(90));
        assert!(issued.not_before <= after - Duration::days(90));
        assert_eq!(issued.not_after - issued.not_before, Duration::days(100));

        let certificate = Certificate::from_der(&issued.der).expect("a certificate");
        let tbs = &certificate.tbs_certificate;
        let seconds =
            |t: x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_secs()).expect("seconds fit");
        assert_eq!(seconds(tbs.validity.not_before), issued.not_before.timestamp());
        assert_eq!(seconds(tbs.validity.not_after), issued.not_after.timestamp());

        let root = Certificate::from_der(&ca.cert_der).expect("the CA certificate");
        assert_eq!(tbs.issuer, root.tbs_certificate.subject);
        let request = CertReq::from_der(&csr.der).expect("the request");
        // Same subject, byte for byte, multi-valued RDN included.
        assert_eq!(
            tbs.subject.to_der().expect("encode"),
            request.info.subject.to_der().expect("encode")
        );
        let requested_san = CertificateRequest::parse(&csr.pem)
            .expect("request")
            .subject_alternative_names()
            .to_vec();
        let san_extension = tbs
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.iter().find(|e| e.extn_id.to_string() == "2.5.29.17"))
            .expect("the SAN extension was copied");
        assert_eq!(requested_san.len(), 2);
        assert!(!san_extension.critical);
        // The extension value is the requested one, byte for byte.
        let value = san_extension.extn_value.as_bytes();
        assert!(csr.der.windows(value.len()).any(|window| window == value));
        let serial = tbs
            .serial_number
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>();
        assert_eq!(serial, issued.serial_hex);
        assert_eq!(issued.serial_hex.len(), 32);
        assert_eq!(issued.thumbprint_sha1_hex.len(), 40);
        assert!(issued.pem.starts_with("-----BEGIN CERTIFICATE-----"));

        // The two certificates form a chain openssl accepts now.
        let dir = TempDir::new().expect("temporary directory");
        fs::write(dir.path().join("ca.pem"), &ca.cert_pem).expect("write");
        fs::write(dir.path().join("leaf.pem"), &issued.pem).expect("write");
        let verified = openssl(dir.path(), ["verify", "-CAfile", "ca.pem", "leaf.pem"]);
        assert_eq!(String::from_utf8_lossy(&verified).trim(), "leaf.pem: OK");

        // Each issuance gets its own serial.
        let again = ca.issue(&csr.pem, -60, 3600);
        assert_ne!(again.serial_hex, issued.serial_hex);
        assert_ne!(again.thumbprint_sha1_hex, issued.thumbprint_sha1_hex);
    }

    #[test]
    fn ca_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<TestCa>();
        let ca = TestCa::new("Shared CA");
        let csr = CsrSpec {
            subject: vec![rdn(&[("CN", "shared")])],
            key: KeySpec::EcP256,
            ..CsrSpec::default()
        }
        .generate();
        let serials: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| ca.issue(&csr.pem, 0, 3600).serial_hex))
                .collect();
            handles.into_iter().map(|h| h.join().expect("issued")).collect()
        });
        let mut unique = serials.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), serials.len());
    }

    #[test]
    fn thumbprint_is_sha1_of_the_der() {
        // "abc" has a well-known SHA-1.
        let dir = TempDir::new().expect("temporary directory");
        assert_eq!(
            sha1_hex(dir.path(), b"abc"),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
    }

    #[test]
    #[should_panic(expected = "openssl")]
    fn ca_refuses_a_request_with_a_bad_signature() {
        let ca = TestCa::new("Refusing CA");
        let csr = CsrSpec {
            subject: vec![rdn(&[("CN", "t")])],
            key: KeySpec::EcP256,
            ..CsrSpec::default()
        }
        .generate();
        let dir = TempDir::new().expect("temporary directory");
        let pem = der_to_pem(dir.path(), "req", &tamper_signature(&csr.der));
        ca.issue(&pem, 0, 3600);
    }

    #[test]
    fn der_helpers_round_trip_long_lengths() {
        for length in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let content = vec![0xAB; length];
            let encoded = encode_tlv(0x04, &content);
            let (tlv, rest) = split_tlv(&encoded);
            assert!(rest.is_empty());
            assert_eq!(tlv.tag, 0x04);
            assert_eq!(tlv.content, content.as_slice());
        }
    }
}
